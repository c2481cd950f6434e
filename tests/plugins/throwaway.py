"""Throwaway third-party plugins: a module plus a ``*.dist-info`` with ``entry_points.txt`` in a
folder that goes on ``sys.path`` (or ``PYTHONPATH``), so ``importlib.metadata`` discovers them
the way it discovers an installed distribution."""

from __future__ import annotations

from pathlib import Path

MISSING_IMPORT = "import fieldline_no_such_dependency  # noqa: F401\n"

RAISING_HOOKS = """
from fieldline import hookimpl


@hookimpl
def register_adapters():
    raise RuntimeError("the widget API key is not set")


@hookimpl
def register_commands(cli):
    raise RuntimeError("no widget commands today")
"""

WORKING = """
from fieldline import hookimpl
from fieldline.expressions.compiled import JmespathFunction


@hookimpl
def register_functions():
    return [JmespathFunction("shout", lambda s: s.upper() + "!", (("string",),))]
"""


def write_plugin(root: Path, *, name: str, distribution: str, source: str) -> str:
    """Write ``distribution`` 0.1 declaring entry point ``name`` in the ``fieldline`` group;
    returns the plugin's module name."""
    module = distribution.replace("-", "_")
    (root / f"{module}.py").write_text(source, encoding="utf-8")
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[fieldline]\n{name} = {module}\n", encoding="utf-8")
    return module
