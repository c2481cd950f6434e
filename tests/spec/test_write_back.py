"""``write_back`` in the spec language: loaded into the model, and every misuse located."""

from __future__ import annotations

import pluggy
import pytest

from fieldline.errors import Problem
from fieldline.spec.loader import analyze_spec_text, load_spec
from fieldline.spec.model import WriteBackSpec
from tests.conftest import REPO_ROOT

SHIPPED = REPO_ROOT / "mappings" / "passfort-salesforce.yaml"

TEMPLATE = """\
fieldline: 1
name: wb
source: {source}
target: {{adapter: salesforce}}
records:
  - name: applicant
    object: Account
{extra}    match:
      - {{field: PassFort_Profile_Id__c, value: id}}
    fields:
      PassFort_Profile_Id__c: id
    write_back:
      {path}: {field}
"""
PASSFORT = "{adapter: passfort}"


def problems(
    plugin_manager: pluggy.PluginManager,
    *,
    source: str = PASSFORT,
    path: str = "collected_data.customer_ref",
    field: str = "Id",
    extra: str = "",
) -> list[Problem]:
    text = TEMPLATE.format(source=source, path=path, field=field, extra=extra)
    return analyze_spec_text(text, file="wb.yaml", plugin_manager=plugin_manager).problems


def test_the_shipped_spec_writes_the_account_id_into_customer_ref(
    plugin_manager: pluggy.PluginManager,
) -> None:
    spec = load_spec(SHIPPED, plugin_manager=plugin_manager)
    applicant = spec.record_named("applicant")
    assert applicant is not None
    [item] = applicant.write_back
    assert (item.path, item.field) == ("collected_data.customer_ref", "Id")
    assert item.location.line is not None
    assert spec.write_back_paths == frozenset({"collected_data.customer_ref"})


def test_a_valid_write_back_has_no_problem(plugin_manager: pluggy.PluginManager) -> None:
    assert problems(plugin_manager) == []
    assert problems(plugin_manager, field="PassFort_Profile_Id__c") == []


@pytest.mark.parametrize(
    ("settings", "message", "line"),
    [
        pytest.param(
            {"source": "{adapter: files, options: {path: x.jsonl}}"},
            "'files' source cannot be written back to",
            12,
            id="source-not-writable",
        ),
        pytest.param(
            {"path": "customer_ref"},
            "PassFort takes write-backs only into collected data",
            12,
            id="path-not-accepted",
        ),
        pytest.param(
            {"field": "Website"}, "'Website', which this record neither writes", 12, id="unknown-field"
        ),
        pytest.param({"extra": "    for_each: applications[]\n"}, "has for_each", 12, id="for-each"),
    ],
)
def test_misuses_are_located(
    plugin_manager: pluggy.PluginManager, settings: dict[str, str], message: str, line: int
) -> None:
    found = problems(plugin_manager, **settings)
    assert [problem.message for problem in found if message in problem.message], found
    problem = next(problem for problem in found if message in problem.message)
    assert problem.file == "wb.yaml"
    assert problem.line in (line, line + 1)
    assert problem.json_path.startswith("records[0].write_back")
    assert problem.hint


def test_a_path_that_is_not_dotted_names_is_a_schema_problem(plugin_manager: pluggy.PluginManager) -> None:
    found = problems(plugin_manager, path="'collected_data..x'")
    assert [problem.json_path for problem in found if "does not match" in problem.message] == [
        "records[0].write_back"
    ]


def test_the_model_keeps_write_back_off_other_records(plugin_manager: pluggy.PluginManager) -> None:
    spec = load_spec(SHIPPED, plugin_manager=plugin_manager)
    application = spec.record_named("application")
    assert application is not None
    assert application.write_back == ()
    assert WriteBackSpec("a.b", "Id").path == "a.b"
