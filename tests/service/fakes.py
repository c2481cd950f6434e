"""Fakes for service tests: a source, a runner and a webhook source with a shared secret."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldline.contracts import EventRole, SourceBase, SourceDocument, SourceEvent, Stop
from fieldline.errors import WebhookError
from fieldline.planning.plans import Action
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.sync.runner import OutcomeStage, RecordOutcome, RunReport
from fieldline.testing.queue_suite import FakeClock

SECRET = "s3cret-value"


@dataclass
class FakeSource(SourceBase):
    """Profiles by key; ``errors`` raise on fetch (once per entry when ``once``)."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)
    closed: bool = False
    name: str = "fake"

    def read(self) -> Iterable[SourceDocument]:
        return [SourceDocument(key, data) for key, data in self.profiles.items()]

    def fetch(self, key: str) -> SourceDocument | None:
        self.fetched.append(key)
        if key in self.errors:
            raise self.errors[key]
        data = self.profiles.get(key)
        return None if data is None else SourceDocument(key=key, data=data)

    def close(self) -> None:
        self.closed = True


OutcomeRule = Callable[[SourceDocument], Sequence[RecordOutcome]]


def applied(document: SourceDocument) -> list[RecordOutcome]:
    """The default outcome: the profile's Account was updated with its name."""
    return [
        RecordOutcome(
            record="applicant",
            key=document.key,
            document_key=document.key,
            object="Account",
            action=Action.UPDATE,
            target_id=f"001{document.key}",
            written={"Name": document.data.get("name"), "Api_Token__c": "should-not-be-logged"},
            version=document.version,
        )
    ]


@dataclass
class FakeRunner:
    """Records each sync call; outcomes per document from ``rules`` (default: applied)."""

    rules: dict[str, OutcomeRule] = field(default_factory=dict)
    raises: Exception | None = None
    stopped: Stop | None = None  # the report says the target stopped (budget, daily limit)
    calls: list[list[SourceDocument]] = field(default_factory=list)

    def sync(self, documents: Iterable[SourceDocument]) -> RunReport:
        batch = list(documents)
        self.calls.append(batch)
        if self.raises is not None:
            raise self.raises
        report = RunReport(stopped=self.stopped)
        for document in batch:
            report.outcomes.extend(self.rules.get(document.key, applied)(document))
        return report


def failed(error: str, *, retriable: bool) -> OutcomeRule:
    def rule(document: SourceDocument) -> list[RecordOutcome]:
        return [
            RecordOutcome(
                record="application",
                key=f"{document.key}[0]",
                document_key=document.key,
                object="PassFort_Application__c",
                action=Action.CREATE,
                error=error,
                retriable=retriable,
                stage=OutcomeStage.TARGET,
            )
        ]

    return rule


def not_sent(document: SourceDocument) -> list[RecordOutcome]:
    """The target stopped before this profile's write was sent."""
    return [
        RecordOutcome(
            record="applicant",
            key=document.key,
            document_key=document.key,
            object="Account",
            action=Action.UPDATE,
            error="not sent: the run stopped (daily limit)",
            retriable=True,
            stage=OutcomeStage.STOPPED,
        )
    ]


def unreached(document: SourceDocument) -> list[RecordOutcome]:
    """The run stopped before this profile's batch was planned."""
    return []


def make_queue(directory: Path, clock: FakeClock, *, max_attempts: int = 3) -> SQLiteJobQueue:
    return SQLiteJobQueue(directory / "q.db", clock=clock, max_attempts=max_attempts, synchronous="NORMAL")


def event(
    event_id: str,
    key: str,
    occurred_at: float = 100.0,
    *,
    role: EventRole = EventRole.TRIGGER,
    **payload: Any,
) -> SourceEvent:
    """A trigger (or document) event for entity ``key``; ordered by the key itself and, with
    ``application_id``, by ``application:<id>`` too."""
    application = payload.get("application_id")
    return SourceEvent(
        id=event_id,
        type="PRODUCT_STATUS_CHANGED",
        entity_key=key,
        occurred_at=occurred_at,
        payload={"profile_id": key, **payload},
        ordering_keys=(key, f"application:{application}") if application else (),
        role=role,
    )


class FakeWebhookSource(SourceBase):
    """Body: a JSON list of ``{"id", "event", "key", "t"}``; needs ``Authorization: Bearer SECRET``."""

    name = "fake"

    def __init__(self, enabled: Iterable[str] = ("PRODUCT_STATUS_CHANGED",)) -> None:
        self.enabled = set(enabled)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[SourceEvent]:
        if headers.get("authorization") != f"Bearer {SECRET}":
            raise WebhookError("wrong or missing shared secret", status=401)
        try:
            items = json.loads(body)
            return [
                SourceEvent(
                    id=item["id"],
                    type=item["event"],
                    entity_key=item["key"],
                    occurred_at=float(item.get("t", 1.0)),
                    payload=item.get("data", {}),
                )
                for item in items
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookError(f"malformed webhook body: {exc}", status=400) from exc

    def is_enabled(self, event_type: str) -> bool:
        return event_type in self.enabled
