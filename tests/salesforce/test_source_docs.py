"""docs/salesforce.md documents every option of the Salesforce source."""

from __future__ import annotations

from fieldline.adapters.salesforce.source_options import SOURCE_OPTIONS_SCHEMA
from tests.conftest import REPO_ROOT

SALESFORCE_DOC = (REPO_ROOT / "docs" / "salesforce.md").read_text(encoding="utf-8")


def test_every_source_option_is_documented() -> None:
    source_part = SALESFORCE_DOC.split("## Salesforce as a source", 1)[1].split("\n## ", 1)[0]
    for option in SOURCE_OPTIONS_SCHEMA["properties"]:
        assert f"{option}:" in source_part or f"`{option}`" in source_part, option
