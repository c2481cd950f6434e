"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package re-exports its public names without importing every module up front: importing
``fieldline.spec.model`` must not load the YAML loader, and ``fieldline --help`` stays fast.

The package's stub, ``__init__.pyi``, is the one list of what it exports: a
``from fieldline.pkg.module import *`` line per public module (type checkers read it, and take
each module's ``__all__``), or ``from fieldline.pkg.module import Name as Name`` for a few names
of a module. The ``__init__.py`` reads the same lines::

    __getattr__, __dir__ = lazy_package(__name__, __file__)

and imports a module the first time one of its names is used. Even ``__all__`` is worked out
(by reading the modules' sources) only when it is asked for: importing ``fieldline.planning.plans``
imports the package first, and that must cost nothing.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["lazy_package"]


def _module_names(module: str) -> list[str]:
    """``module.__all__``, read from its source without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"no module named {module!r}")
    tree = ast.parse(Path(spec.origin).read_text("utf-8"), spec.origin)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return [str(item) for item in ast.literal_eval(node.value)]
    raise ImportError(f"{module} has no literal __all__ to re-export")


@functools.cache
def _table(init_file: str) -> dict[str, str]:
    """Public name -> defining module, from the star imports of the package's stub."""
    stub = Path(init_file).with_suffix(".pyi")
    tree = ast.parse(stub.read_text("utf-8"), str(stub))
    table: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        names = [alias.asname or alias.name for alias in node.names]
        for name in _module_names(node.module) if names == ["*"] else names:
            table.setdefault(name, node.module)
    return table


def lazy_package(package: str, init_file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The package's module-level ``__getattr__`` (which answers ``__all__`` too) and ``__dir__``."""

    def getattr_(name: str) -> Any:
        if name == "__all__":
            return sorted(_table(init_file))
        if name.startswith("__"):  # e.g. __path__ probes: not an export, and no sources to read
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = _table(init_file).get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def dir_() -> list[str]:
        return sorted(_table(init_file))

    return getattr_, dir_
