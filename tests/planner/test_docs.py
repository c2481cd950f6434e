"""docs/planning.md shows a golden case verbatim; this keeps the page and the case in step."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

PAGE = REPO_ROOT / "docs" / "planning.md"
GOLDEN = Path(__file__).parent / "golden"
_BLOCK = re.compile(r"<!-- golden: (?P<name>[\w./-]+) -->\n```\w*\n(?P<body>.*?)```", re.DOTALL)


def _blocks() -> dict[str, str]:
    return {match["name"]: match["body"] for match in _BLOCK.finditer(PAGE.read_text(encoding="utf-8"))}


def _value(value: Any) -> str:
    return "(missing)" if value == {"missing": True} else json.dumps(value)


def summary(plan_json: dict[str, Any]) -> str:
    """One line per record and per field, as the page shows a plan."""
    lines = []
    for record in plan_json["records"]:
        head = f"{record['record']} {record['key']}: {record['action']}"
        if record["target_id"]:
            head += f" {record['target_id']}"
        if record["matched_by"]:
            head += f" (matched by {record['matched_by']})"
        for reason in record["reasons"]:
            head += f" - {reason}"
        lines.append(head)
        lines.extend(
            f"  {field['field']}: {_value(field['old'])} -> {_value(field['new'])} "
            f"[{field['strategy']}] {field['decision']}: {field['reason']}"
            for field in record["fields"]
        )
    return "\n".join(lines) + "\n"


def test_the_page_shows_golden_files() -> None:
    blocks = _blocks()
    files = {name: body for name, body in blocks.items() if not name.endswith("/summary")}
    assert set(files) == {
        "docs-example/spec.yaml",
        "docs-example/documents.json",
        "docs-example/existing.json",
    }
    for name, body in files.items():
        assert body == (GOLDEN / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("case", ["docs-example"])
def test_the_page_shows_the_golden_plan(case: str) -> None:
    expected = summary(json.loads((GOLDEN / case / "plan.json").read_text(encoding="utf-8")))
    assert _blocks()[f"{case}/summary"] == expected
