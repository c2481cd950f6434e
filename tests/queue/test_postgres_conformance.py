"""The JobQueue conformance suite and model-based properties, run against PostgreSQL.

Each test directory maps to its own schema (the suite reopens a queue by its directory)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from fieldline.queue.postgres_db import PostgresDatabase
from fieldline.queue.postgres_queue import PostgresJobQueue
from fieldline.testing.queue_suite import get_queue_state_machine, get_queue_test_class
from tests.postgres import new_schema, schema_url

_SERVER: list[str] = []  # the session server's URL, set by the autouse fixture below
_CREATED: set[str] = set()


@pytest.fixture(autouse=True)
def _server(pg_server_url: str) -> None:
    _SERVER[:] = [pg_server_url]


def make_postgres_queue(
    directory: Path, *, clock: Callable[[], float], max_attempts: int
) -> PostgresJobQueue:
    schema = "q_" + hashlib.sha1(str(directory).encode()).hexdigest()[:20]
    if schema not in _CREATED:
        new_schema(_SERVER[0], name=schema)
        _CREATED.add(schema)
    database = PostgresDatabase(schema_url(_SERVER[0], schema), pool_min=1, pool_max=4)
    return PostgresJobQueue(database, clock=clock, max_attempts=max_attempts)  # closes the pool


TestPostgresQueue = get_queue_test_class(make_postgres_queue)
# Each example opens a fresh schema: fewer examples than SQLite keeps the run short.
TestPostgresQueueModel = get_queue_state_machine(make_postgres_queue, max_examples=25).TestCase
