"""SOQL literals proven against the emulator: whatever the text, the lookup's query parses and
matches exactly the records whose field equals it (SOQL's case-insensitive ``=``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.adapters.salesforce.source import SalesforceSource
from tests.salesforce.conftest import ORG_FILE
from tests.salesforce.source_fixtures import make_source, seed_accounts

# Text heavy in what SOQL escapes or treats specially, plus any other character.
_SPECIAL = st.sampled_from(
    ["'", '"', "\\", "%", "_", "\n", "\r", "\t", "\b", "\f", "*", "?", " ", "é", "ß", "日", "😀"]
)
soql_texts = st.lists(st.one_of(_SPECIAL, st.characters(codec="utf-8")), min_size=1, max_size=20).map("".join)


@pytest.fixture(scope="module")
def literal_source() -> Iterator[tuple[EmulatorHandle, SalesforceSource]]:
    with running_emulator(ORG_FILE) as handle:
        source = make_source(handle, fields=["AccountNumber"])
        try:
            yield handle, source
        finally:
            source.close()


def _near_misses(text: str) -> list[str]:
    """Values a wrongly escaped literal or an unescaped wildcard would also match."""
    return [
        text + "x",
        "%" + text,
        text.replace("\\", "\\\\"),
        text.replace("'", "\\'"),
        text[:-1] + "_",
        text.upper(),
    ]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=soql_texts)
def test_a_lookup_matches_exactly_the_records_equal_to_any_text(
    literal_source: tuple[EmulatorHandle, SalesforceSource], text: str
) -> None:
    handle, source = literal_source
    seed_accounts(
        handle, [{"Name": "L", "AccountNumber": value} for value in [text, *_near_misses(text)] if value]
    )
    found = source.find("Account", "AccountNumber", [text], ["AccountNumber"])
    expected = {
        record["Id"]
        for record in handle.records("Account")
        if isinstance(record.get("AccountNumber"), str) and record["AccountNumber"].lower() == text.lower()
    }
    assert {record["Id"] for record in found.get(text, [])} == expected
    assert expected  # the exact value was seeded
