from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldline.adapters.files.target import FilesTarget
from fieldline.contracts import FieldType, LookupRequest, Write, WriteOperation
from fieldline.errors import ConfigError, FatalAdapterError
from tests.apply_results import finished

OBJECTS = {
    "Account": {
        "fields": {
            "Name": {"type": "string", "required": True, "length": 10},
            "Ext__c": {"type": "string", "external_id": True},
            "Tier__c": {"picklist": ["Gold", "Silver"]},
            "Website": "url",
        }
    }
}


def _state(tmp_path: Path, records: list[dict[str, object]]) -> Path:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"Account": records}), encoding="utf-8")
    return path


def test_lookup_many_values_with_a_normalizer(tmp_path: Path) -> None:
    path = _state(
        tmp_path,
        [
            {"Id": "Account-000002", "Website": "https://WWW.Test.com/app"},
            {"Id": "Account-000001", "Website": "test.com"},
            {"Id": "Account-000003", "Website": "other.org"},
        ],
    )
    target = FilesTarget(path)
    request = LookupRequest(
        object="Account",
        field="Website",
        values=frozenset({"test.com", "absent.com"}),
        fields=frozenset({"Website"}),
        normalize=("custom",),
        normalizer=lambda value: value.lower().removeprefix("https://").removeprefix("www.").split("/")[0],
    )
    result = target.lookup([request])[("Account", "Website", ("custom",))]
    assert [record["Id"] for record in result["test.com"]] == ["Account-000001", "Account-000002"]
    assert "absent.com" not in result


def test_lookup_keys_follow_the_comparison_rules(tmp_path: Path) -> None:
    # a boolean never finds a number (Python's True == 1); "7" finds 7 in a number field
    path = _state(
        tmp_path,
        [
            {"Id": "Account-000001", "Num__c": 7, "Flag__c": 1},
            {"Id": "Account-000002", "Num__c": 0.0, "Flag__c": True},
        ],
    )
    objects = {"Account": {"fields": {"Num__c": "double", "Flag__c": "boolean"}}}
    target = FilesTarget(path, objects=objects)

    def ids(field: str, *values: object) -> dict[object, list[str]]:
        request = LookupRequest("Account", field, frozenset(values), frozenset({field}))
        found = target.lookup([request])[("Account", field, ())]
        return {value: [record["Id"] for record in records] for value, records in found.items()}

    assert ids("Num__c", "7", False) == {"7": ["Account-000001"]}
    assert ids("Num__c", 7.0, 0) == {7.0: ["Account-000001"], 0: ["Account-000002"]}
    assert ids("Flag__c", True) == {True: ["Account-000002"]}


def test_create_update_upsert_and_persist(tmp_path: Path) -> None:
    path = _state(tmp_path, [{"Id": "Account-000001", "Name": "Old", "Ext__c": "e1"}])
    target = FilesTarget(path, objects=OBJECTS)
    results = finished(
        target.apply(
            [
                Write("a", "Account", WriteOperation.CREATE, {"Name": "New", "Ext__c": "e2"}),
                Write("b", "Account", WriteOperation.UPDATE, {"Name": "Renamed"}, target_id="Account-000001"),
                Write(
                    "c",
                    "Account",
                    WriteOperation.UPSERT,
                    {"Ext__c": "e1", "Tier__c": "Gold"},
                    external_id_field="Ext__c",
                ),
                Write(
                    "d",
                    "Account",
                    WriteOperation.UPSERT,
                    {"Ext__c": "e3", "Name": "Third"},
                    external_id_field="Ext__c",
                ),
            ]
        )
    )
    assert [(r.key, r.ok, r.created, r.target_id) for r in results] == [
        ("a", True, True, "Account-000002"),
        ("b", True, False, "Account-000001"),
        ("c", True, False, "Account-000001"),
        ("d", True, True, "Account-000003"),
    ]
    saved = json.loads(path.read_text(encoding="utf-8"))["Account"]
    assert saved[0] == {"Id": "Account-000001", "Name": "Renamed", "Ext__c": "e1", "Tier__c": "Gold"}
    assert (
        FilesTarget(path, objects=OBJECTS).lookup(
            [LookupRequest("Account", "Ext__c", frozenset({"e3"}), frozenset())]
        )[("Account", "Ext__c", ())]["e3"][0]["Name"]
        == "Third"
    )


def test_a_bad_record_fails_alone_with_the_right_code(tmp_path: Path) -> None:
    path = _state(tmp_path, [{"Id": "Account-000001", "Name": "Old", "Ext__c": "e1"}])
    target = FilesTarget(path, objects=OBJECTS)
    results = finished(
        target.apply(
            [
                Write("dup", "Account", WriteOperation.CREATE, {"Name": "Dup", "Ext__c": "e1"}),
                Write("req", "Account", WriteOperation.CREATE, {"Ext__c": "e9"}),
                Write("long", "Account", WriteOperation.CREATE, {"Name": "x" * 11}),
                Write("pick", "Account", WriteOperation.CREATE, {"Name": "P", "Tier__c": "Bronze"}),
                Write("field", "Account", WriteOperation.CREATE, {"Name": "F", "Nope__c": 1}),
                Write("gone", "Account", WriteOperation.UPDATE, {"Name": "G"}, target_id="Account-999999"),
                Write("ok", "Account", WriteOperation.CREATE, {"Name": "Fine"}),
            ]
        )
    )
    codes = {r.key: (r.error.code, r.error.stage) if r.error else None for r in results}
    assert codes == {
        "dup": ("DUPLICATE_VALUE", "target"),
        "req": ("REQUIRED_FIELD_MISSING", "target"),
        "long": ("STRING_TOO_LONG", "preflight"),
        "pick": ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "preflight"),
        "field": ("INVALID_FIELD", "preflight"),
        "gone": ("ENTITY_IS_DELETED", "target"),
        "ok": None,
    }


def test_folder_of_jsonl_files(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    target = FilesTarget(folder)
    (result,) = finished(target.apply([Write("a", "Lead", WriteOperation.CREATE, {"Company": "Acme"})]))
    assert result.ok
    lines = (folder / "Lead.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"Company": "Acme", "Id": "Lead-000001"}
    assert FilesTarget(folder).describe("Lead").field("company") is not None


def test_field_types_are_checked_when_the_target_opens(tmp_path: Path) -> None:
    described = FilesTarget(tmp_path / "s.json", objects=OBJECTS).describe("Account")
    assert described.fields["Website"].type is FieldType.URL
    assert described.fields["Tier__c"].type is FieldType.PICKLIST
    aliases = {"fields": {"Count__c": "Integer", "Score__c": {"type": "number"}}}
    counted = FilesTarget(tmp_path / "s.json", objects={"Account": aliases}).describe("Account")
    assert (counted.fields["Count__c"].type, counted.fields["Score__c"].type) == (
        FieldType.INT,
        FieldType.DOUBLE,
    )
    with pytest.raises(ConfigError, match=r"Account\.Count__c: unknown field type 'strng'") as caught:
        FilesTarget(tmp_path / "s.json", objects={"Account": {"fields": {"Count__c": "strng"}}})
    assert "string" in (caught.value.hint or "")


def test_describe_unknown_object_with_a_schema_is_fatal(tmp_path: Path) -> None:
    target = FilesTarget(tmp_path / "s.json", objects=OBJECTS)
    assert target.describe("Account").field("ext__c") is not None
    with pytest.raises(FatalAdapterError, match="unknown object 'Contact'"):
        target.describe("Contact")


def test_corrupt_state_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"Account": {"Id": 1}}', encoding="utf-8")
    with pytest.raises(ConfigError, match="JSON object of lists"):
        FilesTarget(path)
