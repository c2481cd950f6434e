"""Specs shown in the quickstart load cleanly; the CLI reference covers every command."""

from __future__ import annotations

import re

import pytest

from fieldline.cli import COMMANDS
from fieldline.plugins.manager import get_plugin_manager
from fieldline.spec.loader import analyze_spec_text
from tests.conftest import REPO_ROOT

YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
PAGES = ["docs/quickstart.md", "README.md"]


def _spec_blocks() -> list[pytest.ParameterSet]:
    blocks = []
    for page in PAGES:
        text = (REPO_ROOT / page).read_text(encoding="utf-8")
        for number, block in enumerate(YAML_BLOCK.findall(text), start=1):
            if re.search(r"^fieldline: ", block, re.MULTILINE):
                blocks.append(pytest.param(block, id=f"{page}#{number}"))
    return blocks


def test_the_quickstart_shows_a_spec() -> None:
    assert _spec_blocks()


@pytest.mark.parametrize("block", _spec_blocks())
def test_spec_blocks_in_the_docs_load(block: str) -> None:
    result = analyze_spec_text(
        block, file="doc.yaml", plugin_manager=get_plugin_manager(load_entrypoints=False)
    )
    assert result.problems == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_reference_covers_every_command(command: str) -> None:
    assert f"`fieldline {command}" in (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
