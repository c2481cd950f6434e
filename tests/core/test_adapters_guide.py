"""docs/adapters-guide.md's walk works as written: its files, written into an empty folder and
installed, make a plugin ``fieldline plugins`` lists and whose conformance tests pass.

The files come from the guide's code blocks (a block whose first line is ``# <path>``), so the
page and this test cannot drift apart. Installing is simulated the way an installer leaves a
package: a ``*.dist-info`` with the project's entry points, on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from fieldline.testing.source_suite import TEMPLATES as SOURCE_TEMPLATES
from fieldline.testing.webhook_suite import TEMPLATES as WEBHOOK_TEMPLATES
from tests.conftest import REPO_ROOT

GUIDE = REPO_ROOT / "docs" / "adapters-guide.md"
BLOCK = re.compile(r"^```(?:python|toml)\n# (?P<path>[\w./-]+\.(?:py|toml))\n(?P<body>.*?)^```", re.M | re.S)


def guide_files() -> dict[str, str]:
    """``path -> text`` of every file the guide shows (the path line is a comment, kept)."""
    text = GUIDE.read_text(encoding="utf-8")
    return {match["path"]: f"# {match['path']}\n{match['body']}" for match in BLOCK.finditer(text)}


def install(project: Path) -> None:
    """What ``pip install`` leaves for importlib.metadata: METADATA and entry_points.txt."""
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist_info = project / f"{metadata['name'].replace('-', '_')}-{metadata['version']}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {metadata['name']}\nVersion: {metadata['version']}\n", encoding="utf-8"
    )
    groups = metadata.get("entry-points", {})
    (dist_info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items()) + "\n"
            for group, entries in groups.items()
        ),
        encoding="utf-8",
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "fieldline-widgets"
    for relative, text in guide_files().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    install(folder)
    return folder


def run(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    environment["PYTHONPATH"] = str(project)
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,  # the tests show the output when it fails
    )


def test_the_guide_shows_every_file_of_the_walk() -> None:
    assert sorted(guide_files()) == [
        "fieldline_widgets/__init__.py",
        "fieldline_widgets/plugin.py",
        "fieldline_widgets/source.py",
        "pyproject.toml",
        "tests/test_conformance.py",
    ]


def test_fieldline_plugins_lists_the_guides_plugin(project: Path) -> None:
    result = run(project, "-c", "from fieldline.cli import main; main()", "plugins", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert "fieldline_widgets.plugin" in [plugin["module"] for plugin in listing["plugins"]]
    assert {"name": "widgets", "kind": "source"}.items() <= next(
        adapter for adapter in listing["adapters"] if adapter["name"] == "widgets"
    ).items()


def test_the_guides_conformance_tests_pass(project: Path) -> None:
    result = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    expected = 1 + len(SOURCE_TEMPLATES) + len(WEBHOOK_TEMPLATES)  # the registration test + both suites
    assert re.search(rf"\b{expected} passed\b", result.stdout), result.stdout
