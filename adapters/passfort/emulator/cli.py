"""``fieldline emulator passfort``: serve the PassFort emulator and deliver its webhooks."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--host", default="127.0.0.1", help="Interface to listen on.")
@click.option("--port", default=8101, type=click.IntRange(0, 65535))
@click.option(
    "--deliver-to", metavar="URL", help="Where webhooks go (e.g. http://127.0.0.1:8000/webhooks/passfort)."
)
@click.option(
    "--secret",
    envvar="FIELDLINE_PASSFORT_WEBHOOK_SECRET",
    help="Shared webhook secret (default: $FIELDLINE_PASSFORT_WEBHOOK_SECRET).",
)
@click.option(
    "--api-key",
    envvar="FIELDLINE_PASSFORT_API_KEY",
    default="emulator-api-key",
    help="The apikey clients must send (default: $FIELDLINE_PASSFORT_API_KEY).",
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Profiles to start with (default: mappings/passfort-seed.json when present).",
)
@click.option("--empty", is_flag=True, help="Start with no profiles.")
@click.option("--batch", is_flag=True, help="Deliver up to 100 webhooks per request, as a JSON list.")
@click.option("--batch-interval", default=5.0, help="Seconds between batches.")
@click.option("--backoff-cap", default=30.0, help="Longest wait between retries (s).")
@click.option(
    "--error-style",
    type=click.Choice(["http", "200"]),
    default="http",
    help="Answer errors with a PassFort code (201, 204, 104) with an HTTP error status, or with 200.",
)
def passfort(
    *,
    host: str,
    port: int,
    deliver_to: str | None,
    secret: str | None,
    api_key: str,
    seed_file: Path | None,
    empty: bool,
    batch: bool,
    batch_interval: float,
    backoff_cap: float,
    error_style: str,
) -> None:
    """Serve a PassFort API v4 emulator that delivers webhooks in order, retried until 200."""
    from fieldline.adapters.passfort.emulator.app import ErrorStyle, create_app
    from fieldline.adapters.passfort.emulator.delivery import DeliveryConfig
    from fieldline.adapters.passfort.emulator.handle import SEED_FILE
    from fieldline.adapters.passfort.emulator.store import ProfileStore, load_seed
    from fieldline.errors import ConfigError
    from fieldline.service.listening import listen, run_until_stopped

    if deliver_to and not secret:
        raise ConfigError(
            "--deliver-to needs a webhook secret",
            hint="pass --secret or set FIELDLINE_PASSFORT_WEBHOOK_SECRET",
        )
    if seed_file is None and not empty and SEED_FILE.is_file():
        seed_file = SEED_FILE
    profiles = [] if empty or seed_file is None else load_seed(seed_file)
    store = ProfileStore(profiles)
    config = DeliveryConfig(
        deliver_to=deliver_to,
        secret=secret or "",
        batch=batch,
        batch_interval=batch_interval,
        backoff_cap=backoff_cap,
    )
    app = create_app(store=store, delivery=config, api_key=api_key, error_style=ErrorStyle(error_style))
    sock = listen(host, port, backlog=128)
    url = f"http://{host}:{sock.getsockname()[1]}"  # the real port, also for --port 0
    click.echo(f"PassFort emulator on {url}")
    click.echo(f"  API         {url}/4.0  (apikey header; {len(store)} profiles)")
    click.echo(f"  webhooks -> {deliver_to or 'nowhere yet (POST /_emulator/delivery or --deliver-to)'}")
    click.echo(f"  queue       {url}/_emulator/deliveries", nl=True)
    run_until_stopped(app, sock)
