"""``fieldline emulator passfort``: serve the PassFort emulator and deliver its webhooks."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8101, show_default=True, type=click.IntRange(0, 65535))
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
    show_default=True,
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
@click.option("--batch-interval", default=5.0, show_default=True, help="Seconds between batches.")
@click.option("--backoff-cap", default=30.0, show_default=True, help="Longest wait between retries (s).")
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
) -> None:
    """Serve a PassFort API v4 emulator that delivers webhooks in order, retried until 200."""
    import uvicorn

    from fieldline.adapters.passfort.emulator.app import create_app
    from fieldline.adapters.passfort.emulator.delivery import DeliveryConfig
    from fieldline.adapters.passfort.emulator.handle import SEED_FILE
    from fieldline.adapters.passfort.emulator.store import ProfileStore, load_seed
    from fieldline.errors import ConfigError

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
    app = create_app(store=store, delivery=config, api_key=api_key)
    click.echo(
        f"PassFort emulator: {len(store)} profiles; API http://{host}:{port}/4.0 "
        f"(apikey header); webhooks -> {deliver_to or 'nowhere (set --deliver-to)'}",
        err=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
