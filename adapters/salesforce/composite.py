"""``POST /composite``: up to 25 subrequests in one API call, at most 5 of them queries or sObject
Collections (Salesforce's limits). Lookups send five SOQL queries a call, writes five
200-record collections (1,000 records) a call, where each would otherwise be a call of its own.

Subrequests are independent (``allOrNone: false``): each answer comes back with its own HTTP
status and body, in request order, and the caller reads it as it would read a direct answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlsplit

from fieldline.adapters.salesforce.client import (
    SalesforceClient,
    SalesforceRequestError,
    error_code,
    error_message,
)
from fieldline.errors import TransientAdapterError

__all__ = ["MAX_HEAVY", "MAX_SUBREQUESTS", "CompositeSender", "SubAnswer", "Subrequest", "windows"]

MAX_SUBREQUESTS = 25
MAX_HEAVY = 5  # queries (Query, QueryAll) and sObject Collections in one composite call


@dataclass(frozen=True, slots=True)
class Subrequest:
    """One request of a composite call; ``path`` is relative to the versioned base
    (``query/?q=...``, ``composite/sobjects``) or absolute (a ``nextRecordsUrl``)."""

    method: str
    path: str
    body: Any = None
    heavy: bool = False  # a query or an sObject Collections request: at most MAX_HEAVY a call


@dataclass(frozen=True, slots=True)
class SubAnswer:
    """A subrequest's own HTTP status and parsed body."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return self.status < 300


def windows(subrequests: Sequence[Subrequest]) -> Iterator[list[int]]:
    """Indexes of ``subrequests``, in order, cut into composite calls within both limits."""
    window: list[int] = []
    heavy = 0
    for index, subrequest in enumerate(subrequests):
        if window and (len(window) == MAX_SUBREQUESTS or (subrequest.heavy and heavy == MAX_HEAVY)):
            yield window
            window, heavy = [], 0
        window.append(index)
        heavy += subrequest.heavy
    if window:
        yield window


class CompositeSender:
    """Sends subrequests through as few composite calls as the limits allow."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client

    def send(self, subrequests: Sequence[Subrequest], *, what: str, idempotent: bool) -> list[SubAnswer]:
        """One answer per subrequest, in order. A failure of a composite call itself raises as
        any call's would (:meth:`SalesforceClient.call`'s policy)."""
        prefix = urlsplit(self.client.base_url).path  # /services/data/vXX.X/
        answers: list[SubAnswer] = []
        for window in windows(subrequests):
            body = {
                "allOrNone": False,
                "compositeRequest": [
                    _subrequest_json(f"r{number}", subrequests[index], prefix)
                    for number, index in enumerate(window)
                ],
            }
            answer = self.client.restful(
                "POST",
                "composite",
                what=f"{what} ({len(window)} in one composite call)",
                json=body,
                idempotent=idempotent,
            )
            entries = answer.get("compositeResponse") if isinstance(answer, Mapping) else None
            if not isinstance(entries, list) or len(entries) != len(window):
                raise TransientAdapterError(
                    f"Salesforce answered a composite call for {what} without one answer per subrequest",
                    hint="retry later; if it persists, report it with the org's API version",
                )
            answers.extend(
                SubAnswer(int(entry.get("httpStatusCode") or 0), entry.get("body"))
                if isinstance(entry, Mapping)
                else SubAnswer(0, None)
                for entry in entries
            )
        return answers

    def query_all(self, texts: Sequence[str], *, what: str) -> list[list[Mapping[str, Any]]]:
        """Every record of each SOQL query (all pages), five queries or next pages a call."""
        records: list[list[Mapping[str, Any]]] = [[] for _ in texts]
        pending = [(index, f"query/?q={quote_plus(text)}") for index, text in enumerate(texts)]
        while pending:
            answers = self.send(
                [Subrequest("GET", path, heavy=True) for _, path in pending], what=what, idempotent=True
            )
            following: list[tuple[int, str]] = []
            for (index, _), answer in zip(pending, answers, strict=True):
                body = answer.body
                if not answer.ok or not isinstance(body, Mapping):
                    raise_for_subrequest(f"{what} (query {index + 1} of {len(texts)})", answer)
                    continue
                records[index].extend(body.get("records") or [])
                if not body.get("done", True) and body.get("nextRecordsUrl"):
                    following.append((index, str(body["nextRecordsUrl"])))
            pending = following
        return records


def raise_for_subrequest(what: str, answer: SubAnswer) -> None:
    """The error a direct call answered like ``answer`` raises: fatal for a refusal, transient
    for a failure on Salesforce's side (5xx, a row lock)."""
    code = error_code(answer.body)
    message = error_message(answer.body)
    if answer.status >= 500 or code == "UNABLE_TO_LOCK_ROW" or answer.status == 0:
        raise TransientAdapterError(
            f"Salesforce failed {what}: {code or answer.status}: {message}",
            hint="retry later; the run can be repeated safely",
            status=answer.status,
            code=code,
        )
    raise SalesforceRequestError(
        f"Salesforce refused {what}: {code or answer.status}: {message}",
        hint="check the field names in the spec against `fieldline describe OBJECT`",
        status=answer.status,
        code=code,
    )


def _subrequest_json(reference: str, subrequest: Subrequest, prefix: str) -> dict[str, Any]:
    url = subrequest.path if subrequest.path.startswith("/") else prefix + subrequest.path
    entry: dict[str, Any] = {"method": subrequest.method, "url": url, "referenceId": reference}
    if subrequest.body is not None:
        entry["body"] = subrequest.body
    return entry
