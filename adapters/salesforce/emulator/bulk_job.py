"""What Bulk API 2.0 ingest and query jobs share: identity, state, timings, job info, the run.

A job runs as an asyncio task once it is ``UploadComplete``: ``InProgress`` while its subclass's
:meth:`BulkJob.process` works, then ``JobComplete`` (or ``Failed``; ``Aborted`` when a client
aborts it meanwhile).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

from fieldline.adapters.salesforce.emulator.context import Emulator
from fieldline.adapters.salesforce.emulator.state import DEFAULT_USER_ID
from fieldline.adapters.salesforce.emulator.store import now_iso

__all__ = ["DELIMITERS", "LINE_ENDINGS", "TERMINAL", "BulkJob"]

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
TERMINAL = ("JobComplete", "Failed", "Aborted")
_job_numbers = itertools.count(1)
_log = logging.getLogger(__name__)


@dataclass(slots=True)
class BulkJob:
    """The part of a job's state and info that does not depend on its type."""

    job_type: ClassVar[str]  # the info's ``jobType``
    operation: str
    column_delimiter: str
    line_ending: str
    api_version: str
    _: KW_ONLY  # so that a subclass can add fields without defaults
    id: str = field(init=False)
    state: str = "Open"
    created_date: str = field(default_factory=now_iso)
    modstamp: str = field(default_factory=now_iso)
    error_message: str | None = None
    started: float | None = None
    finished: float | None = None

    def __post_init__(self) -> None:
        self.id = f"7508d000{next(_job_numbers):07d}AAA"  # 750: the key prefix of Bulk jobs

    @property
    def object_name(self) -> str:
        raise NotImplementedError

    def set_state(self, state: str) -> None:
        self.state = state
        self.modstamp = now_iso()

    def processing_millis(self) -> int:
        """Milliseconds spent processing so far (0 before it starts)."""
        if self.started is None:
            return 0
        return int(((self.finished or time.monotonic()) - self.started) * 1000)

    def type_info(self, *, detailed: bool) -> dict[str, Any]:
        """The info fields of this type of job (``detailed``: for a GET)."""
        raise NotImplementedError

    def info(self, *, detailed: bool) -> dict[str, Any]:
        """The job info JSON (``detailed`` adds the counters a GET returns)."""
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object_name,
            "createdById": DEFAULT_USER_ID,
            "createdDate": self.created_date,
            "systemModstamp": self.modstamp,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "jobType": self.job_type,
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        body.update(self.type_info(detailed=detailed))
        if detailed:
            body["retries"] = 0
            body["totalProcessingTime"] = self.processing_millis()
            if self.error_message:
                body["errorMessage"] = self.error_message
        return body

    async def process(self, emu: Emulator) -> None:
        """The type's own work, while ``InProgress``; it may end the job (``Failed``) itself."""
        raise NotImplementedError

    async def run(self, emu: Emulator) -> None:
        """Process an ``UploadComplete`` job to a terminal state (runs as a background task)."""
        await asyncio.sleep(0)
        if self.state != "UploadComplete":
            return
        self.set_state("InProgress")
        self.started = time.monotonic()
        try:
            await self.process(emu)
            if self.state == "InProgress" and emu.settings.bulk_delay_ms:
                await asyncio.sleep(emu.settings.bulk_delay_ms / 1000)  # so tests can watch InProgress
            if self.state == "InProgress":
                self.set_state("JobComplete")
        except Exception as exc:  # a bug must fail the job, not leave it InProgress forever
            _log.error("Bulk job %s failed unexpectedly", self.id, exc_info=True)
            cause = f"{type(exc).__name__}: {exc}"
            self.error_message = f"UnknownException : An unexpected error occurred: {cause}"
            self.set_state("Failed")
        finally:
            self.finished = time.monotonic()
            emu.store.flush()
