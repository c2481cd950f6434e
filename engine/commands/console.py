"""``fieldline console``: the operator's console alone, over a service's storage."""

from __future__ import annotations

from pathlib import Path

import click

from fieldline.commands.service import (
    ALLOWED_HOSTS,
    DEFAULT_DB,
    _configure_logging,
    _db_url,
    _existing_db,
    _graceful_server,
)
from fieldline.commands.spec_loading import load_specs_or_exit


@click.command()
@click.option(
    "--db",
    default=DEFAULT_DB,
    envvar="FIELDLINE_DB",
    help="The storage `fieldline serve` uses (SQLite file or storage URL).",
)
@click.option(
    "--spec",
    "spec_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="The served specs (file or folder; repeatable): needed for replay dry runs.",
)
@click.option("--host", default="127.0.0.1", help="Interface to listen on.")
@click.option("--port", default=8001, type=click.IntRange(0, 65535))
@ALLOWED_HOSTS
@click.option(
    "--stalled-after",
    default=300.0,
    type=click.FloatRange(0.1),
    help="Seconds the oldest waiting event may wait before the queue shows as Stalled.",
)
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning"]))
def console(
    *,
    db: str,
    spec_paths: tuple[Path, ...],
    host: str,
    port: int,
    allowed_hosts: tuple[str, ...],
    stalled_after: float,
    log_level: str,
) -> None:
    """Serve the operator's console (queue health, connector logs, dead letters, replay) at /ui.

    Signing in takes the operator token (FIELDLINE_OPERATOR_TOKEN); without one the console
    answers loopback clients only. Replays requeue events in the shared storage: the
    service's workers apply them.
    """
    import uvicorn

    from fieldline.config import operator_token
    from fieldline.console.data import ConsoleData
    from fieldline.console.standalone import console_app
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.queue.storage import open_storage
    from fieldline.service.admin_auth import AdminAccess, default_allowed_hosts
    from fieldline.service.context import source_names
    from fieldline.service.listening import listen

    _configure_logging(log_level)
    access = AdminAccess(token=operator_token(), allowed_hosts=default_allowed_hosts(host, allowed_hosts))
    manager = get_plugin_manager()
    specs = source_names(load_specs_or_exit(spec_paths, manager)) if spec_paths else {}
    listener = listen(host, port)
    storage = open_storage(_db_url(_existing_db(db)), plugin_manager=manager)
    try:
        data = ConsoleData(storage=storage, specs=specs, plugin_manager=manager, stalled_after=stalled_after)
        click.echo(f"fieldline console: http://{host}:{listener.getsockname()[1]}/ui/ over {db}", err=True)
        config = uvicorn.Config(
            console_app(data, access), log_level=log_level, access_log=False, lifespan="on"
        )
        _graceful_server(config).run(sockets=[listener])  # SIGTERM: exit 0 once stopped
    finally:
        listener.close()
        storage.close()
