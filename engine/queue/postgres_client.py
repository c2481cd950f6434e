"""A holder of one reference to a shared :class:`PostgresDatabase` (queue, run store)."""

from __future__ import annotations

from fieldline.queue.postgres_db import PostgresDatabase

__all__ = ["PostgresClient"]


class PostgresClient:
    """Acquires the database when built and releases it once on :meth:`close`."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database.acquire()
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.database.release()
