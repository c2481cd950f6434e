"""Every example in docs/functions.md is run, and every function and normalizer is documented."""

from __future__ import annotations

import json
import re
import types
from typing import Any

import pytest

from fieldline.errors import EvaluationError
from fieldline.expressions.compiled import FunctionRegistry, compile_expression
from fieldline.expressions.functions import BUILTIN_FUNCTIONS
from fieldline.expressions.normalizers import BUILTIN_NORMALIZERS
from fieldline.plugins.manager import function_registry, get_plugin_manager
from tests.conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "functions.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)


def _examples() -> list[dict[str, str]]:
    examples = []
    for block in _blocks("example"):
        for chunk in block.strip().split("\n\n"):
            fields = dict(line.split(":", 1) for line in chunk.splitlines())
            examples.append({key.strip(): value.strip() for key, value in fields.items()})
    return examples


EXAMPLES = _examples()


def test_the_doc_has_examples() -> None:
    assert len(EXAMPLES) >= 40
    assert all({"expression", "given"} <= set(example) for example in EXAMPLES)
    assert all(("result" in example) != ("error" in example) for example in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[example["expression"] for example in EXAMPLES])
def test_documented_example(example: dict[str, str], registry: FunctionRegistry) -> None:
    expression = compile_expression(example["expression"], registry)
    given: Any = json.loads(example["given"])
    if "error" in example:
        with pytest.raises(EvaluationError) as caught:
            expression.search(given)
        assert caught.value.context["reason"] == example["error"]
    else:
        expected = json.loads(example["result"])
        assert json.dumps(expression.search(given)) == json.dumps(expected)


@pytest.mark.parametrize("function", BUILTIN_FUNCTIONS, ids=lambda function: function.name)
def test_every_function_is_documented_with_an_example(function: Any) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert re.search(rf"^### .*`{function.name}\(", text, re.M), f"no heading for {function.name}()"
    assert any(f"{function.name}(" in example["expression"] for example in EXAMPLES)
    assert function.doc


def _normalizer_rows() -> dict[str, str]:
    rows = re.findall(r"^\| `(\w+)` \|.*\| (.*) \|$", DOC.read_text(encoding="utf-8"), re.M)
    return dict(rows)


def test_every_normalizer_is_documented() -> None:
    assert set(_normalizer_rows()) == set(BUILTIN_NORMALIZERS)


@pytest.mark.parametrize("name", sorted(BUILTIN_NORMALIZERS))
def test_documented_normalizer_examples(name: str) -> None:
    pairs = re.findall(r"`(\"[^`]*\")` → `([^`]*)`", _normalizer_rows()[name])
    assert pairs, f"no example for {name}"
    for given, expected in pairs:
        assert BUILTIN_NORMALIZERS[name](json.loads(given)) == json.loads(expected)


def test_plugin_example_works() -> None:
    (source,) = [block for block in _blocks("python") if "@hookimpl" in block]
    plugin = types.ModuleType("docs_example_plugin")
    exec(compile(source, str(DOC), "exec"), plugin.__dict__)
    registry = function_registry(get_plugin_manager(load_entrypoints=False, plugins=(plugin,)))
    assert compile_expression("initials(name)", registry).search({"name": "Jane Mary Doe"}) == "JMD"
    assert compile_expression("initials(name)", registry).search({}) is None


def test_python_api_example_works() -> None:
    (source,) = [block for block in _blocks("python") if "compile_expression(" in block]
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOC), "exec"), namespace)
    assert namespace["expression"].search({"customer": {"email": "Jane@Example.com"}}) == "jane@example.com"
