"""The package list in pyproject.toml and the public surface stay complete."""

from __future__ import annotations

import tomllib
import types

import fieldline
from tests.conftest import REPO_ROOT


def _declared_packages() -> set[str]:
    document = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(document["tool"]["setuptools"]["packages"])


def _package_dirs() -> set[str]:
    found = set()
    for folder, import_name in (("engine", "fieldline"), ("adapters", "fieldline.adapters")):
        root = REPO_ROOT / folder
        for init in root.rglob("__init__.py"):
            relative = init.parent.relative_to(root).parts
            found.add(".".join((import_name, *relative)))
    return found


def test_every_package_folder_is_declared() -> None:
    missing = _package_dirs() - _declared_packages()
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_every_declared_package_exists() -> None:
    stale = _declared_packages() - _package_dirs()
    assert not stale, f"declared in pyproject.toml but absent: {sorted(stale)}"


def test_public_surface_is_explicit() -> None:
    public = {
        name
        for name, value in vars(fieldline).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(fieldline.__all__) - {"__version__"}
    for name in fieldline.__all__:
        assert hasattr(fieldline, name)
