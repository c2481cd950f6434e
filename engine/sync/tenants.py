"""Tenants: one target connection per user of the source (an app event's JWT ``sub``).

A spec's ``connections`` names a file or a folder outside the spec. A file holds every tenant::

    tenants:
      user-1:
        salesforce:                       # the target adapter's own settings
          login_url: https://acme.my.salesforce.com
          auth: refresh_token
          client_id: 3MVG9...
          refresh_token: {env: USER1_SF_REFRESH_TOKEN}

A folder holds one ``<tenant>.yaml`` per tenant with the ``salesforce:`` table alone. Secret
settings (a name with ``password``, ``secret``, ``token`` or ``private_key`` in it) are given
by reference only: ``{env: NAME}`` or ``{file: PATH}`` (relative to the connections file).
An inline secret is refused when the file is loaded; a reference is resolved when the tenant's
target is built, so one tenant's missing variable pauses that tenant's events only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldline.config import Secret
from fieldline.errors import ConfigError

__all__ = ["Connections", "TenantConnection", "load_connections", "secret_setting"]

TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@|+-]{0,254}$")
_SECRET_WORDS = ("password", "secret", "token", "private_key")
_REFERENCE_HINT = "give secrets as {env: VARIABLE} or {file: PATH}, never inline"


def secret_setting(name: str) -> bool:
    """Whether a setting called ``name`` holds a secret (only references are accepted)."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


@dataclass(frozen=True, slots=True)
class TenantConnection:
    """One tenant's settings for the target adapter ``adapter``; secrets still as references."""

    tenant: str
    adapter: str
    raw: Mapping[str, Any]
    where: str  # file (and tenant) the settings come from, for messages
    base: Path = field(default_factory=Path.cwd)  # folder that relative {file:} references start from

    def settings(self, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The settings with every reference resolved (secrets as :class:`Secret`); a
        :class:`ConfigError` naming the tenant and the setting when one cannot be."""
        env = os.environ if environ is None else environ
        resolved: dict[str, Any] = {}
        for key, value in self.raw.items():
            if isinstance(value, Mapping):
                resolved[key] = self._reference(key, value, env)
            else:
                resolved[key] = value
        return resolved

    def described(self) -> dict[str, Any]:
        """The settings for display: references shown as such, never a secret's value."""
        shown: dict[str, Any] = {}
        for key, value in self.raw.items():
            if isinstance(value, Mapping):
                kind, target = next(iter(value.items()))
                shown[key] = f"<{kind}:{target}>"
            else:
                shown[key] = value
        return shown

    def _reference(self, key: str, value: Mapping[str, Any], env: Mapping[str, str]) -> Any:
        where = f"{self.where}: {self.adapter}.{key}"
        if "env" in value:
            name = str(value["env"])
            text = env.get(name)
            if not text:
                raise ConfigError(
                    f"{where}: the environment variable {name} is not set",
                    hint=f"set {name} for the service (tenant {self.tenant!r})",
                )
        else:
            path = Path(str(value["file"])).expanduser()
            path = path if path.is_absolute() else self.base / path
            try:
                text = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{where}: cannot read {str(path)!r}: {exc.strerror}",
                    hint=f"check the file holding tenant {self.tenant!r}'s {key}",
                ) from exc
        return Secret(text) if secret_setting(key) else text


@dataclass(frozen=True, slots=True)
class Connections:
    """Every tenant's connection, loaded from one file or folder."""

    path: Path
    tenants: Mapping[str, TenantConnection]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.tenants)

    def get(self, tenant: str) -> TenantConnection | None:
        return self.tenants.get(tenant)

    def __iter__(self) -> Iterator[TenantConnection]:
        return iter(self.tenants[name] for name in sorted(self.tenants))


def load_connections(path: str | Path, *, adapter: str) -> Connections:
    """The connections at ``path`` (a file, or a folder of ``<tenant>.yaml``) for the target
    ``adapter``; every problem of the file(s) in one :class:`ConfigError`."""
    where = Path(path).expanduser()
    problems: list[str] = []
    tenants: dict[str, TenantConnection] = {}
    if where.is_dir():
        for file in sorted([*where.glob("*.yaml"), *where.glob("*.yml")]):
            document = _read(file, problems)
            if document is not None:
                _tenant(file.stem, document, file, adapter, tenants, problems)
    elif where.is_file():
        document = _read(where, problems)
        if document is not None:
            entries = document.get("tenants") if isinstance(document, Mapping) else None
            if not isinstance(entries, Mapping):
                problems.append(f"{where}: expected `tenants:`, a mapping of tenant name -> settings")
            else:
                for tenant, settings in entries.items():
                    _tenant(str(tenant), settings, where, adapter, tenants, problems)
    else:
        raise ConfigError(
            f"the connections file {str(where)!r} does not exist",
            hint="create it (see docs/app-events.md) or fix `connections:` in the spec",
        )
    if problems:
        raise ConfigError(
            "the tenant connections are not valid:\n  " + "\n  ".join(problems), hint=_REFERENCE_HINT
        )
    return Connections(path=where, tenants=tenants)


def _read(file: Path, problems: list[str]) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe").load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(f"{file}: cannot read it: {exc.strerror}")
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problems.append(f"{file}{place}: not valid YAML: {getattr(exc, 'problem', None) or exc}")
    return None


def _tenant(  # noqa: PLR0917 - one call site, each argument named there
    tenant: str,
    document: Any,
    file: Path,
    adapter: str,
    tenants: dict[str, TenantConnection],
    problems: list[str],
) -> None:
    where = f"{file}: tenant {tenant!r}"
    if not TENANT_PATTERN.match(tenant):
        problems.append(f"{where}: a tenant name is 1-255 letters, digits and _.:@|+- (the JWT sub)")
        return
    if tenant in tenants:
        problems.append(f"{where}: given twice")
        return
    table = document.get(adapter) if isinstance(document, Mapping) else None
    if not isinstance(table, Mapping):
        problems.append(f"{where}: expected `{adapter}:`, the {adapter} settings of this tenant")
        return
    before = len(problems)
    for key, value in table.items():
        if isinstance(value, Mapping):
            if len(value) != 1 or next(iter(value)) not in ("env", "file"):
                problems.append(f"{where}: {adapter}.{key}: a reference is {{env: NAME}} or {{file: PATH}}")
        elif secret_setting(str(key)) and value not in (None, ""):
            problems.append(f"{where}: {adapter}.{key} is a secret given inline")
    if len(problems) == before:
        tenants[tenant] = TenantConnection(
            tenant=tenant,
            adapter=adapter,
            raw={str(key).lower(): value for key, value in table.items()},
            where=where,
            base=file.parent,
        )
