"""Loading valid specs: every language feature lands in the typed spec objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pluggy
import pytest

from fieldline.errors import SpecError
from fieldline.spec.loader import check_spec_file, load_spec, load_spec_text
from fieldline.spec.model import Mode, Nulls, OnMany, Spec, Strategy, Unmapped
from fieldline.values import MISSING
from tests.spec.fakes import fake_plugin_manager

FULL = """\
# yaml-language-server: $schema=../engine/schema/mapping.schema.json
fieldline: 1
name: passfort-salesforce
source: {adapter: fake, options: {path: profiles.jsonl}}
target: {adapter: fake, options: {path: crm.json, batch_size: 100}}
records:
  - name: applicant
    object: Account
    mode: update_only
    when: "role == 'COMPANY_CUSTOMER'"
    match:
      - {field: Id, value: customer_ref}
      - {field: PassFort_Profile_Id__c, value: id, normalize: [trim, lower]}
    on_many: first
    fields:
      PassFort_Profile_Id__c: id
      Name: {value: display_name, strategy: if_empty}
      Type: {const: Customer}
      Status__c: {value: status, map: {APPLIED: Applied}, unmapped: error}
      Website: {value: url, default: "n/a", nulls: clear}
  - name: application
    object: PassFort_Application__c
    mode: create_only
    when: "role == 'COMPANY_CUSTOMER'"
    for_each: applications[]
    match: [{field: Application_ID__c, value: id, normalize: trim}]
    fields:
      Application_ID__c: id
      Applicant__c: {ref: applicant}
      Customer_Ref__c: root().customer_ref
      Created__c: {value: created_at, strategy: on_create}
"""


@pytest.fixture
def manager() -> pluggy.PluginManager:
    return fake_plugin_manager()


def load(text: str, manager: pluggy.PluginManager) -> Spec:
    return load_spec_text(text, file="spec.yaml", plugin_manager=manager)


def test_every_feature_of_the_full_example(manager: pluggy.PluginManager) -> None:
    spec = load(FULL, manager)
    assert spec.name == "passfort-salesforce"
    assert spec.version == 1
    assert spec.file == "spec.yaml"
    assert spec.source is not None
    assert spec.target is not None
    assert (spec.source.adapter, dict(spec.source.options)) == ("fake", {"path": "profiles.jsonl"})
    assert dict(spec.target.options) == {"path": "crm.json", "batch_size": 100}
    applicant, application = spec.records
    assert (applicant.name, applicant.object, applicant.mode) == ("applicant", "Account", Mode.UPDATE_ONLY)
    assert applicant.on_many is OnMany.FIRST
    assert applicant.when is not None
    assert applicant.when.search({"role": "COMPANY_CUSTOMER"}) is True
    assert applicant.for_each is None
    assert [(rule.field, rule.value.text, rule.normalize) for rule in applicant.match] == [
        ("Id", "customer_ref", ()),
        ("PassFort_Profile_Id__c", "id", ("trim", "lower")),
    ]
    assert [spec_field.name for spec_field in applicant.fields] == [
        "PassFort_Profile_Id__c",
        "Name",
        "Type",
        "Status__c",
        "Website",
    ]
    profile_id = applicant.field_named("PassFort_Profile_Id__c")
    assert profile_id is not None
    assert profile_id.value is not None
    assert profile_id.value.text == "id"
    assert profile_id.const is MISSING
    assert profile_id.ref is None
    assert profile_id.strategy is Strategy.OVERRIDE
    name = applicant.field_named("Name")
    assert name is not None
    assert name.strategy is Strategy.IF_EMPTY
    kind = applicant.field_named("Type")
    assert kind is not None
    assert kind.const == "Customer"
    assert kind.value is None
    status = applicant.field_named("Status__c")
    assert status is not None
    assert status.map == {"APPLIED": "Applied"}
    assert status.unmapped is Unmapped.ERROR
    website = applicant.field_named("Website")
    assert website is not None
    assert website.default == "n/a"
    assert website.nulls is Nulls.CLEAR
    assert application.mode is Mode.CREATE_ONLY
    assert application.on_many is OnMany.ERROR
    assert application.for_each is not None
    assert application.for_each.text == "applications[]"
    assert application.match[0].normalize == ("trim",)
    applicant_ref = application.field_named("Applicant__c")
    assert applicant_ref is not None
    assert applicant_ref.ref == "applicant"
    assert applicant_ref.source_text == "ref applicant"
    created = application.field_named("Created__c")
    assert created is not None
    assert created.strategy is Strategy.ON_CREATE


def test_locations_point_at_records_fields_and_rules(manager: pluggy.PluginManager) -> None:
    spec = load(FULL, manager)
    applicant = spec.records[0]
    assert (applicant.location.line, applicant.location.col, applicant.location.json_path) == (
        7,
        5,
        "records[0]",
    )
    name = applicant.field_named("Name")
    assert name is not None
    assert str(name.location) == "spec.yaml:17:7: records[0].fields.Name"
    assert str(applicant.match[1].location) == "spec.yaml:13:9: records[0].match[1]"
    assert spec.source is not None
    assert str(spec.source.location) == "spec.yaml:4:9: source"


def test_defaults_when_options_are_left_out(manager: pluggy.PluginManager) -> None:
    spec = load(
        "fieldline: 1\nname: n\nrecords:\n  - {name: r, object: Account, fields: {Name: name}}\n", manager
    )
    (record,) = spec.records
    assert (record.mode, record.on_many, record.match, record.when, record.for_each) == (
        Mode.UPSERT,
        OnMany.ERROR,
        (),
        None,
        None,
    )
    (only,) = record.fields
    assert (only.strategy, only.nulls, only.unmapped, only.map, only.default) == (
        Strategy.OVERRIDE,
        Nulls.SKIP,
        Unmapped.ERROR,
        None,
        MISSING,
    )
    assert spec.source is None
    assert spec.target is None


@pytest.mark.parametrize(
    ("const_yaml", "expected"),
    [
        pytest.param("null", None, id="null"),
        pytest.param("0", 0, id="zero"),
        pytest.param("false", False, id="false"),
        pytest.param('""', "", id="empty-string"),
        pytest.param("[a, 1]", ["a", 1], id="list"),
        pytest.param("{a: {b: 2.5}}", {"a": {"b": 2.5}}, id="mapping"),
        pytest.param("2024-01-31", "2024-01-31", id="yaml-date-stays-text"),
        pytest.param("NO", "NO", id="yaml-1.2-no-is-a-string"),
        pytest.param("on", "on", id="yaml-1.2-on-is-a-string"),
    ],
)
def test_const_keeps_any_json_value(manager: pluggy.PluginManager, const_yaml: str, expected: Any) -> None:
    spec = load(
        "fieldline: 1\nname: n\nrecords:\n  - name: r\n    object: A\n    fields:\n"
        f"      F: {{const: {const_yaml}}}\n",
        manager,
    )
    field = spec.records[0].fields[0]
    assert field.const == expected
    assert type(field.const) is type(expected)
    assert field.value is None
    assert field.ref is None


def test_map_keys_are_strings_and_non_string_keys_become_json_text(manager: pluggy.PluginManager) -> None:
    spec = load(
        "fieldline: 1\nname: n\nrecords:\n  - name: r\n    object: A\n    fields:\n"
        "      F: {value: v, map: {true: Yes, 2: Two, null: None, 1.5: Half, APPLIED: Applied}}\n",
        manager,
    )
    assert spec.records[0].fields[0].map == {
        "true": "Yes",
        "2": "Two",
        "null": "None",
        "1.5": "Half",
        "APPLIED": "Applied",
    }


@pytest.mark.parametrize(
    ("unmapped_yaml", "mode", "value"),
    [
        pytest.param("error", Unmapped.ERROR, MISSING, id="error"),
        pytest.param("keep", Unmapped.KEEP, MISSING, id="keep"),
        pytest.param("skip", Unmapped.SKIP, MISSING, id="skip"),
        pytest.param("{const: Other}", Unmapped.DEFAULT, "Other", id="const"),
        pytest.param("{const: null}", Unmapped.DEFAULT, None, id="const-null"),
    ],
)
def test_unmapped_forms(
    manager: pluggy.PluginManager, unmapped_yaml: str, mode: Unmapped, value: Any
) -> None:
    spec = load(
        "fieldline: 1\nname: n\nrecords:\n  - name: r\n    object: A\n    fields:\n"
        f"      F: {{value: v, map: {{a: b}}, unmapped: {unmapped_yaml}}}\n",
        manager,
    )
    field = spec.records[0].fields[0]
    assert field.unmapped is mode
    assert field.unmapped_value == value
    assert value is not MISSING or field.unmapped_value is MISSING


def test_several_fields_may_read_the_same_source_value(manager: pluggy.PluginManager) -> None:
    spec = load(
        "fieldline: 1\nname: n\nrecords:\n  - name: r\n    object: A\n    fields:\n"
        "      Website: domain\n      Domain__c: domain\n"
        "      Alias__c: {value: domain, strategy: if_empty}\n",
        manager,
    )
    assert [field.source_text for field in spec.records[0].fields] == ["domain", "domain", "domain"]


def test_root_reaches_the_document_inside_for_each(manager: pluggy.PluginManager) -> None:
    from fieldline.expressions.compiled import document_scope

    spec = load(FULL, manager)
    customer_ref = spec.records[1].field_named("Customer_Ref__c")
    assert customer_ref is not None
    assert customer_ref.value is not None
    document = {"customer_ref": "C-1", "applications": [{"id": "a"}]}
    with document_scope(document):
        assert customer_ref.value.search(document["applications"][0]) == "C-1"


def test_json_spec_loads_like_the_same_yaml(manager: pluggy.PluginManager, tmp_path: Path) -> None:
    from_yaml = load(FULL, manager)
    document = {
        "fieldline": 1,
        "name": "passfort-salesforce",
        "records": [
            {
                "name": "applicant",
                "object": "Account",
                "match": [{"field": "Id", "value": "customer_ref"}],
                "fields": {
                    "Name": {"value": "display_name", "strategy": "if_empty"},
                    "Type": {"const": None},
                },
            }
        ],
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(document, indent="\t"), encoding="utf-8")
    from_json = load_spec(path, plugin_manager=manager)
    assert from_json.file == str(path)
    record = from_json.records[0]
    assert record.match[0].value.text == from_yaml.records[0].match[0].value.text
    name = record.field_named("Name")
    assert name is not None
    assert name.strategy is Strategy.IF_EMPTY
    kind = record.field_named("Type")
    assert kind is not None
    assert kind.const is None
    assert (name.location.line, name.location.col) == (15, 5)  # positions survive JSON too


def test_a_byte_order_mark_is_accepted(manager: pluggy.PluginManager, tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + FULL.encode())
    assert load_spec(path, plugin_manager=manager).name == "passfort-salesforce"


def test_warnings_do_not_stop_loading(manager: pluggy.PluginManager, tmp_path: Path) -> None:
    text = (
        "fieldline: 1\nname: n\nrecords:\n  - name: r\n    object: A\n    mode: update_only\n"
        "    match: [{field: Id, value: id}]\n    fields:\n      F: {value: v, strategy: on_create}\n"
    )
    spec = load(text, manager)
    assert spec.records[0].fields[0].strategy is Strategy.ON_CREATE
    path = tmp_path / "warn.yaml"
    path.write_text(text, encoding="utf-8")
    (warning,) = check_spec_file(path, plugin_manager=manager)
    assert (warning.severity, warning.line, warning.col) == ("warning", 9, 31)


def test_a_clean_spec_has_no_problems(manager: pluggy.PluginManager, tmp_path: Path) -> None:
    path = tmp_path / "clean.yaml"
    path.write_text(FULL, encoding="utf-8")
    assert check_spec_file(path, plugin_manager=manager) == []


def test_the_default_plugin_manager_is_built_when_none_is_given() -> None:
    spec = load_spec_text(
        "fieldline: 1\nname: n\nrecords:\n  - {name: r, object: A, fields: {F: lower(v)}}\n"
    )
    assert spec.records[0].fields[0].source_text == "lower(v)"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "no such file", id="missing"),
        pytest.param(b"fieldline: 1\x00\x01", "is a binary file, not a spec", id="binary"),
        pytest.param(b"name: caf\xe9\n", "is not UTF-8 text (byte 9 cannot be decoded)", id="latin-1"),
    ],
)
def test_unreadable_files_are_one_located_problem(
    manager: pluggy.PluginManager, tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "spec.yaml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SpecError) as caught:
        load_spec(path, plugin_manager=manager)
    (problem,) = caught.value.problems
    assert (problem.file, problem.message, problem.code) == (str(path), message, "io")
    assert check_spec_file(path, plugin_manager=manager) == [problem]


def test_a_directory_is_not_a_spec_file(manager: pluggy.PluginManager, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path, plugin_manager=manager)


def test_spec_error_message_names_the_file_and_lists_every_problem(manager: pluggy.PluginManager) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text(
            "fieldline: 1\nname: n\nrecords: []\nextra: 1\n", file="x.yaml", plugin_manager=manager
        )
    assert caught.value.message == "x.yaml: invalid mapping spec (2 problems)"
    assert str(caught.value).splitlines() == [
        "x.yaml:3:10: records: must not be empty (records: add at least one record)",
        "x.yaml:4:1: extra: unknown key 'extra' "
        "(allowed keys here: $schema, fieldline, name, source, target, connections, lookups, records)",
    ]


def test_aliases_that_expand_exponentially_are_refused(manager: pluggy.PluginManager) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    with pytest.raises(SpecError) as caught:
        load("\n".join(lines) + "\n", manager)
    (problem,) = caught.value.problems
    assert problem.message == "the spec expands to more than 50,000 values"
    assert (problem.line, problem.col, problem.code) == (1, 1, "too-large")


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        pytest.param(
            '{"fieldline": 1,}',
            1,
            17,
            "invalid JSON: Expecting property name enclosed in double quotes",
            id="trailing-comma",
        ),
        pytest.param(
            "{'fieldline': 1}",
            1,
            2,
            "invalid JSON: Expecting property name enclosed in double quotes",
            id="single-quotes",
        ),
        pytest.param('{\n  "fieldline": tru\n}', 2, 16, "invalid JSON: Expecting value", id="bare-word"),
    ],
)
def test_a_json_spec_must_be_strict_json(
    manager: pluggy.PluginManager, text: str, line: int, col: int, message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, file="spec.json", plugin_manager=manager)
    (problem,) = caught.value.problems
    assert (problem.line, problem.col, problem.message, problem.code) == (line, col, message, "json")


def test_valid_json_the_yaml_reader_refuses_still_loads(manager: pluggy.PluginManager) -> None:
    long_name = "F" * 1100  # YAML limits implicit keys to 1024 characters; JSON does not
    document = {
        "fieldline": 1,
        "name": "n",
        "records": [{"name": "r", "object": "A", "fields": {long_name: "x"}}],
    }
    spec = load_spec_text(json.dumps(document), file="spec.json", plugin_manager=manager)
    assert spec.records[0].fields[0].name == long_name
    document["records"][0]["fields"] = {long_name: "a ||"}  # type: ignore[index]
    with pytest.raises(SpecError) as caught:
        load_spec_text(json.dumps(document), file="spec.json", plugin_manager=manager)
    (problem,) = caught.value.problems
    assert (problem.line, problem.col, problem.json_path) == (1, 1, f"records[0].fields.{long_name}")


def test_an_adapter_with_a_broken_options_schema_is_reported_not_raised() -> None:
    from collections.abc import Sequence

    from fieldline.contracts import AdapterInfo, AdapterKind
    from fieldline.plugins.hookspecs import hookimpl
    from fieldline.plugins.manager import get_plugin_manager

    class BrokenPlugin:
        @hookimpl
        def register_adapters(self) -> Sequence[AdapterInfo]:
            never_built = lambda options, context: None  # noqa: E731 - the schema fails first
            return (AdapterInfo("broken", AdapterKind.TARGET, never_built, options_schema={"type": 5}),)

    manager = get_plugin_manager(load_entrypoints=False, plugins=(BrokenPlugin(),))
    text = "fieldline: 1\nname: n\ntarget: {adapter: broken, options: {a: 1}}\nrecords:\n"
    text += "  - {name: r, object: A, fields: {F: x}}\n"
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, file="s.yaml", plugin_manager=manager)
    (problem,) = caught.value.problems
    assert problem.message.startswith(
        "cannot check options: the 'broken' adapter has an invalid options schema"
    )
    assert (problem.line, problem.col, problem.json_path, problem.code) == (
        3,
        36,
        "target.options",
        "adapter",
    )
