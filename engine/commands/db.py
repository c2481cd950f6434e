"""``fieldline db upgrade``: create or migrate the storage schema of a shared database.

PostgreSQL's schema is versioned and changed only by this command, run once from any one
machine before new releases start (``fieldline_schema_version`` records where it stands).
The embedded SQLite file creates and upgrades its own tables when opened; the command does
exactly that for it, so one deploy script serves both backends.
"""

from __future__ import annotations

import click

from fieldline.commands.service import _DB


@click.group()
def db() -> None:
    """The storage database (queue, run log, sync state)."""


@db.command()
@_DB
def upgrade(db: str) -> None:
    """Create the tables, or migrate them to this release's schema version (safe to repeat)."""
    from rich.console import Console

    from fieldline.queue.storage import open_storage, storage_url

    console = Console()
    url = storage_url(db)
    scheme = url.partition("://")[0]
    if scheme in ("postgresql", "postgres"):
        from fieldline.queue.postgres_db import redacted_url
        from fieldline.queue.postgres_plugin import open_postgres_database
        from fieldline.queue.postgres_schema import upgrade as upgrade_schema

        database = open_postgres_database(url).acquire()
        try:
            before, after = upgrade_schema(database)
        finally:
            database.release()
        where = redacted_url(url)
        if before == after:
            console.print(f"{where}: the schema is already at version {after}; nothing to do")
        else:
            console.print(f"{where}: schema upgraded from version {before or 'none'} to {after}")
        return
    with open_storage(url):  # SQLite (and backends that manage their own tables) upgrade on open
        pass
    console.print(f"{url}: tables are up to date")
