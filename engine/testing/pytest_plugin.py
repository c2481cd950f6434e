"""The ``fieldline`` pytest plugin: fixtures for testing adapters and plugins.

Registered through the ``pytest11`` entry point, so every pytest run in an environment with
fieldline installed loads it (disable with ``-p no:fieldline``). It therefore imports nothing
at load time beyond pytest and registers no hooks: each fixture imports what it needs when a
test asks for it.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import pluggy

    from fieldline.testing.memory import MemoryTarget

__all__ = ["fieldline_plugin_manager", "free_port", "memory_target"]


@pytest.fixture
def fieldline_plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager: fieldline's built-ins and every installed plugin (yours)."""
    from fieldline.plugins.manager import get_plugin_manager

    return get_plugin_manager()


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for a server under test)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def memory_target() -> MemoryTarget:
    """An empty in-memory target that behaves as the target conformance suite requires."""
    from fieldline.testing.memory import MemoryTarget

    return MemoryTarget()
