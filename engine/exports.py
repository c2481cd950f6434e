"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package re-exports its public names without importing every module up front: importing
``fieldline.spec.model`` must not load the YAML loader, and ``fieldline --help`` stays fast.

A package lists its public names once, as ``from module import Name as Name`` lines inside
``if TYPE_CHECKING:`` (so type checkers see them); :func:`exported` reads that block from the
package's own source, and the package's ``__getattr__`` imports a name when it is first used::

    if TYPE_CHECKING:
        from fieldline.planning.plans import Plan as Plan

    __all__ = exported(__file__)

    def __getattr__(name: str) -> Any:
        return resolve(__name__, __file__, name)
"""

from __future__ import annotations

import ast
import functools
import importlib
from typing import Any

__all__ = ["exported", "resolve"]


@functools.cache
def _table(init_file: str) -> dict[str, str]:
    """Public name -> defining module, from the ``if TYPE_CHECKING:`` imports of ``init_file``."""
    with open(init_file, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), init_file)
    table: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    table.update({alias.asname or alias.name: statement.module for alias in statement.names})
    return table


def exported(init_file: str) -> list[str]:
    """The package's public names, sorted (its ``__all__``)."""
    return sorted(_table(init_file))


def resolve(package: str, init_file: str, name: str) -> Any:
    """The public ``name`` of ``package``, imported from the module that defines it."""
    module = _table(init_file).get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
