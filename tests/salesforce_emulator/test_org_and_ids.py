"""Org file loading, the standard objects, and Salesforce-style ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldline.adapters.salesforce.emulator.ids import IdGenerator, normalize_id
from fieldline.adapters.salesforce.emulator.org import FIELD_TYPES, load_org, standard_org
from fieldline.contracts import FieldType
from fieldline.errors import ConfigError
from tests.salesforce_emulator.conftest import ORG_FILE


def test_standard_objects_have_common_fields() -> None:
    org = standard_org()
    account, contact, lead = org.get("account"), org.get("CONTACT"), org.get("Lead")
    assert account is not None
    assert contact is not None
    assert lead is not None
    assert (account.key_prefix, contact.key_prefix, lead.key_prefix) == ("001", "003", "00Q")
    for name in (
        "Id",
        "Name",
        "Website",
        "Phone",
        "Industry",
        "BillingCountry",
        "Type",
        "CreatedDate",
        "LastModifiedDate",
        "SystemModstamp",
    ):
        assert account.field(name.lower()) is not None, name
    last_name = contact.field("lastname")
    assert last_name is not None
    assert last_name.required
    assert not last_name.nillable
    account_id = contact.field("AccountId")
    assert account_id is not None
    assert account_id.reference_to == ("Account",)
    company = lead.field("Company")
    assert company is not None
    assert company.required


def test_lead_has_salesforces_required_fields_and_picklists() -> None:
    lead = standard_org().get("Lead")
    assert lead is not None
    required = sorted(field.name for field in lead.fields.values() if field.required)
    assert required == ["Company", "LastName"]
    status = lead.field("Status")
    assert status is not None
    assert status.restricted
    assert status.default_value == "Open - Not Contacted"
    picklists = {field.name: field.picklist for field in lead.fields.values() if field.type == "picklist"}
    assert picklists["LeadSource"] == ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
    assert picklists["Rating"] == ("Hot", "Warm", "Cold")
    assert "Mr." in picklists["Salutation"]
    assert {"Industry", "Status"} <= set(picklists)


def test_every_emulated_type_is_one_the_adapter_knows() -> None:
    assert {FieldType.parse(name) for name in FIELD_TYPES} <= set(FieldType) - {FieldType.OTHER}
    standard = standard_org()
    described = {field.type for obj in standard.objects.values() for field in obj.fields.values()}
    assert described <= set(FIELD_TYPES)


def test_shipped_org_file_adds_passfort_metadata() -> None:
    org = load_org(ORG_FILE)
    account = org.get("Account")
    assert account is not None
    profile = account.field("PassFort_Profile_Id__c")
    assert profile is not None
    assert (profile.length, profile.external_id, profile.unique, profile.id_lookup) == (36, True, True, True)
    app = org.get("passfort_application__c")
    assert app is not None
    assert app.key_prefix == "a0X"
    status = app.field("Status__c")
    assert status is not None
    assert status.restricted
    assert status.picklist == ("Applied", "In review", "Approved", "Rejected", "Cancelled")
    applicant = app.field("Applicant__c")
    assert applicant is not None
    assert applicant.relationship_name == "Applicant__r"
    name = app.field("Name")
    assert name is not None
    assert not name.required
    assert name.length == 80
    last_event = app.field("Last_Event_At__c")
    assert last_event is not None
    assert last_event.type == "datetime"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("objects: {Foo: {}}", "unknown standard object", id="standard-object-typo"),
        pytest.param("objects: {X__c: {fields: {A__c: {type: blob}}}}", "unknown field type", id="bad-type"),
        pytest.param(
            "objects: {X__c: {fields: {A__c: {typo: 1}}}}", "unknown field attribute", id="bad-attr"
        ),
        pytest.param("objects: {X__c: {fields: {A__c: {type: reference}}}}", "reference_to", id="no-target"),
        pytest.param("objects: {X__c: {key_prefix: '001'}}", "key_prefix", id="taken-prefix"),
        pytest.param("objects: [1, 2]", "'objects' mapping", id="not-mapping"),
        pytest.param("objects: {X__c: {fields: {A__c: {type: string}}", "not valid YAML", id="bad-yaml"),
    ],
)
def test_bad_org_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_org(path)
    assert str(path) in str(info.value)


def test_bad_org_yaml_is_located_to_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("objects:\n  X__c:\n    fields: {A__c: {type: string}\n    label: x\n")
    with pytest.raises(ConfigError, match=rf"{path}:4:5: not valid YAML: .*expected ',' or '}}'"):
        load_org(path)


def test_missing_org_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read org file"):
        load_org(tmp_path / "absent.yaml")


def test_custom_objects_get_free_prefixes(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("objects: {A__c: {}, B__c: {}}")
    org = load_org(path)
    a, b = org.get("A__c"), org.get("B__c")
    assert a is not None
    assert b is not None
    assert a.key_prefix != b.key_prefix
    assert a.key_prefix.startswith("a")


def test_ids_are_18_characters_with_a_case_checksum() -> None:
    ids = IdGenerator()
    first = ids.new("001")
    assert len(first) == 18
    assert first.startswith("001")
    assert normalize_id(first) == first
    assert normalize_id(first.lower()) == first
    assert normalize_id(first.upper()) == first
    assert normalize_id(first[:15]) == first
    assert ids.new("001") != first


@pytest.mark.parametrize("value", ["", "abc", "001!!!!!!!!!!!!", "0018d0000000001AAA9", "0018d0000000001ZZZ"])
def test_malformed_ids_do_not_normalize(value: str) -> None:
    assert normalize_id(value) is None


def test_known_salesforce_id_pair() -> None:
    # The 15/18 pair commonly used to explain the checksum.
    assert normalize_id("001D000000IqhSL") == "001D000000IqhSLIAZ"
    assert normalize_id("001d000000iqhsliaz") == "001D000000IqhSLIAZ"


def test_package_exports_its_public_surface() -> None:
    import fieldline.adapters.salesforce.emulator as package
    from fieldline.adapters.salesforce.emulator import server

    for name in package.__all__:
        assert getattr(package, name) is not None
    assert package.running_emulator is server.running_emulator
    with pytest.raises(AttributeError):
        _ = package.nothing_here
