"""Positions: JSON paths, ancestors, and characters inside scalars of every YAML style."""

from __future__ import annotations

import pytest

from fieldline.loader import analyze_spec_text
from fieldline.validate_positions import PositionIndex, format_path
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
