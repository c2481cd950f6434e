"""Conformance suites and in-memory doubles for plugin authors (also a pytest plugin).

Each suite is small test templates assembled by a factory into a pytest class:
:func:`get_target_test_class`, :func:`get_source_test_class`,
:func:`get_webhook_source_test_class`, :func:`get_queue_test_class`. Installing
``fieldline[testing]`` registers :mod:`fieldline.testing.pytest_plugin` (fixtures
``fieldline_plugin_manager``, ``free_port``, ``memory_target``). Names load on first use, so
the plugin costs a test run nothing it does not ask for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import resolve

if TYPE_CHECKING:
    from fieldline.testing.memory import MemorySource, MemoryTarget
    from fieldline.testing.queue_suite import get_queue_state_machine, get_queue_test_class
    from fieldline.testing.server import serve_in_thread
    from fieldline.testing.source_suite import get_source_test_class
    from fieldline.testing.target_suite import get_target_test_class
    from fieldline.testing.webhook_suite import WebhookRequest, get_webhook_source_test_class

_MODULES = {
    "fieldline.testing.memory": ("MemorySource", "MemoryTarget"),
    "fieldline.testing.queue_suite": ("get_queue_state_machine", "get_queue_test_class"),
    "fieldline.testing.server": ("serve_in_thread",),
    "fieldline.testing.source_suite": ("get_source_test_class",),
    "fieldline.testing.target_suite": ("get_target_test_class",),
    "fieldline.testing.webhook_suite": ("WebhookRequest", "get_webhook_source_test_class"),
}
# Spelled out, not export_names(_MODULES): mypy --strict in plugin authors' code reads a literal
# __all__ as the explicit re-exports (tests/testing/test_package.py checks the two agree).
__all__ = [
    "MemorySource",
    "MemoryTarget",
    "WebhookRequest",
    "get_queue_state_machine",
    "get_queue_test_class",
    "get_source_test_class",
    "get_target_test_class",
    "get_webhook_source_test_class",
    "serve_in_thread",
]


def __getattr__(name: str) -> Any:
    return resolve(__name__, _MODULES, name)
