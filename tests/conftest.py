"""Shared fixtures. Integration fixtures that start emulators live next to their tests."""

from __future__ import annotations

from pathlib import Path

import pluggy
import pytest

from fieldline.plugins.manager import get_plugin_manager

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"


@pytest.fixture
def plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager with the built-ins only (independent of what is installed)."""
    return get_plugin_manager(load_entrypoints=False)


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` (reference facts and public test vectors); skipped with a reason when the
    checkout has no such sibling folder (a user's own clone). CI always has it."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"{SHARED_DIR} is absent: the public test vectors live there (CI has them)")
    return SHARED_DIR
