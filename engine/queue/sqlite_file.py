"""One SQLite file shared by the queue, the run log and the sync state: URLs, connections, transactions."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from fieldline.errors import ConfigError, QueueError

__all__ = ["SQLiteFile", "ThreadConnections", "connect_sqlite", "sqlite_path_from_url"]


def sqlite_path_from_url(url: str) -> tuple[str, dict[str, str]]:
    """``sqlite:///rel.db`` -> ``rel.db``; ``sqlite:////abs.db`` -> ``/abs.db``; plus query options."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise ConfigError(f"not a SQLite URL: {url!r}", hint="use sqlite:///relative.db or sqlite:////abs.db")
    path = unquote(parts.path)
    path = path.removeprefix("/")
    if not path:
        raise ConfigError(f"the SQLite URL {url!r} names no file", hint="use sqlite:///queue.db")
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return path, options


def connect_sqlite(
    path: str | Path, *, synchronous: str = "NORMAL", busy_timeout: float = 30.0
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL journal, busy timeout."""
    try:
        connection = sqlite3.connect(
            str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA synchronous = {synchronous}")
        connection.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise QueueError(
            f"{path}: cannot open the SQLite database: {exc}",
            hint="check the --db path exists and is writable",
            path=str(path),
        ) from exc
    return connection


class ThreadConnections:
    """One SQLite connection per thread, opened on first use.

    Connections of threads that have ended are closed when the next one is opened, so short-lived
    threads (thread pools, lease keepers) do not pile up open files.
    """

    def __init__(self, open_connection: Callable[[], sqlite3.Connection]) -> None:
        self._open = open_connection
        self._by_thread: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._lock = threading.Lock()
        self.closed = False

    def get(self) -> sqlite3.Connection:
        current = threading.current_thread()
        with self._lock:
            entry = self._by_thread.get(current.ident or 0)
            if entry is not None and entry[0] is current:
                return entry[1]
            if self.closed:
                raise QueueError("the database connection is closed")
            for ident, (thread, connection) in list(self._by_thread.items()):
                if not thread.is_alive():
                    connection.close()
                    del self._by_thread[ident]
            connection = self._open()
            self._by_thread[current.ident or 0] = (current, connection)
            return connection

    def __len__(self) -> int:
        return len(self._by_thread)

    def close_all(self) -> None:
        with self._lock:
            self.closed = True
            entries, self._by_thread = list(self._by_thread.values()), {}
        for _, connection in entries:
            connection.close()


class SQLiteFile:
    """One SQLite file, one connection per thread, explicit transactions; errors become
    :class:`~fieldline.errors.QueueError` naming the file and ``what`` it holds."""

    what = "database"
    path: str
    _connections: ThreadConnections

    def _connection(self) -> sqlite3.Connection:
        if self._connections.closed:
            raise QueueError(f"{self.path}: the {self.what} is closed")
        return self._connections.get()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise QueueError(
                f"{self.path}: cannot start a {self.what} transaction: {exc}",
                hint="another process may hold the database for longer than the busy timeout",
            ) from exc
        try:
            yield connection
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(connection)
            raise QueueError(f"{self.path}: {self.what} write failed: {exc}") from exc
        except BaseException:
            _rollback(connection)
            raise

    def _read(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        try:
            return self._connection().execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise QueueError(f"{self.path}: {self.what} read failed: {exc}") from exc

    def _create_tables(self, schema: str) -> None:
        """Run ``schema``'s statements (``CREATE ... IF NOT EXISTS``) in one transaction."""
        with self._transaction() as connection:
            for statement in schema.split(";"):
                if statement.strip():
                    connection.execute(statement)

    def close(self) -> None:
        """Close every connection opened on this file (from any thread)."""
        self._connections.close_all()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _rollback(connection: sqlite3.Connection) -> None:
    # SQLite may already have rolled the transaction back itself (e.g. on SQLITE_FULL).
    with contextlib.suppress(sqlite3.Error):
        connection.execute("ROLLBACK")
