"""The hooks fieldline plugins implement.

``hookspec`` and ``hookimpl`` are defined together here; ``hookimpl`` is re-exported from
``fieldline``. Plugins are found through the ``fieldline`` entry-point group, the same group the
built-ins use. Every hook below is documented in ``docs/plugins.md`` (a test checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from fieldline.cli import LazyCommand, LazyGroup
    from fieldline.contracts import AdapterInfo
    from fieldline.expressions.compiled import JmespathFunction

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "fieldline"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_adapters() -> Sequence[AdapterInfo]:
    """Contribute source and target adapters.

    Return a sequence of :class:`fieldline.contracts.AdapterInfo` (name, kind, factory, the JSON
    Schema of the adapter's spec ``options``). All results are collected; two plugins registering
    the same name and kind is an error reported by ``fieldline plugins`` and ``validate``.
    """


@hookspec
def register_functions() -> Sequence[JmespathFunction]:
    """Contribute extra JMESPath functions usable in every spec expression.

    Return a sequence of :class:`fieldline.expressions.compiled.JmespathFunction`. Name them like the
    JEP-14 proposals where one exists (``lower``, ``split``, ...). All results are collected;
    a later plugin may not silently replace an existing name.
    """


@hookspec
def register_normalizers() -> Mapping[str, Callable[[Any], Any]]:
    """Contribute match normalizers (``root_domain``, ``email``, ``lower``, ...).

    Return a mapping of name to a function of one value. A normalizer is applied to both the
    source value and the target field before comparing; it returns ``None`` for a value that
    cannot be a key (so it never matches). All results are collected.
    """


@hookspec
def register_commands(cli: LazyGroup) -> None:
    """Add commands to the ``fieldline`` command line.

    ``cli`` is the root :class:`click.Group` (a :class:`fieldline.cli.LazyGroup`); call
    ``cli.add_command(command)``, or ``cli.add_lazy_command(name, LazyCommand("module:attr",
    help))`` so the command's module is imported only when it runs and ``fieldline --help``
    stays fast. Returns nothing.
    """


@hookspec
def register_emulators() -> Mapping[str, LazyCommand]:
    """Contribute local emulators of a source or target API, run as ``fieldline emulator <name>``.

    Return a mapping of name to :class:`fieldline.cli.LazyCommand` (``"module:attribute"`` of a
    click command, one-line help); the module is imported only when the emulator runs. All
    results are collected; two plugins registering one name is an error.
    """


@hookspec
def register_storage_backends() -> Mapping[str, Callable[[str], Any]]:
    """Contribute storage backends (job queue, run log and sync state together) for
    ``fieldline serve``, ``worker``, ``status``, ``logs`` and ``replay``.

    Return a mapping of URL scheme (``sqlite``, ``postgresql``) to a factory that takes the
    ``--db`` URL and returns a :class:`fieldline.queue.Storage`. All results are collected.
    """
