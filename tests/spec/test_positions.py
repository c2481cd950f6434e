"""Positions: JSON paths, ancestors, and characters inside scalars of every YAML style."""

from __future__ import annotations

import io

import pytest
from hypothesis import assume, given, strategies as st

from fieldline.spec.loader import analyze_spec_text
from fieldline.spec.positions import PositionIndex, format_path
from tests.spec.fakes import fake_plugin_manager


@pytest.mark.parametrize(
    ("path", "text"),
    [
        pytest.param((), "", id="root"),
        pytest.param(("records", 1, "fields", "Status__c"), "records[1].fields.Status__c", id="dotted"),
        pytest.param(("fields", "a b"), 'fields["a b"]', id="quoted-key"),
        pytest.param(("map", "1"), 'map["1"]', id="digit-key"),
        pytest.param(("$schema",), "$schema", id="dollar"),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


def positions_of(text: str) -> PositionIndex:
    return analyze_spec_text(text, plugin_manager=fake_plugin_manager()).positions


def test_locate_value_key_and_nearest_ancestor() -> None:
    positions = positions_of("a:\n  b: [x, {c: 1}]\n")
    assert positions.locate(("a", "b")) == (2, 6)
    assert positions.locate(("a", "b"), at_key=True) == (2, 3)
    assert positions.locate(("a", "b", 1, "c")) == (2, 14)
    assert positions.locate(("a", "b", 1, "missing")) == (2, 10)
    assert positions.locate(("nothing", "here")) == (1, 1)


EXPRESSION = "a == 'x' && b"  # character 12 is the final 'b'


@pytest.mark.parametrize(
    ("yaml_value", "line", "col"),
    [
        pytest.param(f"{EXPRESSION}", 1, 16, id="plain"),
        pytest.param("'a == ''x'' && b'", 1, 19, id="single-quoted"),
        pytest.param("\"a == 'x' && \\x62\"", 1, 17, id="double-quoted-escape"),
        pytest.param("|\n  a == 'x'\n  && b\n", 3, 6, id="literal-block"),
        pytest.param("|2\n    a == 'x'\n  && b\n", 3, 6, id="literal-block-indent-indicator"),
        pytest.param(">\n  a == 'x'\n  && b\n", 3, 6, id="folded-block"),
        pytest.param("a == 'x'\n  && b", 2, 6, id="plain-multi-line"),
        pytest.param("\"a == 'x' \\\n  && b\"", 2, 6, id="double-quoted-escaped-line-break"),
    ],
)
def test_a_character_inside_a_scalar(yaml_value: str, line: int, col: int) -> None:
    text = f"k: {yaml_value}\n"
    result = analyze_spec_text(text, plugin_manager=fake_plugin_manager())
    value = result.data["k"]
    assert value.split() == EXPRESSION.split()  # block styles keep their line breaks
    offset = value.rindex("b")
    assert result.positions.locate_in_scalar(("k",), value, offset) == (line, col)


def test_carriage_return_line_ends() -> None:
    positions = positions_of("a: 1\r\nb: 'xyz'\r\n")
    assert positions.locate_in_scalar(("b",), "xyz", 2) == (2, 7)


def test_offset_past_the_end_points_after_the_last_character() -> None:
    positions = positions_of("k: 'abc   '\n")
    assert positions.locate_in_scalar(("k",), "abc   ", 99) == (1, 8)


def test_non_string_nodes_fall_back_to_the_node_position() -> None:
    positions = positions_of("k: [1]\n")
    assert positions.locate_in_scalar(("k",), "", 3) == (1, 4)


@pytest.mark.parametrize(
    "yaml_value",
    [
        pytest.param('"lower(x) || \\\n    nosuch(y)"', id="double-quoted-escaped-break-then-token"),
        pytest.param('"ab \\\n  \\\n  cd"', id="double-quoted-two-escaped-breaks"),
        pytest.param(">-\n  a ||\n    nosuch(y)\n", id="folded-more-indented-line"),
        pytest.param(">-\n  a ||\n\n  b && c\n", id="folded-blank-line"),
        pytest.param(">-\n  a ||\n\n\n  b && c\n", id="folded-two-blank-lines"),
        pytest.param(">-\n  a ||\n    b\n  c && d\n", id="folded-back-from-more-indented"),
        pytest.param("|-\n  a ||\n\n    b && c\n", id="literal-blank-and-indented"),
        pytest.param("'a ||\n  b\n\n  c'", id="single-quoted-multi-line"),
        pytest.param("a ||\n  b\n\n  c", id="plain-multi-line-blank"),
    ],
)
def test_every_visible_character_points_at_itself(yaml_value: str) -> None:
    text = f"k: {yaml_value}\n"
    result = analyze_spec_text(text, plugin_manager=fake_plugin_manager())
    value = result.data["k"]
    lines = text.splitlines()
    for offset, char in enumerate(value):
        if char.isspace():
            continue
        line, col = result.positions.locate_in_scalar(("k",), value, offset)
        assert line is not None
        assert col is not None
        assert lines[line - 1][col - 1] == char, (offset, char, line, col, value)


@given(
    value=st.text(alphabet="ab(|)'\" \\\n", min_size=1, max_size=60).filter(lambda v: v.strip()),
    style=st.sampled_from(["'", '"', "|", ">"]),
)
def test_positions_hold_for_whatever_ruamel_writes(value: str, style: str) -> None:
    """Every visible character of a scalar ruamel.yaml wrote (folding long lines at 20 columns)
    is located on itself; an escape sequence is located on its backslash."""
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import (
        DoubleQuotedScalarString,
        FoldedScalarString,
        LiteralScalarString,
        SingleQuotedScalarString,
    )

    wrap = {
        "'": SingleQuotedScalarString,
        '"': DoubleQuotedScalarString,
        "|": LiteralScalarString,
        ">": FoldedScalarString,
    }[style]
    yaml = YAML()
    yaml.width = 20
    stream = io.StringIO()
    yaml.dump({"k": wrap(value)}, stream)
    text = stream.getvalue()
    result = analyze_spec_text(text, plugin_manager=fake_plugin_manager())
    parsed = result.data["k"]
    assume(parsed == value)  # ruamel cannot write every string in every style
    node = result.positions.get(("k",))
    assert node is not None
    written_style = node.style  # ruamel may choose another style than asked
    lines = text.splitlines()
    for offset, char in enumerate(parsed):
        if char.isspace():
            continue
        line, col = result.positions.locate_in_scalar(("k",), parsed, offset)
        assert line is not None
        assert col is not None
        found = lines[line - 1][col - 1]
        assert found == char or (written_style == '"' and found == "\\"), (offset, char, line, col, text)
