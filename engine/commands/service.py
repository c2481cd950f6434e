"""``fieldline serve | worker | status | logs | replay``: the webhook service and its queue."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from fieldline.commands.spec_loading import load_spec_or_exit, load_specs_or_exit
from fieldline.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from click.decorators import FC

    from fieldline.queue.jobs import DeadLetter
    from fieldline.service.admin_auth import AdminAccess
    from fieldline.service.context import ServiceContext
    from fieldline.spec.model import Spec

DEFAULT_DB = "fieldline.db"

_SPECS = click.option(
    "--spec",
    "spec_paths",
    required=True,
    multiple=True,
    type=click.Path(path_type=Path),
    help="A mapping spec file, or a folder of specs; repeatable (one endpoint per spec source).",
)
_DB = click.option(
    "--db",
    default=DEFAULT_DB,
    envvar="FIELDLINE_DB",
    help="The SQLite file holding the queue, run log and sync state (or a storage URL).",
)
ALLOWED_HOSTS = click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A Host name the service answers (e.g. the name webhook senders post to), besides localhost,"
    " 127.0.0.1, [::1] and --host; repeatable; '*.example.com' for subdomains, '*' for any.",
)
_BATCH = click.option("--batch-size", default=100, type=click.IntRange(1, 10_000), help="Jobs per claim.")
_LEASE = click.option(
    "--lease-seconds",
    default=120.0,
    type=click.FloatRange(1),
    help="Job lease: a job a worker holds longer than this is taken back (after a crash, say).",
)


def _seconds(name: str, default: float, help_text: str) -> Callable[[FC], FC]:
    """A duration option: seconds, at least a tenth of one."""
    return click.option(name, default=default, type=click.FloatRange(0.1), help=help_text)


_LOG_LEVEL = click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning"]))
_MAX_ATTEMPTS = click.option(
    "--max-attempts",
    default=5,
    type=click.IntRange(1, 1000),
    help="Attempts before a job becomes a dead letter.",
)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


_ATTEMPTS_IN_URL = ("sqlite:", "postgresql:", "postgres:")  # backends reading ?max_attempts=


def _db_url(db: str, *, max_attempts: int | None = None) -> str:
    from fieldline.queue.storage import storage_url

    url = storage_url(db)
    if max_attempts is not None and url.startswith(_ATTEMPTS_IN_URL) and "max_attempts=" not in url:
        url += ("&" if "?" in url else "?") + f"max_attempts={max_attempts}"
    return url


def _existing_db(db: str) -> str:
    """Commands that only read the queue refuse a missing file rather than create one."""
    if "://" not in db and not Path(db).is_file():
        raise ConfigError(
            f"no queue database at {db!r}",
            hint="pass the --db that `fieldline serve` uses (or set FIELDLINE_DB)",
        )
    return db


def _open_context(
    spec_paths: tuple[Path, ...], db: str, *, max_attempts: int, batch_size: int, **worker: Any
) -> ServiceContext:
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.service.context import open_context
    from fieldline.service.worker import WorkerSettings

    manager = get_plugin_manager()
    specs = load_specs_or_exit(spec_paths, manager)
    return open_context(
        specs,
        _db_url(db, max_attempts=max_attempts),
        plugin_manager=manager,
        worker_settings=WorkerSettings(batch_size=batch_size, **worker),
    )


@click.command()
@_SPECS
@_DB
@click.option("--host", default="127.0.0.1", help="Interface to listen on.")
@click.option("--port", default=8000, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=2,
    type=click.IntRange(0, 64),
    help="Worker threads per spec in this process (0: only receive; run `fieldline worker` elsewhere).",
)
@_BATCH
@_MAX_ATTEMPTS
@_LEASE
@click.option("--max-body-bytes", default=5 * 1024 * 1024, type=click.IntRange(1))
@ALLOWED_HOSTS
@_seconds("--header-timeout", 10.0, "Seconds a request's headers may take; slower connections are closed.")
@_seconds("--body-timeout", 30.0, "Seconds a request's body may take once its headers are in (else 408).")
@click.option(
    "--max-connections",
    default=900,
    type=click.IntRange(1),
    help="Open connections served at once; keep it under the process's file descriptor limit.",
)
@click.option(
    "--retention-days",
    default=30.0,
    type=click.FloatRange(0),
    help="Forget settled jobs and run-log entries older than this (0: keep everything).",
)
@click.option(
    "--console/--no-console",
    default=True,
    help="Serve the operator's console at /ui (behind the operator token; loopback only without one).",
)
@_LOG_LEVEL
def serve(
    *,
    spec_paths: tuple[Path, ...],
    db: str,
    host: str,
    port: int,
    workers: int,
    batch_size: int,
    max_attempts: int,
    lease_seconds: float,
    max_body_bytes: int,
    allowed_hosts: tuple[str, ...],
    header_timeout: float,
    body_timeout: float,
    max_connections: int,
    retention_days: float,
    console: bool,
    log_level: str,
) -> None:
    """Receive webhooks at POST /webhooks/SOURCE and apply them to the target.

    Several specs (--spec repeated, or a folder) are served at once: each spec's source gets
    its own endpoint and its own jobs in the one queue. Each accepted event is committed to the
    queue before the 200 answer. Workers (threads here, or `fieldline worker` processes on the
    same --db) apply events in order per entity, retry
    transient failures with backoff and keep poison events as dead letters. SIGTERM or Ctrl-C
    stops receiving, lets in-flight work finish, then exits. GET /status shows the queue to
    callers with the operator token (FIELDLINE_OPERATOR_TOKEN; without one, to loopback
    clients only); GET /healthz says whether the service can store events.
    """
    import uvicorn

    from fieldline.config import operator_token
    from fieldline.service.admin_auth import AdminAccess, default_allowed_hosts
    from fieldline.service.app import ServiceSettings
    from fieldline.service.connections import ConnectionLimits, uvicorn_options
    from fieldline.service.listening import listen

    _configure_logging(log_level)
    admin = AdminAccess(token=operator_token(), allowed_hosts=default_allowed_hosts(host, allowed_hosts))
    listener = listen(host, port)  # a taken port fails here, before any worker starts
    port = listener.getsockname()[1]
    try:
        context = _open_context(
            spec_paths, db, max_attempts=max_attempts, batch_size=batch_size, lease_seconds=lease_seconds
        )
    except BaseException:
        listener.close()
        raise
    try:
        app = context.create_app(
            workers=workers,
            service_settings=ServiceSettings(max_body_bytes=max_body_bytes, body_timeout=body_timeout),
            retention_days=retention_days or None,  # 0: keep everything
            admin=admin,
            console=console,
        )
        for name in context.source_names:
            click.echo(
                f"fieldline serve: POST http://{host}:{port}/webhooks/{name} -> {db} "
                f"({workers} worker thread{'s' if workers != 1 else ''})",
                err=True,
            )
        for name in context.lookup_names:
            click.echo(f"fieldline serve: GET http://{host}:{port}/lookup/{name}/VALUE", err=True)
        _echo_admin_access(admin)
        if console:
            click.echo(f"fieldline serve: the operator's console is at http://{host}:{port}/ui/", err=True)
        limits = ConnectionLimits(header_timeout=header_timeout, max_connections=max_connections)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            lifespan="on",
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=30,
            **uvicorn_options(limits),
        )
        _graceful_server(config).run(sockets=[listener])
    finally:
        listener.close()
        context.close()


def _echo_admin_access(admin: AdminAccess) -> None:
    """Say at start-up who may read GET /status and which Host names are answered."""
    who = (
        "callers with the operator token"
        if admin.token is not None
        else "loopback clients only (set FIELDLINE_OPERATOR_TOKEN to allow others)"
    )
    click.echo(f"fieldline serve: GET /status answers {who}", err=True)
    click.echo(f"fieldline serve: answering Host {', '.join(admin.allowed_hosts)}", err=True)


def _graceful_server(config: Any) -> Any:
    """A uvicorn server that exits 0 after a signal-requested graceful shutdown.

    uvicorn re-raises the captured SIGTERM/SIGINT once it has shut down, which kills the process
    before the queue database is closed and reports a failure to process supervisors.
    """
    import uvicorn

    class GracefulServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()  # stop uvicorn re-raising it after the shutdown

    return GracefulServer(config)


@click.command()
@_SPECS
@_DB
@click.option("--workers", default=1, type=click.IntRange(1, 64), help="Worker threads per spec.")
@_BATCH
@_MAX_ATTEMPTS
@_LEASE
@click.option("--poll-interval", default=0.25, type=click.FloatRange(0.001), help="Idle wait.")
@click.option("--exit-when-empty", is_flag=True, help="Stop once nothing is waiting (drain, then exit).")
@_LOG_LEVEL
def worker(
    *,
    spec_paths: tuple[Path, ...],
    db: str,
    workers: int,
    batch_size: int,
    max_attempts: int,
    lease_seconds: float,
    poll_interval: float,
    exit_when_empty: bool,
    log_level: str,
) -> None:
    """Apply queued events in a separate process (several may share one --db).

    SIGTERM or Ctrl-C: stop claiming, finish the batch in hand, exit. A worker killed outright
    loses nothing: its jobs return to the queue when their lease expires.
    """
    import os

    _configure_logging(log_level)
    context = _open_context(
        spec_paths,
        db,
        max_attempts=max_attempts,
        batch_size=batch_size,
        lease_seconds=lease_seconds,
        poll_interval=poll_interval,
    )
    if not context.specs:
        context.close()
        raise ConfigError(
            "none of the specs has a webhook source: a worker has no jobs to apply",
            hint="their lookups are answered by `fieldline serve` alone; run a worker for webhook specs",
        )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    wake = threading.Event()  # set when any receiver commits jobs (on backends that can tell)
    stop_listening = context.queue.wake_on_enqueue(wake)
    try:
        threads = context.start_workers(workers, stop, prefix=f"worker-{os.getpid()}", wake=wake)
        while any(thread.is_alive() for thread in threads):
            if exit_when_empty and not stop.is_set() and _nothing_waiting(context):
                stop.set()
            stop.wait(poll_interval if exit_when_empty else 0.5)
            if stop.is_set():
                for thread in threads:
                    thread.join()
    finally:
        stop_listening()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        context.close()


def _lookup_status(service_url: str | None) -> dict[str, Any] | None:
    if service_url is None:
        return None
    from fieldline.commands.lookup_status import fetch_lookup_status

    try:
        return fetch_lookup_status(service_url)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _nothing_waiting(context: ServiceContext) -> bool:
    return all(context.queue.status(source=name).waiting == 0 for name in context.source_names)


@click.command()
@_DB
@click.option("--source", "source_name", help="Only this source's queue (default: every source, each shown).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option(
    "--stalled-after",
    default=300.0,
    type=click.FloatRange(0),
    help="Seconds before 'stalled'.",
)
@click.option("--dead-letters", "dead_limit", default=20, type=click.IntRange(0))
@click.option(
    "--service",
    "service_url",
    help="Also show the lookups' calls, from the running service at this URL (operator token).",
)
def status(
    db: str,
    source_name: str | None,
    *,
    as_json: bool,
    stalled_after: float,
    dead_limit: int,
    service_url: str | None,
) -> None:
    """Show the queue: Empty / Waiting N / Stalled, last processed, recent failures, dead letters,
    and each spec's last successful and last failed `sync` run.

    With several sources in the queue (serve with several specs), each is shown on its own.
    With --service, also each lookup's and spec's last successful and failed call and the
    last hour's counts. Exit status 1 when a queue is stalled (handy for monitoring).
    """
    from fieldline.commands.batch import console_for
    from fieldline.commands.render import print_json
    from fieldline.queue.jobs import QueueHealth
    from fieldline.queue.storage import open_storage
    from fieldline.service.status import dead_letter_json, status_renderable

    with open_storage(_db_url(_existing_db(db))) as storage:
        queue = storage.queue
        names = [source_name] if source_name is not None else queue.sources()
        snapshots = {name: queue.status(stalled_after=stalled_after, source=name) for name in names}
        overall = queue.status(stalled_after=stalled_after, source=source_name)
        dead = {name: queue.dead_letters(dead_limit, source=name) if dead_limit else [] for name in names}
        latest_runs = storage.sync_runs.latest() if storage.sync_runs is not None else {}
    lookups = _lookup_status(service_url)
    console = console_for()  # wide without a terminal: CI logs never fold ids
    if as_json:
        document: dict[str, Any] = dict(overall.as_json())
        document["dead_letter_jobs"] = [
            dead_letter_json(letter) for letters in dead.values() for letter in letters
        ]
        document["sources"] = {
            name: {
                **snapshot.as_json(),
                "dead_letter_jobs": [dead_letter_json(letter) for letter in dead[name]],
            }
            for name, snapshot in snapshots.items()
        }
        document.update(lookups or {})
        document["sync_runs"] = {
            spec: {
                "last_ok": good.as_json() if good is not None else None,
                "last_failed": bad.as_json() if bad is not None else None,
            }
            for spec, (good, bad) in latest_runs.items()
        }
        print_json(console, document)
    elif not snapshots:
        console.print(status_renderable(overall, []))
    else:
        for name, snapshot in snapshots.items():
            console.print(status_renderable(snapshot, dead[name], title=name if len(snapshots) > 1 else None))
    if latest_runs and not as_json:
        from fieldline.commands.runs import latest_runs_table

        console.print(latest_runs_table(latest_runs))
    if lookups is not None and not as_json:
        from fieldline.commands.lookup_status import lookup_status_table

        console.print(lookup_status_table(lookups))
    if overall.health is QueueHealth.STALLED or any(
        snapshot.health is QueueHealth.STALLED for snapshot in snapshots.values()
    ):
        sys.exit(1)


@click.command()
@_DB
@click.option("--entity", "--profile", "entity", help="Only entries for this entity key (e.g. a profile id).")
@click.option("--source", "source_name", help="Only entries of this source.")
@click.option("--limit", default=50, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def logs(db: str, entity: str | None, source_name: str | None, limit: int, as_json: bool) -> None:
    """Show the run log, newest first: what each event did to each record, and why it failed."""
    import json

    from fieldline.commands.batch import console_for
    from fieldline.queue.storage import open_storage
    from fieldline.service.status import log_table

    with open_storage(_db_url(_existing_db(db))) as storage:
        entries = storage.runs.entries(source=source_name, entity=entity, limit=limit)
    if as_json:
        for entry in entries:
            click.echo(json.dumps(entry.as_json(), default=str, sort_keys=True))
        return
    console_for().print(log_table(entries))


@click.command()
@_DB
@click.argument("job_ids", nargs=-1, type=int)
@click.option("--all", "replay_all", is_flag=True, help="Every dead letter.")
@click.option("--dry-run", is_flag=True, help="Show the plan each would produce now; requeue nothing.")
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The (fixed) spec: checked before requeueing; needed for --dry-run. With it, --all means"
    " the dead letters of its source.",
)
@click.option("--keep-attempts", is_flag=True, help="Do not reset the attempt counters.")
def replay(
    *,
    db: str,
    job_ids: tuple[int, ...],
    replay_all: bool,
    dry_run: bool,
    spec_path: Path | None,
    keep_attempts: bool,
) -> None:
    """Send dead letters back to the queue (e.g. after fixing the spec or the data).

    Give JOB_IDs (see `fieldline status`) or --all. With --dry-run nothing is requeued: each
    entity's document is fetched (or taken from its event) and planned with --spec, and the
    plan is shown.
    """
    from rich.console import Console

    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.queue.storage import open_storage

    if replay_all == bool(job_ids):
        raise click.UsageError("give JOB_IDs or --all (not both)")
    if dry_run and spec_path is None:
        raise click.UsageError("--dry-run needs --spec to plan with")
    manager = get_plugin_manager()
    spec = load_spec_or_exit(spec_path, manager) if spec_path is not None else None
    source_name = spec.source.adapter if spec is not None and spec.source is not None else None
    storage = open_storage(_db_url(_existing_db(db)))
    queue = storage.queue
    console = Console()
    try:
        if replay_all:
            letters = queue.dead_letters(limit=1_000_000, source=source_name)
        else:
            known = {letter.job_id: letter for letter in queue.dead_letters(limit=1_000_000)}
            missing = [job_id for job_id in job_ids if job_id not in known]
            if missing:
                states = {job_id: queue.state_of(job_id) for job_id in missing}
                described = ", ".join(
                    f"{job_id} ({state.value if state else 'unknown'})" for job_id, state in states.items()
                )
                raise ConfigError(
                    f"not dead letters: {described}", hint="`fieldline status` lists the dead letters"
                )
            letters = [known[job_id] for job_id in job_ids]
        if not letters:
            console.print("No dead letters to replay.")
            return
        if spec is not None and dry_run:
            _plan_replay(spec, letters, manager=manager, console=console)
            console.print(f"Dry run: {len(letters)} dead letter(s) would be requeued; nothing changed.")
            return
        count = queue.requeue([letter.job_id for letter in letters], reset_attempts=not keep_attempts)
        console.print(f"Requeued {count} dead letter(s); workers will apply them in order per entity.")
    finally:
        storage.close()


def _plan_replay(spec: Spec, letters: Sequence[DeadLetter], *, manager: Any, console: Any) -> None:
    """Show the plan the dead letters would produce now (:mod:`fieldline.sync.replay`)."""
    from fieldline.commands.render import plan_table, summary_table
    from fieldline.sync.replay import preview_replay

    preview = preview_replay(spec, letters, plugin_manager=manager)
    for key in preview.gone:
        console.print(f"{key}: the source no longer has it; it would complete as gone")
    console.print(plan_table(preview.plan, title=f"replay plan: {spec.name}"))
    console.print(summary_table(preview.plan.counts()))
