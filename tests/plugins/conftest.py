"""Fixtures that install throwaway plugins for one test."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.plugins.throwaway import write_plugin

Install = Callable[..., str]


@pytest.fixture
def plugins_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    return folder


@pytest.fixture
def install(plugins_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    """``install(name=..., distribution=..., source=...)``: a plugin importlib.metadata finds in
    this process; its module is forgotten afterwards. Environment variables are cleared."""
    monkeypatch.delenv("FIELDLINE_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("FIELDLINE_DISABLE_PLUGINS", raising=False)
    monkeypatch.syspath_prepend(str(plugins_dir))  # also invalidates importlib's caches
    modules: list[str] = []

    def install(*, name: str, distribution: str, source: str) -> str:
        module = write_plugin(plugins_dir, name=name, distribution=distribution, source=source)
        modules.append(module)
        return module

    yield install
    for module in modules:
        sys.modules.pop(module, None)
