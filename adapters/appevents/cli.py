"""``fieldline appevents keys|token|send``: development tools for an application sending app events.

``keys`` writes an RSA key pair, ``token`` signs a test JWT with the private half (what an
embedded-integration platform's JWT generator does: for development only; a production
application signs its own tokens on its server), ``send`` checks one payload against its
event's schema and shows the plan it would produce, without a server.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import click

__all__ = ["appevents", "parse_ttl", "sign_token"]

_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``1h``, ``2d`` -> seconds."""
    match = _TTL.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise click.BadParameter(f"{text!r} is not a duration such as 90s, 15m, 1h or 2d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def sign_token(
    private_key_pem: str,
    *,
    sub: str,
    ttl: float = 3600.0,
    kid: str | None = None,
    audience: str | None = None,
    issuer: str | None = None,
    now: float | None = None,
) -> str:
    """An RS256 JWT for ``sub`` valid ``ttl`` seconds from ``now`` (development and tests)."""
    import jwt

    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {"sub": sub, "iat": issued, "exp": issued + int(ttl)}
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, private_key_pem, algorithm="RS256", headers=headers)


@click.group()
def appevents() -> None:
    """Development tools for applications sending app events (see docs/app-events.md)."""


@appevents.command()
@click.option(
    "--out", "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("."), help="Folder."
)
@click.option("--name", default="app", help="File stem: NAME-private.pem and NAME-public.pem (the kid).")
def keys(folder: Path, name: str) -> None:
    """Write a new RSA key pair for signing test tokens (development only)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / f"{name}-private.pem"
    public = folder / f"{name}-public.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    private.chmod(0o600)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    click.echo(f"wrote {private} (keep it on the application's server) and {public} (give it to fieldline)")


@appevents.command()
@click.option(
    "--key", "key_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--sub", required=True, help="The app user (tenant) the token stands for.")
@click.option("--ttl", default="1h", show_default=True, help="Lifetime: 90s, 15m, 1h, 2d.")
@click.option("--kid", help="Key id for the header (needed when fieldline has several keys).")
@click.option("--aud", "audience", help="The 'aud' claim, when the spec requires one.")
@click.option("--iss", "issuer", help="The 'iss' claim, when the spec requires one.")
def token(
    *, key_file: Path, sub: str, ttl: str, kid: str | None, audience: str | None, issuer: str | None
) -> None:
    """Print a signed RS256 test token (for development only: production apps sign their own)."""
    text = key_file.read_text(encoding="utf-8")
    if "PRIVATE KEY" not in text:
        raise click.UsageError(f"{key_file} holds no private key; sign with the private half of the pair")
    try:
        signed = sign_token(text, sub=sub, ttl=parse_ttl(ttl), kid=kid, audience=audience, issuer=issuer)
    except (ValueError, TypeError) as exc:
        raise click.UsageError(f"{key_file}: cannot sign with this key: {exc}") from exc
    click.echo("for development only: a production application signs its own tokens", err=True)
    click.echo(signed)


@appevents.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("name", metavar="NAME")
@click.argument("payload_path", metavar="PAYLOAD.json", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--sub", default="local", show_default=True, help="The tenant the event would come from.")
@click.option(
    "--against-org",
    is_flag=True,
    help="Plan against the --sub tenant's org (connections file; reads only) instead of an empty one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def send(
    *, spec_path: Path, name: str, payload_path: Path, sub: str, against_org: bool, as_json: bool
) -> None:
    """Check one event locally and show the plan it would produce, without a server.

    Exit status 1 when the payload fails its schema (the errors are those a 422 answer gives)
    or a record of the plan is in error.
    """
    from rich.console import Console

    from fieldline.adapters.appevents.source import AppEventsSource
    from fieldline.commands.render import plan_table, print_json, summary_table
    from fieldline.commands.spec_loading import load_spec_or_exit
    from fieldline.contracts import AdapterKind, SourceDocument
    from fieldline.planning.plans import Action
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.sync.adapter_builder import build_adapter, build_target
    from fieldline.sync.runner import Runner

    console = Console()
    manager = get_plugin_manager()
    spec = load_spec_or_exit(spec_path, manager)
    try:
        payload = json.loads(payload_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"{payload_path}: cannot read a JSON payload: {exc}") from exc
    if spec.source is None:
        raise click.UsageError(f"{spec_path}: the spec has no source")
    # built without the tenants' connections: a local check needs none
    source = build_adapter(spec.source, AdapterKind.SOURCE, manager, spec=spec)
    try:
        if not isinstance(source, AppEventsSource):
            raise click.UsageError(f"{spec_path}: the spec's source is not appevents")
        event_type = source.options.events.get(name)
        if event_type is None:
            known = ", ".join(repr(known) for known in sorted(source.options.events))
            raise click.UsageError(f"unknown event {name!r}; {spec_path} declares {known}")
        errors = event_type.schema.errors(payload)
        if errors:
            _print_errors(console, name, errors, as_json)
            sys.exit(1)
        key = str(event_type.entity_key.search({"name": name, "id": None, "payload": payload, "sub": sub}))
        if not source.options.case_sensitive_keys:
            key = key.strip().casefold()  # as the service keys it
        document = SourceDocument(
            key=f"{sub}/{key}", data={"name": name, "id": None, "payload": payload, "sub": sub}
        )
    finally:
        source.close()
    target = build_target(spec, manager, tenant=sub) if against_org else _EmulatedOrg(spec)
    try:
        plan = Runner(spec, target, plugin_manager=manager).dry_run([document])
    finally:
        target.close()
    if as_json:
        print_json(console, {"valid": True, "plan": plan.as_json()})
    else:
        where = (
            f"tenant {sub}'s org" if against_org else "an empty org (use --against-org to read a tenant's)"
        )
        console.print(f"[green]{name}: the payload is valid[/green]; the plan against {where}:")
        console.print(plan_table(plan, title=f"plan: {spec.name}"))
        console.print(summary_table(plan.counts()))
    if plan.by_action(Action.ERROR):
        sys.exit(1)


def _print_errors(console: Any, name: str, errors: list[Any], as_json: bool) -> None:
    if as_json:
        from fieldline.commands.render import print_json

        print_json(console, {"valid": False, "failed": [{"index": 0, "name": name, "errors": errors}]})
        return
    console.print(
        f"[red]{name}: the payload is not valid ({len(errors)} errors; the service answers 422)[/red]"
    )
    for error in errors:
        console.print(f"  {error['pointer'] or '/'}  [bold]{error['keyword']}[/bold]  {error['message']}")


class _EmulatedOrg:
    """An empty org as the Salesforce emulator's standard org describes it (required fields,
    picklists), started for the dry run and stopped after it: the plan shows what a first event
    would create, without credentials or a network."""

    def __init__(self, spec: Any) -> None:
        from fieldline.adapters.salesforce.emulator import running_emulator
        from fieldline.adapters.salesforce.settings import SalesforceSettings
        from fieldline.adapters.salesforce.target import SalesforceTarget
        from fieldline.config import Secret

        self._context = running_emulator()
        handle = self._context.__enter__()
        options = dict(spec.target.options) if spec.target is not None else {}
        self._target = SalesforceTarget(
            options,
            settings=SalesforceSettings(
                emulator_url=handle.url, instance_url=handle.url, access_token=Secret(handle.token)
            ),
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def close(self) -> None:
        try:
            self._target.close()
        finally:
            self._context.__exit__(None, None, None)
