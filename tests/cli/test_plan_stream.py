"""`fieldline plan` output written batch by batch: JSON Lines, --only, --limit-rows."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st
from rich.console import Console
from rich.text import Text

from fieldline.cli import cli
from fieldline.commands.plan_stream import JsonLinesPlanWriter, Only, TextPlanWriter, write_plan
from fieldline.commands.render import format_value
from fieldline.planning.plans import Action, Plan, RecordPlan
from tests.plan_lines import read_plan_lines

EXAMPLE = Path(__file__).resolve().parents[2] / "mappings" / "examples"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "examples")
    return tmp_path / "examples" / "profiles-to-files.yaml"


def _record(key: str, action: Action) -> RecordPlan:
    return RecordPlan(record="applicant", object="Account", key=key, action=action)


def _batches() -> list[Plan]:
    return [
        Plan((_record("a", Action.CREATE), _record("b", Action.NOOP))),
        Plan((_record("c", Action.ERROR), _record("d", Action.UPDATE))),
    ]


def test_each_batch_is_written_before_the_next_is_planned() -> None:
    stream = io.StringIO()
    writer = JsonLinesPlanWriter(stream)
    seen: list[int] = []

    def planned() -> Iterator[Plan]:
        for batch in _batches():
            yield batch
            seen.append(len(stream.getvalue().splitlines()))

    write_plan(planned(), writer)
    assert seen == [2, 4]  # the first batch's two lines were out before the second was made


def test_json_lines_are_one_entry_a_line_with_the_summary_last() -> None:
    stream = io.StringIO()
    tally = write_plan(_batches(), JsonLinesPlanWriter(stream))
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [entry["key"] for entry in entries[:-1]] == ["a", "b", "c", "d"]
    assert entries[-1] == {
        "type": "summary",
        "counts": {"create": 1, "update": 1, "noop": 1, "skip": 0, "error": 1, "invalid": 0},
        "shown": 4,
    }
    assert tally.errors == 1


@pytest.mark.parametrize(
    ("only", "keys"),
    [
        pytest.param(Only.CHANGES, ["a", "d"], id="changes"),
        pytest.param(Only.ERRORS, ["c"], id="errors"),
        pytest.param(Only.ALL, ["a", "b", "c", "d"], id="all"),
    ],
)
def test_only_filters_the_rows_but_the_summary_counts_all(only: Only, keys: list[str]) -> None:
    stream = io.StringIO()
    write_plan(_batches(), JsonLinesPlanWriter(stream, only=only))
    plan = read_plan_lines(stream.getvalue())
    assert [record["key"] for record in plan["records"]] == keys
    assert sum(plan["counts"].values()) == 4


def test_limit_rows_caps_the_rows_and_says_how_many_more() -> None:
    console = Console(file=io.StringIO(), force_terminal=False, width=120)
    tally = write_plan(_batches(), TextPlanWriter(console, title="plan: t", limit_rows=3))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert (tally.shown, tally.hidden) == (3, 1)
    assert "applicant c  error" in text
    assert "applicant d" not in text
    assert "… 1 more record(s) not shown (--limit-rows 3)" in text


def test_plan_cli_only_errors_and_limit_rows(example: Path) -> None:
    result = CliRunner().invoke(
        cli, ["plan", str(example), "--json", "--only", "changes", "--limit-rows", "2"]
    )
    assert result.exit_code == 0, result.output
    plan = read_plan_lines(result.output)
    assert [record["action"] for record in plan["records"]] == ["create", "update"]
    assert plan["summary"]["not_shown"] == 5  # 7 creates and updates in all
    assert plan["counts"]["create"] + plan["counts"]["update"] == 7


def test_plan_text_off_a_terminal_is_plain(example: Path) -> None:
    plain = CliRunner().invoke(cli, ["plan", str(example), "--limit-rows", "1"])
    assert plain.exit_code == 0, plain.output
    assert "\x1b[" not in plain.output
    assert "6 more record(s) not shown" in plain.output


def test_plan_text_on_a_terminal_is_styled_with_the_same_words() -> None:
    styled = Console(file=io.StringIO(), force_terminal=True, width=120)
    plain = Console(file=io.StringIO(), force_terminal=False, width=120)
    for console in (styled, plain):
        write_plan(_batches(), TextPlanWriter(console, title="plan: t"))
    styled_text = styled.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[" in styled_text
    assert Text.from_ansi(styled_text).plain.split("summary")[0] == plain.file.getvalue().split("summary")[0]  # type: ignore[attr-defined]


@given(st.one_of(st.text(), st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False)))
def test_format_value_reads_as_json_whatever_the_value(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False)
    assert format_value(value) == (text if len(text) <= 60 else text[:59] + "…")
