"""Whatever the input, loading returns a Spec or raises SpecError with located problems."""

from __future__ import annotations

import io
import json

import pluggy
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from ruamel.yaml import YAML

from fieldline.errors import Problem, SpecError
from fieldline.spec.loader import load_spec_text
from fieldline.spec.model import Spec
from tests.spec.fakes import fake_plugin_manager
from tests.spec.strategies import JSON_VALUES, SPEC_DOCUMENTS

MANAGER: pluggy.PluginManager = fake_plugin_manager()
SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow])  # budget: the profile (conftest)
YAML_SNIPPETS = st.sampled_from(
    [
        "fieldline: 1\n",
        "name: x\n",
        "records:\n",
        "  - name: a\n",
        "    object: Account\n",
        "    fields: {Name: name}\n",
        "    fields:\n      Name: 'a ||'\n",
        "&anchor [*anchor]\n",
        "a: &x {b: *x}\n",
        "<<: {a: 1}\n",
        "!!binary aGVsbG8=\n",
        "!!set {a, b}\n",
        "? [complex, key]\n: value\n",
        "{a: 1, a: 2}\n",
        "\t- tab\n",
        "---\n",
        "...\n",
        "%YAML 1.2\n---\n",
        "'unterminated\n",
        "[" * 200 + "\n",
        "key: !!float nope\n",
        "key: !!int 0x1F\n",
        "key: 2001-12-14t21:59:43.10-05:00\n",
        "\ufeff",
        "\x85",
        "key: |\n  block\n",
    ]
)


def as_yaml(document: object) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep the document's order
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


def assert_loads_or_reports(text: str, file: str = "gen.yaml") -> None:
    problems: tuple[Problem, ...] = ()
    try:
        spec = load_spec_text(text, file=file, plugin_manager=MANAGER)
    except SpecError as exc:
        problems = exc.problems
    else:
        assert isinstance(spec, Spec)
        return
    assert problems, "a SpecError must hold at least one problem"
    for problem in problems:
        assert problem.file == file
        assert problem.line is not None
        assert problem.line >= 1
        assert problem.col is not None
        assert problem.col >= 1
        assert problem.message
    assert any(problem.severity == "error" for problem in problems)


@SETTINGS
@given(st.text(max_size=200))
def test_any_text(text: str) -> None:
    assert_loads_or_reports(text)
    assert_loads_or_reports(text, file="gen.json")


@SETTINGS
@given(st.lists(YAML_SNIPPETS | st.text(max_size=20), max_size=8))
def test_yaml_shaped_text(parts: list[str]) -> None:
    assert_loads_or_reports("".join(parts))


@SETTINGS
@given(JSON_VALUES)
def test_any_json_document(document: object) -> None:
    assert_loads_or_reports(json.dumps(document))
    assert_loads_or_reports(json.dumps(document, indent="\t"), file="gen.json")


@SETTINGS
@given(SPEC_DOCUMENTS)
def test_spec_shaped_documents_as_json_and_yaml(document: dict[str, object]) -> None:
    assert_loads_or_reports(json.dumps(document, indent=2), file="gen.json")
    assert_loads_or_reports(as_yaml(document))


@SETTINGS
@given(SPEC_DOCUMENTS)
def test_json_and_yaml_of_one_document_give_the_same_outcome(document: dict[str, object]) -> None:
    # YAML dumpers write some characters (NEL, line separators) in ways YAML reads back differently
    assume(json.dumps(document, ensure_ascii=False).isprintable())
    outcomes = []
    for text in (json.dumps(document), as_yaml(document)):
        try:
            spec = load_spec_text(text, plugin_manager=MANAGER)
        except SpecError as exc:
            outcomes.append(sorted((problem.json_path, problem.message) for problem in exc.problems))
        else:
            outcomes.append([(record.name, record.object) for record in spec.records])
    assert outcomes[0] == outcomes[1]
