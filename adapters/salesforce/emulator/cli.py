"""``fieldline emulator salesforce``: serve the Salesforce REST emulator over HTTP."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["salesforce"]


@click.command()
@click.option("--host", default="127.0.0.1", help="Interface to listen on.")
@click.option("--port", default=8500, type=int, help="Port; 0 picks a free one.")
@click.option("--org", "org_file", type=click.Path(exists=True, dir_okay=False), help="YAML org file.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False), help="SQLite file keeping records.")
@click.option(
    "--jwt-public-key",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM public key or certificate for JWT bearer logins (default: generate a key pair).",
)
@click.option(
    "--write-private-key",
    type=click.Path(dir_okay=False),
    help="Write the generated JWT private key (PEM) here.",
)
@click.option("--daily-limit", type=int, default=1_000_000, help="API calls per day.")
@click.option("--write-error-rate", type=float, default=0.0, help="Share of writes failing (0-1).")
@click.option(
    "--lock-error-rate", type=float, default=0.0, help="Share of writes hitting UNABLE_TO_LOCK_ROW."
)
@click.option("--unavailable-next", type=int, default=0, help="Answer the next N API calls with 503.")
@click.option("--retry-after", type=int, default=1, help="Retry-After seconds on 503.")
@click.option("--latency-ms", type=int, default=0, help="Added latency per API call.")
@click.option("--session-seconds", type=float, default=None, help="Access token lifetime (default: forever).")
@click.option("--seed", type=int, default=None, help="Seed for fault injection.")
def salesforce(
    *,
    host: str,
    port: int,
    org_file: str | None,
    state_path: str | None,
    jwt_public_key: str | None,
    write_private_key: str | None,
    daily_limit: int,
    write_error_rate: float,
    lock_error_rate: float,
    unavailable_next: int,
    retry_after: int,
    latency_ms: int,
    session_seconds: float | None,
    seed: int | None,
) -> None:
    """Serve a Salesforce REST API emulator (OAuth, sObjects, SOQL, collections, Bulk 2.0).

    Prints the URL (useful with --port 0) and the built-in user's test credentials.
    """
    from fieldline.adapters.salesforce.emulator.org import load_org
    from fieldline.adapters.salesforce.emulator.server import create_app
    from fieldline.adapters.salesforce.emulator.state import EmulatorSettings
    from fieldline.service.listening import listen, run_until_stopped

    if not (0.0 <= write_error_rate <= 1.0 and 0.0 <= lock_error_rate <= 1.0):
        raise click.BadParameter("error rates are between 0 and 1")
    settings = EmulatorSettings(
        jwt_public_key_pem=Path(jwt_public_key).read_text(encoding="utf-8") if jwt_public_key else None,
        daily_limit=daily_limit,
        write_error_rate=write_error_rate,
        lock_error_rate=lock_error_rate,
        unavailable_next=unavailable_next,
        retry_after=retry_after,
        latency_ms=latency_ms,
        session_seconds=session_seconds,
        seed=seed,
    )
    app = create_app(load_org(org_file), state_path=state_path, settings=settings)
    emu = app.state.emulator
    sock = listen(host, port, backlog=128)
    bound = sock.getsockname()[1]
    emu.base_url = f"http://{host}:{bound}"
    creds = emu.sessions.credentials
    if write_private_key and creds.jwt_private_key_pem:
        Path(write_private_key).write_text(creds.jwt_private_key_pem, encoding="utf-8")
    # These are the emulator's own test credentials, printed on purpose so clients can log in.
    click.echo(f"Salesforce emulator on {emu.base_url}", err=False)
    click.echo(f"  username        {creds.username}")
    click.echo(f"  password        {creds.password}  (security token {creds.security_token})")
    click.echo(f"  consumer key    {creds.consumer_key}")
    click.echo(f"  client secret   {creds.client_secret}")
    click.echo(f"  refresh token   {creds.refresh_token}")
    click.echo(f"  access token    {emu.sessions.issue()}")
    click.echo(f"  control         {emu.base_url}/_emulator/stats", nl=True)
    run_until_stopped(app, sock)
