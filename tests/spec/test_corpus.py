"""The invalid-spec corpus: each ``invalid/<case>.yaml|json`` states its problems in a sibling
``<case>.expected`` file, one ``LINE:COL: [warning: ]PATH: MESSAGE`` line per problem, each
followed by ``    hint: ...`` when the problem has a hint. Positions and wording are exact.

Regenerate after a deliberate change with ``python -m tests.spec.test_corpus`` and review the diff.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from fieldline.errors import Problem, SpecError
from fieldline.spec.loader import check_spec_file, load_spec
from tests.spec.fakes import fake_plugin_manager

CORPUS = Path(__file__).parent / "invalid"
CASES = sorted(path for path in CORPUS.iterdir() if path.suffix in (".yaml", ".json"))


def render(problems: Sequence[Problem]) -> str:
    """The ``.expected`` text for ``problems``."""
    lines = []
    for problem in problems:
        severity = "" if problem.severity == "error" else f"{problem.severity}: "
        lines.append(f"{problem.line}:{problem.col}: {severity}{problem.json_path or '-'}: {problem.message}")
        if problem.hint:
            lines.append(f"    hint: {problem.hint}")
    return "\n".join(lines) + "\n"


def problems_of(case: Path) -> list[Problem]:
    return check_spec_file(case, plugin_manager=fake_plugin_manager())


def test_the_corpus_is_complete() -> None:
    assert len(CASES) >= 15
    for case in CASES:
        assert case.with_suffix(".expected").is_file(), f"{case.name} has no .expected file"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case_reports_exactly_its_expected_problems(case: Path) -> None:
    expected = case.with_suffix(".expected").read_text(encoding="utf-8")
    problems = problems_of(case)
    assert render(problems) == expected
    assert all(problem.file == str(case) for problem in problems)
    assert all(problem.line is not None and problem.col is not None for problem in problems)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_load_spec_raises_with_every_error_unless_only_warnings(case: Path) -> None:
    problems = problems_of(case)
    errors = [problem for problem in problems if problem.severity == "error"]
    if not errors:
        spec = load_spec(case, plugin_manager=fake_plugin_manager())
        assert spec.records
        return
    with pytest.raises(SpecError) as caught:
        load_spec(case, plugin_manager=fake_plugin_manager())
    assert list(caught.value.problems) == problems


if __name__ == "__main__":  # regenerate: review every changed line before committing
    for case in CASES:
        case.with_suffix(".expected").write_text(render(problems_of(case)), encoding="utf-8")
        print(f"wrote {case.with_suffix('.expected').name}")
