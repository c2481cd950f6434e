"""Where each node of a spec document stands in its text, so every problem gets ``file:line:col``.

The loader records one :class:`NodePosition` per node while it turns the YAML tree into plain
data; checks then ask for the position of a JSON path (``("records", 1, "fields", "Name")``),
or of a character inside a scalar (an expression's syntax error).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = ["NodePosition", "PathKey", "PositionIndex", "format_path"]

PathKey = tuple[str | int, ...]
"""A JSON path as a tuple of mapping keys and list indexes."""

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def format_path(path: Sequence[str | int]) -> str:
    """``("records", 1, "fields", "Status__c")`` -> ``records[1].fields.Status__c``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


@dataclass(frozen=True, slots=True)
class NodePosition:
    """0-based positions of one node: its mapping key (if any) and its value.

    ``style`` is the scalar style of a string value: ``""`` plain, ``"'"`` or ``'"'`` quoted,
    ``"|"`` or ``">"`` block; ``None`` for anything else.
    """

    line: int
    col: int
    key_line: int | None = None
    key_col: int | None = None
    style: str | None = None


class PositionIndex:
    """JSON path -> :class:`NodePosition` for one spec text. Lookups return 1-based positions."""

    def __init__(self, text: str = "") -> None:
        self._text = text
        self._nodes: dict[PathKey, NodePosition] = {}
        self._line_starts = [0] + [match.end() for match in re.finditer(r"\r\n|\n|\r", text)]

    def add(self, path: PathKey, position: NodePosition) -> None:
        self._nodes[path] = position

    def get(self, path: PathKey) -> NodePosition | None:
        return self._nodes.get(tuple(path))

    def locate(self, path: Sequence[str | int], *, at_key: bool = False) -> tuple[int | None, int | None]:
        """1-based ``(line, col)`` of the node at ``path`` (its key when ``at_key``), or of the
        nearest ancestor the text has (a missing key is reported where its parent is)."""
        current = tuple(path)
        while True:
            node = self._nodes.get(current)
            if node is not None:
                if at_key and node.key_line is not None and node.key_col is not None:
                    return node.key_line + 1, node.key_col + 1
                return node.line + 1, node.col + 1
            if not current:
                return None, None
            current = current[:-1]
            at_key = False

    def locate_in_scalar(
        self, path: Sequence[str | int], value: str, offset: int
    ) -> tuple[int | None, int | None]:
        """1-based ``(line, col)`` of character ``offset`` of the string ``value`` at ``path``.

        Follows the scalar's style: quotes, ``''`` and backslash escapes, folded lines and
        block indentation, so a JMESPath error points at the exact character in the file.
        """
        node = self._nodes.get(tuple(path))
        if node is None or node.style is None or not self._text:
            return self.locate(path)
        if node.line >= len(self._line_starts):
            return self.locate(path)
        start = self._line_starts[node.line] + node.col
        # an error at the very end points just after the last visible character
        offset = max(0, min(offset, len(value.rstrip())))
        parent_indent = node.key_col if node.key_col is not None else node.col
        index = _source_index(
            self._text, start, node.style, value, offset=offset, parent_indent=parent_indent
        )
        line = bisect.bisect_right(self._line_starts, index) - 1
        return line + 1, index - self._line_starts[line] + 1


def _source_index(text: str, start: int, style: str, value: str, *, offset: int, parent_indent: int) -> int:
    """Index in ``text`` of character ``offset`` of the scalar ``value`` that starts at ``start``.

    ``parent_indent`` is the indentation of the node holding the scalar (for a block scalar's
    explicit indentation indicator, ``|2``). An offset that falls on a character produced by a
    line break (a folded space or newline) points at that line break.
    """
    index = start
    indent = 0
    if style in ("'", '"'):
        index += 1
    elif style in ("|", ">"):
        newline = text.find("\n", index)
        if newline < 0:
            return start
        header = text[index:newline].split("#", 1)[0]  # "|2-", ">+1", never a comment
        indicator = next((char for char in header if char.isdigit()), None)
        index = newline + 1
        indent = parent_indent + int(indicator) if indicator else _block_indent(text, index)
        index = _skip_indent(text, index, indent)
    consumed = 0
    for source, produced in _pieces(text, index, style, indent):
        if consumed + produced > offset:
            return min(source, max(len(text) - 1, 0))
        consumed += produced
    return max(len(text) - 1, 0)


_END = 1 << 62  # "everything from here on": the position after a scalar's last character


def _pieces(text: str, index: int, style: str, indent: int) -> Iterator[tuple[int, int]]:
    """``(source index, value characters it produces)`` for a scalar's source text, in order.

    Follows YAML's rules: ``''`` and backslash escapes in quoted scalars; in flow scalars a line
    break folds to a space (or to one newline per empty line), the next line's indentation and
    the white space before the break are dropped, and an escaped line break joins the lines;
    a literal block keeps its line breaks; a folded block folds them, except around lines
    indented more than the block.
    """
    end = len(text)
    quote = style if style in ("'", '"') else None
    while index < end:
        char = text[index]
        if quote is not None and char == quote:
            if quote == "'" and text.startswith("''", index):
                yield index, 1
                index += 2
                continue
            break  # the closing quote
        if quote == '"' and char == "\\":
            following = text[index + 1 : index + 2]
            if following in ("\n", "\r"):  # an escaped line break: the lines join
                index = _skip_spaces(text, _after_line_break(text, index + 1))
            else:
                yield index, 1
                index += {"x": 4, "u": 6, "U": 10}.get(following, 2)
            continue
        if char in "\r\n":
            position, empty = _past_empty_lines(text, index, indent if style in ("|", ">") else None)
            if style == "|":
                yield index, 1 + empty
                index = _skip_indent(text, position, indent)
            elif style == ">":
                line_start = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1
                kept = (
                    not text[line_start:index].strip(" \t")  # leading empty lines never fold
                    or _more_indented(text, line_start, indent)
                    or _more_indented(text, position, indent)
                )
                yield index, (1 + empty) if kept else (empty or 1)
                index = _skip_indent(text, position, indent)
            else:
                yield index, empty or 1
                index = _skip_spaces(text, position)
            continue
        if style not in ("|", ">") and char in " \t" and _blank_to_line_end(text, index):
            index += 1  # white space before a folded line break is not part of the value
            continue
        yield index, 1
        index += 1
    yield min(index, end), _END


def _after_line_break(text: str, index: int) -> int:
    return index + (2 if text.startswith("\r\n", index) else 1)


def _past_empty_lines(text: str, index: int, indent: int | None = None) -> tuple[int, int]:
    """Past the line break at ``index`` and any empty lines after it: (next index, empty lines).

    In a block scalar (``indent`` given) a line is empty only up to the block's indentation:
    spaces past it are content.
    """
    position = _after_line_break(text, index)
    empty = 0
    while True:
        probe = position
        limit = len(text) if indent is None else min(len(text), position + indent)
        while probe < limit and text[probe] in " \t":
            probe += 1
        if probe < len(text) and text[probe] in "\r\n":
            empty += 1
            position = _after_line_break(text, probe)
        else:
            return position, empty


def _more_indented(text: str, line_start: int, indent: int) -> bool:
    """Whether the line at ``line_start`` is indented past ``indent`` (kept as is when folding)."""
    rest = text[line_start + indent : line_start + indent + 1]
    return text[line_start : line_start + indent] == " " * indent and rest in (" ", "\t")


def _blank_to_line_end(text: str, index: int) -> bool:
    while index < len(text) and text[index] in " \t":
        index += 1
    return index < len(text) and text[index] in "\r\n"


def _skip_spaces(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t":
        index += 1
    return index


def _block_indent(text: str, index: int) -> int:
    for line in text[index:].splitlines():
        if line.strip():
            return len(line) - len(line.lstrip(" "))
    return 0


def _skip_indent(text: str, index: int, indent: int) -> int:
    skipped = 0
    while skipped < indent and index < len(text) and text[index] == " ":
        index += 1
        skipped += 1
    return index
