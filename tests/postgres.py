"""A real PostgreSQL for tests: one throwaway server per test run, a fresh schema per test.

``FIELDLINE_TEST_PG_URL`` points the tests at an existing server instead (its database must let
the user create schemas). Without either, PostgreSQL tests skip with the reason, except under
``CI=true``, where they fail: CI runs every one of them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from fieldline.queue.postgres_db import PostgresDatabase
from fieldline.queue.postgres_schema import upgrade

ENV_URL = "FIELDLINE_TEST_PG_URL"


def unavailable(reason: str, environ: Mapping[str, str] = os.environ) -> None:
    """Skip (fail under ``CI=true``) because no PostgreSQL is available."""
    message = f"no PostgreSQL for the tests: {reason} (set {ENV_URL} to use an existing server)"
    if environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def with_query(url: str, **options: str) -> str:
    """``url`` with query options added (replacing any of the same name)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(options)
    return urlunsplit(parts._replace(query=urlencode(query)))


def schema_url(server_url: str, schema: str) -> str:
    """A URL whose connections use ``schema`` (libpq ``options=-csearch_path=...``)."""
    return with_query(server_url, options=f"-csearch_path={schema}")


def new_schema(server_url: str, *, upgraded: bool = True, name: str | None = None) -> str:
    """Create a fresh schema on the server (upgraded to the current version unless told not to);
    returns a URL using it."""
    import psycopg

    schema = name or f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'.encode())
    url = schema_url(server_url, schema)
    if upgraded:
        database = PostgresDatabase(url, pool_min=1, pool_max=1).acquire()
        try:
            upgrade(database)
        finally:
            database.release()
    return url
