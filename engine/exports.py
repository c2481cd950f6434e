"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package re-exports its public names without importing every module up front: importing
``fieldline.spec.model`` must not load the YAML loader, and ``fieldline --help`` stays fast.
Each package lists ``module -> names`` once; ``__all__`` and ``__getattr__`` come from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["export_names", "resolve"]


def export_names(modules: Mapping[str, Sequence[str]]) -> list[str]:
    """Every public name of the package, sorted (its ``__all__``)."""
    return sorted(name for names in modules.values() for name in names)


def resolve(package: str, modules: Mapping[str, Sequence[str]], name: str) -> Any:
    """The public ``name`` of ``package``, imported from the module that defines it."""
    for module, names in modules.items():
        if name in names:
            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {package!r} has no attribute {name!r}")
