"""The tree shows the architecture: packages with one job, no import cycles, a pure planner."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
ADAPTERS = ROOT / "adapters"
PACKAGES = ("expressions", "spec", "planning", "plugins", "sync", "queue", "service", "commands", "testing")

# What the pure planner may never reach, directly or through the modules it imports.
IO_MODULES = (
    "sqlite3",
    "socket",
    "http",
    "urllib",
    "httpx",
    "requests",
    "simple_salesforce",
    "subprocess",
    "ruamel",
    "starlette",
    "uvicorn",
    "fieldline.queue",
    "fieldline.service",
    "fieldline.sync",
    "fieldline.commands",
    "fieldline.spec.loader",
    "fieldline.config",
    "fieldline.adapters",
)


def module_name(path: Path) -> str:
    if path.is_relative_to(ADAPTERS):
        parts = ["fieldline", "adapters", *path.relative_to(ADAPTERS).with_suffix("").parts]
    else:
        parts = ["fieldline", *path.relative_to(ENGINE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {module_name(path): path for path in ENGINE.rglob("*.py")}
    found.update({module_name(path): path for path in ADAPTERS.rglob("*.py")})
    return found


def top_level_imports(path: Path) -> Iterator[str]:
    """Modules imported when ``path`` is imported: module level, outside ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text("utf-8"))

    def walk(nodes: list[ast.stmt]) -> Iterator[str]:
        for node in nodes:
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield node.module
                yield from (f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    yield from walk(node.body)
                    yield from walk(node.orelse)
            elif isinstance(node, ast.Try):
                yield from walk(node.body)

    yield from walk(tree.body)


def import_graph(*, with_packages: bool = False) -> dict[str, set[str]]:
    """Module -> the fieldline modules it imports at import time. ``with_packages``: also the
    packages a module's import runs first (for reachability; a package importing its own
    submodules is no cycle)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        edges = {target for target in top_level_imports(path) if target in known and target != name}
        if with_packages:
            parts = name.split(".")
            edges |= {".".join(parts[:i]) for i in range(2, len(parts))} - {name}
        graph[name] = edges
    return graph


def test_engine_top_level_is_small() -> None:
    top = sorted(path.name for path in ENGINE.glob("*.py"))
    assert len(top) <= 10, top
    for package in PACKAGES:
        assert (ENGINE / package / "__init__.py").is_file(), package


def test_no_two_engine_modules_share_a_name() -> None:
    names: dict[str, list[str]] = {}
    for path in ENGINE.rglob("*.py"):
        if path.name != "__init__.py":
            names.setdefault(path.stem, []).append(str(path.relative_to(ENGINE)))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}


def test_no_import_cycles() -> None:
    graph = import_graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_planning_does_no_io() -> None:
    graph = import_graph(with_packages=True)
    for start in sorted(name for name in graph if name.startswith("fieldline.planning")):
        reached: set[str] = set()
        todo = [start]
        while todo:
            current = todo.pop()
            if current in reached:
                continue
            reached.add(current)
            todo.extend(graph.get(current, ()))
            for imported in top_level_imports(modules()[current]) if current in graph else ():
                if any(imported == io or imported.startswith(io + ".") for io in IO_MODULES):
                    pytest.fail(f"{start} reaches {imported} (through {current}): planning must stay pure")


def code_words(path: Path) -> Iterator[tuple[int, str]]:
    """Every name and string of a module's code, docstrings left out (they may name examples)."""
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value
        elif isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr
        elif isinstance(node, ast.alias):
            yield node.lineno, node.name


def test_engine_names_no_particular_system() -> None:
    """The core knows no source or target: PassFort and Salesforce live in adapters/."""
    offenders = sorted(
        f"{path.relative_to(ROOT)}:{line}: {word!r}"
        for path in ENGINE.rglob("*.py")
        for line, word in code_words(path)
        if "passfort" in word.lower()
    )
    assert offenders == []


@pytest.mark.parametrize("package", PACKAGES)
def test_package_exports_resolve(package: str) -> None:
    module = importlib.import_module(f"fieldline.{package}")
    for name in getattr(module, "__all__", ()):
        assert getattr(module, name) is not None, f"fieldline.{package}.{name}"
