"""One way to build located problems, shared by every validator."""

from __future__ import annotations

from fieldline.errors import Problem, Severity
from fieldline.spec.collector import ProblemCollector
from tests.spec.test_positions import positions_of


def test_reports_are_located_and_keep_their_order() -> None:
    collector = ProblemCollector(positions_of("a:\n  b: [x, {c: 1}]\n"), file="m.yaml", code="invalid")
    collector.report(("a", "b", 1, "c"), "bad c", hint="fix c")
    collector.report(("a", "b"), "bad key", at_key=True, code="target", severity=Severity.WARNING)
    collector.report(("a",), "inside", position=(7, 3))
    assert collector.problems == [
        Problem("bad c", file="m.yaml", line=2, col=14, json_path="a.b[1].c", hint="fix c", code="invalid"),
        Problem(
            "bad key", file="m.yaml", line=2, col=3, json_path="a.b", code="target", severity=Severity.WARNING
        ),
        Problem("inside", file="m.yaml", line=7, col=3, json_path="a", code="invalid"),
    ]
