"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package re-exports its public names without importing every module up front: importing
``fieldline.spec.model`` must not load the YAML loader, and ``fieldline --help`` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

__all__ = ["resolve"]


def resolve(package: str, exports: Mapping[str, str], name: str) -> Any:
    """The public ``name`` of ``package``, imported from the module ``exports`` names for it."""
    module = exports.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
