"""validate warns when an upsert matches on Id alone and the source never learns the id."""

from __future__ import annotations

import pytest

from fieldline.plugins.manager import get_plugin_manager
from fieldline.spec.loader import analyze_spec_text

BASE = """fieldline: 1
name: t
source: {adapter: files, options: {path: c.jsonl}}
target: {adapter: files, options: {path: out.json}}
records:
  - name: company
    object: Account
%s    match:
      - {field: Id, value: crm_id}
    fields:
      Name: name
"""


@pytest.mark.parametrize(
    ("extra", "warned"),
    [
        pytest.param("", True, id="upsert"),
        pytest.param("    mode: create_only\n", True, id="create_only"),
        pytest.param("    mode: update_only\n", False, id="update_only never creates"),
    ],
)
def test_an_id_only_match_that_creates_is_warned(extra: str, warned: bool) -> None:
    result = analyze_spec_text(
        BASE % extra, file="s.yaml", plugin_manager=get_plugin_manager(load_entrypoints=False)
    )
    found = [problem for problem in result.problems if "only match rule is on Id" in problem.message]
    assert bool(found) is warned
    if warned:
        assert found[0].severity == "warning"
        assert (found[0].file, found[0].line) == ("s.yaml", 8 + extra.count("\n"))  # at the match key


def test_a_second_rule_on_an_external_id_silences_it() -> None:
    text = BASE.replace(
        "      - {field: Id, value: crm_id}\n",
        "      - {field: Id, value: crm_id}\n      - {field: Key__c, value: id}\n",
    )
    result = analyze_spec_text(
        text % "", file="s.yaml", plugin_manager=get_plugin_manager(load_entrypoints=False)
    )
    assert not [problem for problem in result.problems if "only match rule is on Id" in problem.message]


def test_record_defaults_give_fields_their_strategy_and_nulls() -> None:
    from fieldline.spec.loader import load_spec_text
    from fieldline.spec.model import Nulls, Strategy

    text = BASE.replace(
        "      Name: name\n",
        "      Name: name\n      Website: {value: site}\n"
        "      Industry: {value: industry, strategy: override}\n",
    )
    text = text % "    defaults: {strategy: if_empty, nulls: clear}\n"
    spec = load_spec_text(text, file="s.yaml", plugin_manager=get_plugin_manager(load_entrypoints=False))
    fields = {field.name: field for field in spec.records[0].fields}
    assert fields["Name"].strategy is fields["Website"].strategy is Strategy.IF_EMPTY
    assert fields["Industry"].strategy is Strategy.OVERRIDE  # its own setting wins
    assert {field.nulls for field in fields.values()} == {Nulls.CLEAR}


def test_an_unknown_default_is_a_located_problem() -> None:
    text = BASE % "    defaults: {strategy: sometimes}\n"
    result = analyze_spec_text(text, file="s.yaml", plugin_manager=get_plugin_manager(load_entrypoints=False))
    [problem] = [problem for problem in result.problems if "defaults" in (problem.json_path or "")]
    assert problem.line == 8
    assert "sometimes" in problem.message
