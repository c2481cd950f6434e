"""The official JMESPath compliance suite, run through fieldline's compiled evaluator.

Results must equal the suite's (types included: ``1`` is not ``1.0`` is not ``true``). Syntax
errors must fail at compile time; unknown functions and wrong arity fail at compile time too
(fieldline is stricter than jmespath.py there); type and value errors fail at search time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jmespath
import pytest

from fieldline.errors import EvaluationError, ExpressionError
from fieldline.expressions.compiled import FunctionRegistry, compile_expression

SUITE_FILES = (
    "basic", "benchmarks", "boolean", "current", "escape", "filters", "functions", "identifiers",
    "indices", "literal", "multiselect", "pipe", "slice", "syntax", "unicode", "wildcard",
)  # fmt: skip
COMPILE_ERRORS = {"syntax", "invalid-arity", "unknown-function"}
SEARCH_ERRORS = {"invalid-type", "invalid-value"}


def _canonical(value: Any) -> str:
    # JSON text keeps the difference between 1, 1.0 and true that == would hide.
    return json.dumps(value, sort_keys=True)


def _run_case(given: Any, case: dict[str, Any], registry: FunctionRegistry) -> str | None:
    """``None`` when fieldline agrees with the case, else what went wrong."""
    expression = case["expression"]
    expected_error = case.get("error")
    try:
        compiled = compile_expression(expression, registry)
    except ExpressionError as exc:
        if expected_error in COMPILE_ERRORS:
            return None
        return f"compile failed: {exc}"
    if expected_error == "syntax":
        return "compiled, but the suite expects a syntax error"
    try:
        result = compiled.search(given)
    except EvaluationError as exc:
        if expected_error in SEARCH_ERRORS | COMPILE_ERRORS:
            return None
        return f"search failed: {exc}"
    if expected_error is not None:
        return f"gave {result!r}, but the suite expects a {expected_error} error"
    # A few benchmark cases carry no result: the reference implementation's is the result.
    expected = case["result"] if "result" in case else jmespath.search(expression, given)
    if _canonical(result) != _canonical(expected):
        return f"gave {_canonical(result)}, expected {_canonical(expected)}"
    return None


def _cases(path: Path) -> list[tuple[Any, dict[str, Any]]]:
    groups = json.loads(path.read_text(encoding="utf-8"))
    return [(group["given"], case) for group in groups for case in group["cases"]]


@pytest.mark.parametrize("name", SUITE_FILES)
def test_compliance_file(name: str, shared_dir: Path) -> None:
    path = shared_dir / "testdata" / "jmespath-compliance" / f"{name}.json"
    registry = FunctionRegistry()
    failures = [
        f"{case['expression']!r}: {problem}"
        for given, case in _cases(path)
        if (problem := _run_case(given, case, registry)) is not None
    ]
    assert failures == []


def test_suite_files_are_all_run(shared_dir: Path) -> None:
    folder = shared_dir / "testdata" / "jmespath-compliance"
    assert sorted(path.stem for path in folder.glob("*.json")) == sorted(SUITE_FILES)
    total = sum(len(_cases(folder / f"{name}.json")) for name in SUITE_FILES)
    assert total == 908


def test_compliance_with_fieldline_functions_registered(shared_dir: Path, registry: FunctionRegistry) -> None:
    """Adding our functions changes nothing for standard expressions."""
    path = shared_dir / "testdata" / "jmespath-compliance" / "functions.json"
    failures = [
        case["expression"] for given, case in _cases(path) if _run_case(given, case, registry) is not None
    ]
    assert failures == []
