"""One PostgreSQL database shared by the queue, the run log and the sync state: URLs, the
connection pool, transactions, and errors translated once into fieldline's.

``postgresql://user:password@host:5432/db?pool_max=8&max_attempts=5``: fieldline's own options
(:data:`OPTIONS`) are taken out of the query; the rest (``sslmode``, ``options``, ...) goes to
libpq as given.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fieldline.errors import ConfigError, QueueError

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["OPTIONS", "PostgresDatabase", "redacted_url", "split_url"]

# fieldline's options in a PostgreSQL URL's query; everything else is libpq's.
OPTIONS = frozenset({"max_attempts", "backoff_base", "backoff_max", "pool_min", "pool_max", "pool_timeout"})
SCHEMES = ("postgresql", "postgres")


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without fieldline's options (the libpq connection URL), and those options."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ConfigError(f"not a PostgreSQL URL: {redacted_url(url)!r}", hint="use postgresql://host/db")
    ours: dict[str, str] = {}
    theirs: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        (ours.__setitem__(key, value) if key in OPTIONS else theirs.append((key, value)))
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(theirs), parts.fragment))
    return conninfo, ours


def redacted_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _unreachable_hint() -> str:
    return "check that PostgreSQL is running and the --db URL (host, port, user, database) is right"


class PostgresDatabase:
    """A connection pool on one database; shared by the queue and the run store of one
    :class:`~fieldline.queue.Storage` (closed when the last of them closes)."""

    def __init__(self, url: str, *, pool_min: int = 1, pool_max: int = 8, pool_timeout: float = 5.0) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self.where = redacted_url(url)
        self.conninfo, _ = split_url(url)
        self._psycopg = psycopg
        self._users = 0
        self._lock = threading.Lock()
        # ``timeout``: a caller waits this long for a connection, then gets a QueueError (a
        # receiver answers 503); the pool keeps reconnecting in the background meanwhile.
        self.pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            self.conninfo,
            min_size=pool_min,
            max_size=max(pool_min, pool_max),
            timeout=pool_timeout,
            open=False,
            name="fieldline",
            # After a server restart every pooled connection is dead: checking on checkout (one
            # empty round trip) replaces them instead of failing one call per connection.
            check=ConnectionPool.check_connection,
            kwargs={"connect_timeout": max(1, round(pool_timeout))},
        )
        self.pool.open(wait=False)

    def acquire(self) -> PostgresDatabase:
        with self._lock:
            self._users += 1
        return self

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._users <= 0
        if last:
            self.pool.close()

    @contextmanager
    def transaction(self, what: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A connection in one transaction, committed when the block ends (rolled back on error);
        database errors become :class:`QueueError` naming ``what`` failed."""
        from psycopg_pool import PoolTimeout

        if self.pool.closed:
            raise QueueError(f"{self.where}: the database is closed; cannot run the {what}")
        try:
            with self.pool.connection() as connection:
                yield connection  # the pool commits on a clean exit, rolls back otherwise
        except PoolTimeout as exc:
            raise QueueError(
                f"{self.where}: no connection to PostgreSQL for the {what}: {exc}", hint=_unreachable_hint()
            ) from exc
        except self._psycopg.OperationalError as exc:
            raise QueueError(
                f"{self.where}: PostgreSQL connection lost during the {what}: {_first_line(exc)}",
                hint=_unreachable_hint(),
            ) from exc
        except self._psycopg.Error as exc:
            raise QueueError(f"{self.where}: {what} failed: {_first_line(exc)}") from exc

    def read(self, what: str, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        with self.transaction(what) as connection:
            return connection.execute(sql, parameters).fetchall()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
