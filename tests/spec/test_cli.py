"""``fieldline validate`` and ``fieldline schema`` through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pluggy
import pytest
from click.testing import CliRunner

import fieldline.plugins.manager
from fieldline.cli import cli
from fieldline.spec.json_schema import mapping_schema_text
from tests.spec.fakes import fake_plugin_manager

GOOD = """\
fieldline: 1
name: good
target: {adapter: fake, options: {path: crm.json}}
records:
  - name: company
    object: Account
    match: [{field: Profile_Id__c, value: id}]
    fields:
      Name: name
      Profile_Id__c: id
"""

BAD = """\
fieldline: 1
name: bad
records:
  - name: company
    object: Account
    mode: upsrt
    fields:
      Name: "lower(name"
"""

WARNS = """\
fieldline: 1
name: warns
records:
  - name: company
    object: Account
    mode: update_only
    match: [{field: Id, value: id}]
    fields:
      Name: {value: name, strategy: on_create}
"""

AGAINST_PROBLEM = GOOD.replace("Name: name", "Nmae: name")


@pytest.fixture(autouse=True)
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands build their plugin manager through fieldline.plugins.manager; give them the fakes."""

    def factory(**_: object) -> pluggy.PluginManager:
        return fake_plugin_manager()

    monkeypatch.setattr(fieldline.plugins.manager, "get_plugin_manager", factory)


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    for name, text in {"good.yaml": GOOD, "bad.yaml": BAD, "warns.yml": WARNS}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_clean_spec_exits_0(specs: Path) -> None:
    code, out, _ = run("validate", str(specs / "good.yaml"))
    assert code == 0
    assert out == "1 file checked: no problems\n"


def test_problems_exit_1_with_position_path_message_and_hint(specs: Path) -> None:
    code, out, _ = run("validate", str(specs / "bad.yaml"), str(specs / "good.yaml"))
    assert code == 1
    bad = specs / "bad.yaml"
    assert out.splitlines() == [
        f"{bad}:6:11: error: records[0].mode: 'upsrt' is not a valid mode",
        "  hint: did you mean 'upsert'?",
        f"{bad}:8:24: error: records[0].fields.Name: expected a closing ')'",
        "2 files checked: 2 errors, 0 warnings",
    ]


def test_warnings_alone_exit_0(specs: Path) -> None:
    code, out, _ = run("validate", str(specs / "warns.yml"))
    assert code == 0
    assert f"{specs / 'warns.yml'}:9:37: warning: records[0].fields.Name.strategy: strategy on_create" in out
    assert out.endswith("1 file checked: 0 errors, 1 warning\n")


def test_json_format_lists_problems_and_a_summary(specs: Path) -> None:
    code, out, _ = run("validate", "--format", "json", str(specs / "bad.yaml"), str(specs / "warns.yml"))
    assert code == 1
    document = json.loads(out)
    assert document["summary"] == {"files": 2, "errors": 2, "warnings": 1, "valid": False}
    first = document["problems"][0]
    assert first == {
        "file": str(specs / "bad.yaml"),
        "line": 6,
        "col": 11,
        "json_path": "records[0].mode",
        "message": "'upsrt' is not a valid mode",
        "hint": "did you mean 'upsert'?",
        "code": "schema",
        "severity": "error",
    }
    assert [problem["severity"] for problem in document["problems"]] == ["error", "error", "warning"]


def test_json_format_of_a_clean_run(specs: Path) -> None:
    code, out, _ = run("validate", "--format", "json", str(specs / "good.yaml"))
    assert code == 0
    assert json.loads(out) == {
        "problems": [],
        "summary": {"files": 1, "errors": 0, "warnings": 0, "valid": True},
    }


def test_github_format_writes_workflow_annotations(specs: Path) -> None:
    code, out, _ = run("validate", "--format", "github", str(specs / "bad.yaml"), str(specs / "warns.yml"))
    assert code == 1
    bad, warns = specs / "bad.yaml", specs / "warns.yml"
    assert out.splitlines() == [
        f"::error file={bad},line=6,col=11,title=fieldline schema%3A records[0].mode::"
        "'upsrt' is not a valid mode (did you mean 'upsert'?)",
        f"::error file={bad},line=8,col=24,title=fieldline expression%3A records[0].fields.Name::"
        "expected a closing ')'",
        f"::warning file={warns},line=9,col=37,"
        "title=fieldline ineffective%3A records[0].fields.Name.strategy::"
        "strategy on_create never takes effect: mode update_only never creates the record "
        "(remove the strategy (or the field), or change the record's mode)",
    ]


def test_github_escapes_percent_and_newlines() -> None:
    from fieldline.errors import Problem
    from fieldline.spec.problems import format_github

    text = format_github([Problem("100% wrong\nreally", file="a,b:c.yaml", line=1, col=2, code="x")])
    assert text == "::error file=a%2Cb%3Ac.yaml,line=1,col=2,title=fieldline x::100%25 wrong%0Areally"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["missing.yaml"], id="missing"),
        pytest.param(["binary.yaml"], id="binary"),
        pytest.param(["empty-dir"], id="folder-without-specs"),
        pytest.param(["missing.yaml", "bad.yaml"], id="missing-wins-over-problems"),
    ],
)
def test_unusable_paths_exit_2(specs: Path, args: list[str]) -> None:
    (specs / "binary.yaml").write_bytes(b"\x89PNG\x00\x00")
    (specs / "empty-dir").mkdir()
    code, out, _ = run("validate", *[str(specs / arg) for arg in args])
    assert code == 2
    assert "error:" in out


def test_a_folder_expands_to_the_specs_inside(specs: Path) -> None:
    nested = specs / "nested"
    nested.mkdir()
    (nested / "also.json").write_text(
        json.dumps({"fieldline": 1, "name": "j", "records": []}), encoding="utf-8"
    )
    (nested / "org.yaml").write_text("objects: {Account: {}}\n", encoding="utf-8")  # not a spec: left out
    (specs / ".hidden").mkdir()
    (specs / ".hidden" / "x.yaml").write_text("fieldline: 1\n", encoding="utf-8")
    code, out, _ = run("validate", "--format", "json", str(specs))
    assert code == 1
    document = json.loads(out)
    assert document["summary"]["files"] == 4
    assert sorted({Path(problem["file"]).name for problem in document["problems"]}) == [
        "also.json",
        "bad.yaml",
        "warns.yml",
    ]


def test_usage_errors_exit_2(specs: Path) -> None:
    assert run("validate")[0] == 2
    assert run("validate", "--format", "xml", str(specs / "good.yaml"))[0] == 2


def test_against_a_target_reports_located_target_problems(specs: Path) -> None:
    path = specs / "against.yaml"
    path.write_text(AGAINST_PROBLEM, encoding="utf-8")
    code, out, _ = run("validate", "--against", "fake", str(path))
    assert code == 1
    assert out.splitlines()[:2] == [
        f"{path}:8:5: error: records[0].fields: Account requires 'Name' on create, but record 'company' does "
        "not map it",
        "  hint: map it under fields, or set mode: update_only",
    ]
    assert f"{path}:9:7: error: records[0].fields.Nmae: Account has no field 'Nmae'" in out


def test_against_a_target_that_matches_exits_0(specs: Path) -> None:
    assert run("validate", "--against", "fake", str(specs / "good.yaml"))[:2] == (
        0,
        "1 file checked: no problems\n",
    )


@pytest.mark.parametrize(
    ("target_line", "against", "message"),
    [
        pytest.param(
            "{adapter: fake, options: {path: x, fail: describe}}",
            "fake",
            "cannot check against 'fake': connection refused by 127.0.0.1:9",
            id="connection-refused",
        ),
        pytest.param(
            "{adapter: fake, options: {path: x, fail: factory}}",
            "fake",
            "cannot use target adapter 'fake': cannot log in to the fake target",
            id="login-fails",
        ),
        pytest.param(
            "{adapter: fake, options: {path: x, fail: crash}}",
            "fake",
            "target adapter 'fake' failed to start: plugin bug",
            id="plugin-crash",
        ),
        pytest.param(
            "{adapter: fake, options: {path: x}}",
            "nosuch",
            "cannot use target adapter 'nosuch'",
            id="unknown-adapter",
        ),
    ],
)
def test_against_an_unreachable_target_exits_2(
    tmp_path: Path, target_line: str, against: str, message: str
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(GOOD.replace("{adapter: fake, options: {path: crm.json}}", target_line), encoding="utf-8")
    code, out, _ = run("validate", "--against", against, str(path))
    assert code == 2
    assert message in out
    assert "Traceback" not in out


def test_against_is_skipped_for_a_spec_that_does_not_load(specs: Path) -> None:
    code, out, _ = run("validate", "--against", "fake", str(specs / "bad.yaml"))
    assert code == 1
    assert "has no field" not in out


def test_schema_prints_the_shipped_schema() -> None:
    code, out, _ = run("schema")
    assert code == 0
    assert out == mapping_schema_text()
    assert json.loads(out)["$id"].endswith("mapping.schema.json")


def test_schema_output_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "mapping.schema.json"
    code, _, err = run("schema", "--output", str(target))
    assert code == 0
    assert target.read_text(encoding="utf-8") == mapping_schema_text()
    assert f"wrote {target}" in err


def test_schema_output_to_an_unwritable_place_exits_2(tmp_path: Path) -> None:
    code, _, err = run("schema", "--output", str(tmp_path / "no" / "such" / "dir" / "x.json"))
    assert code == 2
    assert "cannot write" in err


def test_a_crash_while_checking_is_reported_not_raised(specs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fieldline.spec.loader

    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(fieldline.spec.loader, "analyze_spec_text", explode)
    code, out, _ = run("validate", str(specs / "good.yaml"))
    assert code == 2
    assert "fieldline failed while checking this file: RuntimeError('boom')" in out


def test_a_broken_plugin_installation_exits_2(specs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_: object) -> pluggy.PluginManager:
        raise ImportError("No module named 'fieldline_extra'")

    monkeypatch.setattr(fieldline.plugins.manager, "get_plugin_manager", broken)
    code, _, err = run("validate", str(specs / "good.yaml"))
    assert code == 2
    assert "cannot load the installed plugins" in err


def test_schema_with_adapters_lets_editors_check_adapter_names_and_options() -> None:
    import jsonschema

    code, out, _ = run("schema", "--with-adapters")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    document = {
        "fieldline": 1,
        "name": "n",
        "source": {"adapter": "fake", "options": {"path": 1}},
        "target": {"adapter": "nowhere"},
        "records": [{"name": "r", "object": "A", "fields": {"F": "x"}}],
    }
    errors = sorted((list(error.absolute_path), error.validator) for error in validator.iter_errors(document))
    assert errors == [(["source", "options", "path"], "type"), (["target", "adapter"], "enum")]
    document["source"] = {"adapter": "fake", "options": {"path": "in.jsonl"}}
    document["target"] = {"adapter": "sinkonly", "options": {"anything": True}}
    assert list(validator.iter_errors(document)) == []


def test_a_spec_on_standard_input() -> None:
    result = CliRunner().invoke(cli, ["validate", "-"], input=BAD)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "-:6:11: error: records[0].mode: 'upsrt' is not a valid mode"
    assert CliRunner().invoke(cli, ["validate", "-"], input=GOOD).exit_code == 0
