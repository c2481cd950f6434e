"""The spec reference and the validate docs: every spec example loads cleanly, every key of the
schema is documented, and the documented validate output is what validate prints."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fieldline.cli import cli
from fieldline.plugins.manager import get_plugin_manager
from fieldline.spec.json_schema import mapping_schema
from fieldline.spec.loader import analyze_spec_text
from tests.conftest import REPO_ROOT

REFERENCE = REPO_ROOT / "docs" / "spec-reference.md"
CLI_DOC = REPO_ROOT / "docs" / "cli-validate.md"
SPEC_BLOCK = re.compile(r"<!-- spec -->\n```(?:yaml|json)\n(.*?)```", re.DOTALL)


def spec_examples() -> list[str]:
    return SPEC_BLOCK.findall(REFERENCE.read_text(encoding="utf-8"))


def test_the_reference_has_spec_examples() -> None:
    assert len(spec_examples()) >= 10


def example_id(text: str) -> str:
    found = re.search(r"""^\s*"?name"?: "?([\w-]+)""", text, re.MULTILINE)
    return found.group(1) if found else "example"


@pytest.mark.parametrize("example", spec_examples(), ids=example_id)
def test_every_spec_example_loads_without_any_problem(example: str) -> None:
    result = analyze_spec_text(
        example, file="example.yaml", plugin_manager=get_plugin_manager(load_entrypoints=False)
    )
    assert result.problems == []
    assert result.spec is not None


def schema_keys(schema: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for definition in [schema, *schema.get("$defs", {}).values()]:
        for key, sub_schema in definition.get("properties", {}).items():
            yield key, sub_schema
            yield from sub_schema.get("else", {}).get("properties", {}).items()


def test_every_schema_key_has_a_title_and_description_and_is_documented() -> None:
    reference = REFERENCE.read_text(encoding="utf-8")
    keys = list(schema_keys(mapping_schema()))
    assert len(keys) > 20
    for key, sub_schema in keys:
        assert sub_schema.get("title"), key
        assert sub_schema.get("description"), key
        assert f"`{key}`" in reference, f"{key} is not documented in {REFERENCE.name}"


def test_every_enum_value_is_documented() -> None:
    reference = REFERENCE.read_text(encoding="utf-8")
    for key, sub_schema in schema_keys(mapping_schema()):
        for value in sub_schema.get("enum", []):
            assert f"`{value}`" in reference, f"{key}: {value} is not documented"


def documented_run() -> tuple[str, str, str]:
    """The example spec, command line and output shown in docs/cli-validate.md."""
    text = CLI_DOC.read_text(encoding="utf-8")
    spec = re.search(r"<!-- example-spec -->\n```yaml\n(.*?)```", text, re.DOTALL)
    run = re.search(r"<!-- example-run -->\n```console\n\$ (.*?)\n(.*?)```", text, re.DOTALL)
    assert spec is not None
    assert run is not None
    return spec.group(1), run.group(1), run.group(2)


@pytest.mark.parametrize("output_format", ["text", "json", "github"])
def test_the_documented_validate_output_is_real(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output_format: str
) -> None:
    spec, command, output = documented_run()
    monkeypatch.chdir(tmp_path)
    Path("mappings").mkdir()
    Path("mappings/crm.yaml").write_text(spec, encoding="utf-8")
    args = command.split()[1:]
    assert args[:1] == ["validate"]
    if output_format == "text":
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1
        assert result.stdout == output
        return
    documented = re.search(
        rf"<!-- example-{output_format} -->\n```(?:json|text)\n(.*?)```",
        CLI_DOC.read_text(encoding="utf-8"),
        re.DOTALL,
    )
    assert documented is not None
    result = CliRunner().invoke(cli, [*args, "--format", output_format])
    assert result.exit_code == 1
    if output_format == "json":
        assert result.stdout.startswith(documented.group(1).rstrip().removesuffix("...").rstrip())
    else:
        assert result.stdout == documented.group(1)


def test_the_shipped_mappings_validate_cleanly() -> None:
    result = CliRunner().invoke(cli, ["validate", "--format", "json", str(REPO_ROOT / "mappings")])
    assert result.exit_code == 0, result.stdout
    summary = json.loads(result.stdout)["summary"]
    assert summary["files"] >= 1
    assert summary["errors"] == 0
