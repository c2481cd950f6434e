"""The connector logs' SQL, shared by the SQLite and PostgreSQL backends.

A backend says how it opens a write transaction and reads rows, and which placeholder its
driver takes; the statements are written once here with ``?`` and translated.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from fieldline.queue.sync_runs import (
    RECORD_COLUMNS,
    RUN_COLUMNS,
    RunStatus,
    SyncRun,
    SyncRunRecord,
    latest_per_spec,
    record_from_row,
    record_row,
    run_from_row,
)

__all__ = ["SQLSyncRunsBase"]

_RECORD_VALUES = ", ".join("?" * len(RECORD_COLUMNS.split(",")))


class SQLSyncRunsBase(ABC):
    """:class:`~fieldline.queue.sync_runs.SyncRunLog` over one SQL database."""

    PLACEHOLDER: ClassVar[str]  # the driver's parameter mark: "?" or "%s"
    clock: Callable[[], float]

    @abstractmethod
    def _writing(self, what: str) -> AbstractContextManager[Any]:
        """A connection in one write transaction (``execute`` returns a cursor)."""

    @abstractmethod
    def _reading(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """The rows of one read."""

    @abstractmethod
    def _insert_many(self, connection: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run ``sql`` once per row, in the open transaction."""

    def _sql(self, text: str) -> str:
        return text if self.PLACEHOLDER == "?" else text.replace("?", self.PLACEHOLDER)

    # --- writing --------------------------------------------------------------------------

    def start(
        self, *, spec: str, spec_hash: str, source: str, target: str, options: Mapping[str, Any]
    ) -> int:
        with self._writing("connector log start") as connection:
            rows = connection.execute(
                self._sql(
                    "INSERT INTO fieldline_sync_runs (spec, spec_hash, source, target, started_at, status,"
                    " options) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"
                ),
                (spec, spec_hash, source, target, self.clock(), RunStatus.RUNNING.value, _json(options)),
            ).fetchall()  # all, so SQLite has finished the statement before the commit
        return int(rows[0][0]) if rows else 0

    def add(self, run_id: int, records: Iterable[SyncRunRecord]) -> None:
        rows = [record_row(record) for record in records]
        if not rows:
            return
        with self._writing("connector log write") as connection:
            self._insert_many(
                connection,
                self._sql(
                    f"INSERT INTO fieldline_sync_run_records ({RECORD_COLUMNS}) VALUES ({_RECORD_VALUES})"
                ),
                rows,
            )

    def finish(
        self,
        run_id: int,
        *,
        status: RunStatus,
        counts: Mapping[str, int],
        stop_reason: str | None = None,
        error: str | None = None,
    ) -> None:
        with self._writing("connector log finish") as connection:
            connection.execute(
                self._sql(
                    "UPDATE fieldline_sync_runs SET ended_at = ?, status = ?, counts = ?, stop_reason = ?,"
                    " error = ? WHERE id = ?"
                ),
                (self.clock(), status.value, _json(counts), stop_reason, error, run_id),
            )

    def purge(self, before: float) -> int:
        with self._writing("connector log purge") as connection:
            connection.execute(
                self._sql(
                    "DELETE FROM fieldline_sync_run_records WHERE run_id IN"
                    " (SELECT id FROM fieldline_sync_runs WHERE ended_at < ?)"
                ),
                (before,),
            )
            cursor = connection.execute(
                self._sql("DELETE FROM fieldline_sync_runs WHERE ended_at < ?"), (before,)
            )
            return int(cursor.rowcount)

    # --- reading --------------------------------------------------------------------------

    def runs(
        self, *, spec: str | None = None, status: RunStatus | None = None, limit: int = 50
    ) -> list[SyncRun]:
        conditions: list[str] = []
        parameters: list[Any] = []
        if spec is not None:
            conditions.append("spec = ?")
            parameters.append(spec)
        if status is not None:
            conditions.append("status = ?")
            parameters.append(status.value)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._reading(
            self._sql(f"SELECT {RUN_COLUMNS} FROM fieldline_sync_runs {where} ORDER BY id DESC LIMIT ?"),
            [*parameters, limit],
        )
        return [run_from_row(row) for row in rows]

    def run(self, run_id: int) -> SyncRun | None:
        rows = self._reading(
            self._sql(f"SELECT {RUN_COLUMNS} FROM fieldline_sync_runs WHERE id = ?"), (run_id,)
        )
        return run_from_row(rows[0]) if rows else None

    def records(
        self, run_id: int, *, errors_only: bool = False, key: str | None = None, limit: int | None = None
    ) -> list[SyncRunRecord]:
        where = ["run_id = ?"]
        parameters: list[Any] = [run_id]
        if errors_only:
            where.append("error IS NOT NULL")
        if key is not None:
            where.append("(key = ? OR document_key = ?)")
            parameters += [key, key]
        limited = " LIMIT ?" if limit is not None else ""
        rows = self._reading(
            self._sql(
                f"SELECT {RECORD_COLUMNS} FROM fieldline_sync_run_records WHERE {' AND '.join(where)}"
                f" ORDER BY seq{limited}"
            ),
            [*parameters, limit] if limit is not None else parameters,
        )
        return [record_from_row(row) for row in rows]

    def latest(self) -> dict[str, tuple[SyncRun | None, SyncRun | None]]:
        # The newest successful and the newest failed run of each spec, in one read.
        rows = self._reading(
            f"SELECT {RUN_COLUMNS} FROM fieldline_sync_runs WHERE id IN ("
            " SELECT MAX(id) FROM fieldline_sync_runs WHERE status = 'ok' GROUP BY spec"
            " UNION SELECT MAX(id) FROM fieldline_sync_runs WHERE status IN ('failed', 'stopped')"
            " GROUP BY spec) ORDER BY id DESC"
        )
        return latest_per_spec(run_from_row(row) for row in rows)


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), default=str, sort_keys=True)
