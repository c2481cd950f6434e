"""Writes through sObject Collections: create, update and upsert, 200 records per collection,
five collections (1,000 records) per ``POST /composite`` call when there are several.

Every call uses ``allOrNone: false`` so one bad record fails alone; when Salesforce refuses a
whole call (a body it cannot parse), the call is split in halves until the bad records are
found. Per-record results come back in request order and are mapped to their
:class:`~fieldline.contracts.Write` by position. Records refused for a passing reason
(``UNABLE_TO_LOCK_ROW``, ``UNKNOWN_EXCEPTION``, ...: :data:`RESEND_NOW_RECORD_CODES`) are sent
again on their own, with backoff; when the retries run out they are reported as retriable errors.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fieldline.adapters.salesforce.client import (
    SalesforceClient,
    SalesforceRequestError,
    error_code,
    error_message,
)
from fieldline.adapters.salesforce.composite import MAX_HEAVY, CompositeSender, SubAnswer, Subrequest
from fieldline.adapters.salesforce.retry import RESEND_NOW_RECORD_CODES, RetryPolicy, record_code_retriable
from fieldline.contracts import Write, WriteError, WriteErrorStage, WriteOperation, WriteResult

__all__ = ["CollectionsWriter", "json_ready", "record_error"]

Indexed = tuple[int, Write]

# Extra calls one ``write`` may spend isolating the records of a wholly refused call.
MAX_BISECT_CALLS = 32


class _Refused(Exception):
    """Salesforce refused a whole Collections call; carries the error for its records."""

    def __init__(self, error: WriteError) -> None:
        super().__init__(error.message)
        self.error = error


logger = logging.getLogger("fieldline.salesforce")


def json_ready(value: Any) -> Any:
    """A value as Salesforce's JSON wants it: dates and times as ISO strings, decimals as numbers."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (list, tuple)):
        # Multi-select picklists are ';'-joined strings in the API.
        return ";".join(str(item) for item in value)
    return value


def record_error(raw: Mapping[str, Any] | None) -> WriteError:
    """A per-record ``errors[0]`` (collections use ``statusCode``) as a :class:`WriteError`."""
    errors = (raw or {}).get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], Mapping) else {}
    code = str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN_ERROR")
    return WriteError(
        code=code,
        message=str(first.get("message") or "Salesforce refused the record"),
        fields=tuple(str(name) for name in first.get("fields") or ()),
        retriable=record_code_retriable(code),
        stage=WriteErrorStage.TARGET,
    )


def _share(chunk: Sequence[Indexed], error: WriteError, results: dict[int, WriteResult]) -> None:
    """Every record of ``chunk`` failed with ``error`` (which says when it was not singled out)."""
    if len(chunk) > 1:
        error = replace(
            error, message=f"{error.message} (refused together with {len(chunk) - 1} other records)"
        )
    for index, write in chunk:
        results[index] = WriteResult(key=write.key, ok=False, error=error)


def _refusal(status: int, body: Any) -> WriteError:
    """A whole collections request's refusal (a top-level error body) as every record's error."""
    return WriteError(
        code=error_code(body) or str(status),
        message=error_message(body) or f"Salesforce answered {status}",
        stage=WriteErrorStage.TARGET,
    )


def _body(write: Write) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": write.object}}
    for name, value in write.fields.items():
        if write.operation is WriteOperation.UPDATE and name.lower() == "id":
            continue
        record[name] = json_ready(value)
    if write.operation is WriteOperation.UPDATE:
        record["id"] = write.target_id
    return record


class CollectionsWriter:
    """Sends groups of writes of one object and operation through sObject Collections."""

    def __init__(
        self,
        client: SalesforceClient,
        *,
        batch_size: int,
        retry: RetryPolicy,
        composite: CompositeSender | None = None,
    ) -> None:
        self.client = client
        self.batch_size = batch_size
        self.retry = retry
        self.composite = composite or CompositeSender(client)
        self._bisect_budget = MAX_BISECT_CALLS

    def write(self, items: Sequence[Indexed], results: dict[int, WriteResult]) -> None:
        """Write ``items`` (all of one object and operation), filling ``results`` by index."""
        self.write_groups([items], results)

    def write_groups(self, groups: Sequence[Sequence[Indexed]], results: dict[int, WriteResult]) -> None:
        """Write every group (each of one object and operation), filling ``results`` by index:
        their collections go five to a composite call, in order; a lone one goes on its own."""
        self._bisect_budget = MAX_BISECT_CALLS
        chunks = [
            list(items[start : start + self.batch_size])
            for items in groups
            for start in range(0, len(items), self.batch_size)
        ]
        for start in range(0, len(chunks), MAX_HEAVY):
            window = chunks[start : start + MAX_HEAVY]
            if len(window) == 1:
                self._write_chunk(window[0], results)
                continue
            requests = [self._request(chunk) for chunk in window]
            answers = self.composite.send(
                [Subrequest(method, path, body, heavy=True) for method, path, body, _ in requests],
                what=f"{sum(len(chunk) for chunk in window)} record writes",
                idempotent=all(chunk[0][1].operation is not WriteOperation.CREATE for chunk in window),
            )
            for chunk, (_, _, _, what), answer in zip(window, requests, answers, strict=True):
                self._write_answered(chunk, what, answer, results)

    def _write_answered(
        self, chunk: list[Indexed], what: str, answer: SubAnswer, results: dict[int, WriteResult]
    ) -> None:
        """Read a collection's answer from a composite call as a direct call's answer is read."""
        if answer.status == 400:
            self._isolate(chunk, _refusal(answer.status, answer.body), results)
        elif not answer.ok:
            error = _refusal(answer.status, answer.body)
            error = replace(error, retriable=answer.status >= 500 or error.code == "UNABLE_TO_LOCK_ROW")
            _share(chunk, error, results)
        else:
            self._write_chunk(chunk, results, answered=self._outcomes(chunk, what, answer.body))

    def _write_chunk(
        self,
        chunk: list[Indexed],
        results: dict[int, WriteResult],
        *,
        answered: list[WriteResult] | None = None,
    ) -> None:
        """Send ``chunk`` (unless ``answered`` holds its first answer), then resend the records
        refused for a passing reason."""
        pending = chunk
        attempt = 0
        while pending:
            try:
                outcomes = answered if answered is not None else self._send(pending)
            except _Refused as refused:
                self._isolate(pending, refused.error, results)
                return
            answered = None
            retry: list[Indexed] = []
            codes: set[str] = set()
            for (index, write), outcome in zip(pending, outcomes, strict=True):
                if (
                    not outcome.ok
                    and outcome.error is not None
                    and outcome.error.code in RESEND_NOW_RECORD_CODES
                    and attempt < self.retry.max_retries
                ):
                    retry.append((index, write))
                    codes.add(outcome.error.code)
                else:
                    results[index] = outcome
            if retry:
                logger.warning(
                    "%d %s record(s) refused for a passing reason (%s); sending them again",
                    len(retry),
                    retry[0][1].object,
                    ", ".join(sorted(codes)),
                )
                self.retry.wait(attempt)
                attempt += 1
            pending = retry

    def _isolate(self, chunk: list[Indexed], error: WriteError, results: dict[int, WriteResult]) -> None:
        """Salesforce refused a whole call (e.g. ``JSON_PARSER_ERROR`` for one bad value): split it
        in halves to find the records at fault, within a budget of extra calls; records still
        refused together when it runs out share the error, which says so."""
        if len(chunk) == 1 or self._bisect_budget <= 0:
            _share(chunk, error, results)
            return
        middle = len(chunk) // 2
        for half in (chunk[:middle], chunk[middle:]):
            if self._bisect_budget <= 0:
                _share(half, error, results)
                continue
            self._bisect_budget -= 1
            self._write_chunk(half, results)

    def _request(self, chunk: list[Indexed]) -> tuple[str, str, dict[str, Any], str]:
        """(method, path, body, what) of the collections request writing ``chunk``."""
        first = chunk[0][1]
        records = [_body(write) for _, write in chunk]
        if first.operation is WriteOperation.CREATE:
            method, path = "POST", "composite/sobjects"
        elif first.operation is WriteOperation.UPDATE:
            method, path = "PATCH", "composite/sobjects"
        else:
            external = quote(first.external_id_field or "", safe="")
            method, path = "PATCH", f"composite/sobjects/{quote(first.object, safe='')}/{external}"
        what = f"{first.operation.value} of {len(chunk)} {first.object} record(s)"
        return method, path, {"allOrNone": False, "records": records}, what

    def _send(self, chunk: list[Indexed]) -> list[WriteResult]:
        first = chunk[0][1]
        method, path, body, what = self._request(chunk)
        try:
            answer = self.client.restful(
                method,
                path,
                what=what,
                json=body,
                idempotent=first.operation is not WriteOperation.CREATE,  # upserts and updates repeat safely
            )
        except SalesforceRequestError as exc:
            if exc.context.get("status") != 400:
                # 403/404 and the like concern the whole call (permissions, unknown object):
                # splitting it would only repeat the refusal, so every record shares it.
                error = WriteError(
                    code=str(exc.context.get("code") or exc.context.get("status") or "REQUEST_REFUSED"),
                    message=exc.message,
                    stage=WriteErrorStage.TARGET,
                )
                return [WriteResult(key=write.key, ok=False, error=error) for _, write in chunk]
            raise _Refused(
                WriteError(
                    code=str(exc.context.get("code") or exc.context.get("status") or "REQUEST_REFUSED"),
                    message=exc.message,
                    retriable=False,
                    stage=WriteErrorStage.TARGET,
                )
            ) from exc
        return self._outcomes(chunk, what, answer)

    def _outcomes(self, chunk: list[Indexed], what: str, answer: Any) -> list[WriteResult]:
        """One result per record of a collections answer, by position."""
        if not isinstance(answer, list) or len(answer) != len(chunk):
            error = WriteError(
                code="UNEXPECTED_RESPONSE",
                message=f"Salesforce answered {what} with {type(answer).__name__}, not one result per record",
                retriable=True,
            )
            return [WriteResult(key=write.key, ok=False, error=error) for _, write in chunk]
        outcomes: list[WriteResult] = []
        for (_, write), raw in zip(chunk, answer, strict=True):
            if isinstance(raw, Mapping) and raw.get("success"):
                created = raw.get("created")
                outcomes.append(
                    WriteResult(
                        key=write.key,
                        ok=True,
                        target_id=str(raw.get("id") or write.target_id or "") or None,
                        created=bool(created)
                        if created is not None
                        else write.operation is WriteOperation.CREATE,
                    )
                )
            else:
                outcomes.append(
                    WriteResult(
                        key=write.key, ok=False, error=record_error(raw if isinstance(raw, Mapping) else None)
                    )
                )
        return outcomes
