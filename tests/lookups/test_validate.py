"""`validate` of the lookups block, offline and `--against salesforce` (the emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from click.testing import CliRunner

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.cli import cli
from fieldline.contracts import FieldDescription, FieldType, ObjectDescription, TargetAdapter
from fieldline.spec.against_target import check_against_target
from fieldline.spec.loader import analyze_spec_text
from fieldline.spec.lookups import LookupOnMany, record_fields
from tests.conftest import REPO_ROOT
from tests.lookups.conftest import SPEC, salesforce_env
from tests.salesforce.conftest import ORG_FILE

EXAMPLE = REPO_ROOT / "mappings" / "examples" / "salesforce-accounts-to-files.yaml"

BROKEN = """
fieldline: 1
name: broken-lookups
target: {adapter: salesforce}
records:
  - {name: a, object: Account, fields: {Name: name}}
lookups:
  account:
    object: Account
    index: {field: AccountNumbr, normalize: [trim, lowr]}
    fields:
      where: BillingCity
      parent: Parent.Name
      boss: Boss.Name
      typo: {value: Nmae}
      bad: {value: "Name ||| x"}
      ref: {ref: a}
  nothing:
    object: Acount
    index: Name
    fields: all
"""


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorHandle]:
    with running_emulator(ORG_FILE) as emulator:
        salesforce_env(monkeypatch, emulator)
        yield emulator


def test_the_lookups_block_is_built() -> None:
    spec = analyze_spec_text(SPEC).spec
    assert spec is not None
    account = spec.lookups["account"]
    assert account.index_field == "AccountNumber"
    assert record_fields(account) == ("Name", "Industry", "NumberOfEmployees")
    assert spec.lookups["account_all"].fields is None
    assert spec.lookups["account_all"].on_many is LookupOnMany.FIRST
    assert spec.lookups["by_domain"].normalize == ("root_domain",)
    assert spec.lookups["cached"].cache_ttl == 30


def test_offline_checks_locate_expressions_normalizers_and_read_only_forms() -> None:
    problems = analyze_spec_text(BROKEN, file="broken.yaml").problems
    messages = {(problem.line, problem.message) for problem in problems}
    assert (10, "unknown normalizer 'lowr'") in messages
    assert (16, "unexpected '|'") in messages
    assert (17, "ref has no meaning in a lookup, which only reads") in messages


def test_against_salesforce_every_read_field_must_exist_and_be_readable(
    salesforce: EmulatorHandle, tmp_path: Path
) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(
        BROKEN.replace("normalize: [trim, lowr]", "normalize: trim").replace(
            '      bad: {value: "Name ||| x"}\n      ref: {ref: a}\n', ""
        )
    )
    result = CliRunner().invoke(cli, ["validate", str(spec), "--against", "salesforce"])
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "Account has no field 'AccountNumbr'" in output
    assert "Account has no relationship 'Boss'" in output
    assert "Account has no field 'Nmae'" in output
    assert "unknown object 'Acount'" in output
    assert "BillingCity" not in output
    assert "Parent" not in output


def test_the_shipped_example_is_valid_against_salesforce(salesforce: EmulatorHandle) -> None:
    result = CliRunner().invoke(cli, ["validate", str(EXAMPLE), "--against", "salesforce"])
    assert result.exit_code == 0, result.output


class _Target:
    """A target describing an Account with a compound address field."""

    name = "salesforce"

    def describe(self, object_name: str) -> ObjectDescription:
        fields = {
            "Id": FieldDescription("Id", FieldType.ID),
            "Name": FieldDescription("Name"),
            "BillingAddress": FieldDescription("BillingAddress", FieldType.ADDRESS),
        }
        return ObjectDescription("Account", fields)


def test_a_compound_field_is_not_readable_as_a_value() -> None:
    text = (
        "fieldline: 1\nname: c\ntarget: {adapter: files, options: {path: x.json}}\n"
        "records: [{name: a, object: Account, fields: {Name: n}}]\n"
        "lookups:\n  l: {object: Account, index: Name, fields: {where: BillingAddress}}\n"
    )
    result = analyze_spec_text(text, file="c.yaml")
    assert result.spec is not None
    problems = check_against_target(
        result.spec, cast(TargetAdapter, _Target()), result.positions, file="c.yaml"
    )
    assert [problem.message for problem in problems] == [
        "Account.BillingAddress is a address field, not readable as a value"
    ]
