"""Every runtime dependency in pyproject.toml is imported by the package or says why it is there."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import tomllib
from collections.abc import Iterable, Mapping

from tests.conftest import REPO_ROOT

PYPROJECT = REPO_ROOT / "pyproject.toml"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return _normalized(match.group())


def commented(requirement: str, pyproject_text: str) -> bool:
    """Whether the line declaring ``requirement`` carries a ``#`` comment."""
    return any(
        f'"{requirement}"' in line and "#" in line.split(f'"{requirement}"', 1)[1]
        for line in pyproject_text.splitlines()
    )


def imported_modules() -> set[str]:
    """Top-level names of every module imported anywhere in engine/ and adapters/."""
    found: set[str] = set()
    for folder in ("engine", "adapters"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return found


def unexplained(
    requirements: Iterable[str],
    *,
    pyproject_text: str,
    imported: set[str],
    modules_of: Mapping[str, set[str]],
) -> list[str]:
    """Requirements neither imported (through any module their distribution provides) nor
    commented in pyproject.toml."""
    return [
        requirement
        for requirement in requirements
        if not modules_of.get(requirement_name(requirement), set()) & imported
        and not commented(requirement, pyproject_text)
    ]


def installed_modules_by_distribution() -> dict[str, set[str]]:
    modules: dict[str, set[str]] = {}
    for module, distributions in importlib.metadata.packages_distributions().items():
        for distribution in distributions:
            modules.setdefault(_normalized(distribution), set()).add(module)
    return modules


def test_every_dependency_is_imported_or_commented() -> None:
    text = PYPROJECT.read_text(encoding="utf-8")
    requirements = tomllib.loads(text)["project"]["dependencies"]
    missing = unexplained(
        requirements,
        pyproject_text=text,
        imported=imported_modules(),
        modules_of=installed_modules_by_distribution(),
    )
    assert missing == [], "never imported: drop them, or comment in pyproject.toml why they are there"


def test_the_check_catches_a_declared_but_unused_dependency() -> None:
    text = '"stamina>=24.2",\n"uvloop>=0.19",  # uvicorn picks it up\n"httpx",\n'
    missing = unexplained(
        ["stamina>=24.2", "uvloop>=0.19", "httpx"],
        pyproject_text=text,
        imported={"httpx"},
        modules_of={"stamina": {"stamina"}, "uvloop": {"uvloop"}, "httpx": {"httpx"}},
    )
    assert missing == ["stamina>=24.2"]


def test_a_distribution_counts_through_the_module_name_it_provides() -> None:
    modules_of = installed_modules_by_distribution()
    assert "jwt" in modules_of["pyjwt"]
    assert "ruamel" in modules_of["ruamel-yaml"]
