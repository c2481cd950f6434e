"""The extra functions, beyond the documented examples: edges, nulls and errors."""

from __future__ import annotations

from typing import Any

import pytest

from fieldline.errors import EvaluationError
from fieldline.expressions.compiled import FunctionRegistry, compile_expression


def search(registry: FunctionRegistry, text: str, document: Any = None) -> Any:
    return compile_expression(text, registry).search(document)


@pytest.mark.parametrize(
    ("text", "document", "expected"),
    [
        # JEP-14's own examples
        pytest.param("trim(@, '')", "   subject string   ", "subject string", id="trim-empty-chars"),
        pytest.param("trim(@, 'gsu ')", "   subject string   ", "bject strin", id="trim-chars"),
        pytest.param("trim_left(@, 'su ')", "   subject string   ", "bject string   ", id="trim-left"),
        pytest.param("trim_right(@, 'gsu ')", "   subject string   ", "   subject strin", id="trim-right"),
        pytest.param("split('/', '/')", None, ["", ""], id="split-only-separator"),
        pytest.param("split('a|-|b|-|c', '|-|', `0`)", None, ["a|-|b|-|c"], id="split-count-0"),
        pytest.param("split('a|-|b|-|c', '|-|', `1`)", None, ["a", "b|-|c"], id="split-count-1"),
        pytest.param("split('all', '', `1`)", None, ["a", "ll"], id="split-chars-count"),
        pytest.param("split('ab', '', `5`)", None, ["a", "b"], id="split-chars-big-count"),
        pytest.param("split('', '')", None, [], id="split-empty"),
        pytest.param("split('a,b', ',', `1.0`)", None, ["a", "b"], id="split-integral-float"),
        pytest.param("replace(@, 'aa', '-', `0`)", "aabaaabaaaab", "aabaaabaaaab", id="replace-0"),
        pytest.param("replace(@, 'aa', '-')", "aabaaabaaaab", "-b-ab--b", id="replace-all"),
        pytest.param("pad_left(@, `10`)", "string", "    string", id="pad-left-spaces"),
        pytest.param("pad_right(@, `10`, '-')", "string", "string----", id="pad-right"),
        pytest.param("pad_right(@, `-3`)", "string", "string", id="pad-negative-width"),
        pytest.param("find_first(@, 'string', `-99`, `100`)", "subject string", 8, id="find-clamped"),
        pytest.param("find_first(@, 'string', `0`, `13`)", "subject string", None, id="find-end"),
        pytest.param("find_first(@, 's', `1`)", "subject string", 8, id="find-start"),
        pytest.param("find_first(@, '')", "subject", None, id="find-empty-sub"),
        pytest.param("find_last(@, 's', `0`, `8`)", "subject string", 0, id="find-last-window"),
        pytest.param("find_last(@, 'x')", "subject", None, id="find-last-none"),
        # null in, null out
        pytest.param("upper(a)", {}, None, id="upper-null"),
        pytest.param("trim(a)", {}, None, id="trim-null"),
        pytest.param("split(a, ',')", {}, None, id="split-null"),
        pytest.param("replace(a, 'x', 'y')", {}, None, id="replace-null"),
        pytest.param("pad_left(a, `3`)", {}, None, id="pad-null"),
        pytest.param("find_first(a, 'x')", {}, None, id="find-null"),
        pytest.param("to_datetime(a)", {}, None, id="datetime-null"),
        pytest.param("format_date(a, '%Y')", {}, None, id="format-null"),
        # coalesce keeps false, "", [] and {}
        pytest.param("coalesce(a, b)", {"b": ""}, "", id="coalesce-empty-string"),
        pytest.param("coalesce(a, b, c)", {"c": []}, [], id="coalesce-empty-list"),
        pytest.param("coalesce(a)", {}, None, id="coalesce-all-null"),
        # root_domain
        pytest.param("root_domain(@)", "WWW.Example.COM.", "example.com", id="root-domain-case-dot"),
        pytest.param("root_domain(@)", "http://user:pw@a.b.example.org:8080/x?y", "example.org", id="url"),
        pytest.param("root_domain(@)", "localhost", None, id="localhost"),
        pytest.param("root_domain(@)", "http://xn--bcher-kva.de/x", "bücher.de", id="idn-punycode"),
        pytest.param("root_domain(@)", "www.Bücher.DE", "bücher.de", id="idn-unicode"),
        pytest.param("root_domain(@)", "xn--abc.com", "xn--abc.com", id="idn-bad-punycode"),
        pytest.param("root_domain(@)", "co.uk", None, id="bare-suffix"),
        pytest.param("root_domain(@)", "   ", None, id="blank"),
        pytest.param("root_domain(@)", 42, None, id="number"),
        pytest.param("root_domain(@)", "[::1]", None, id="ipv6"),
        # dates
        pytest.param("to_datetime(@)", "2018-01-15", "2018-01-15T00:00:00Z", id="date-only"),
        pytest.param("to_datetime(@)", "2018-01-15T11:39:17z", "2018-01-15T11:39:17Z", id="lower-z"),
        pytest.param("to_datetime(@)", " 2018-01-15T11:39:17Z ", "2018-01-15T11:39:17Z", id="spaces"),
        pytest.param("to_datetime(@)", 1516016357.5, "2018-01-15T11:39:17.500Z", id="float-seconds"),
        pytest.param("to_datetime(@)", 0, "1970-01-01T00:00:00Z", id="epoch"),
        pytest.param("to_date(@)", "2018-01-15 11:39:17", "2018-01-15", id="passfort-date"),
        pytest.param("format_date(@, '%Y-%m-%dT%H:%M')", 1516016357, "2018-01-15T11:39", id="format"),
    ],
)
def test_function_results(text: str, document: Any, expected: Any, registry: FunctionRegistry) -> None:
    assert search(registry, text, document) == expected
    # Same answer through jmespath's own interpreter (our functions plugged into it).
    assert compile_expression(text, registry).search_reference(document) == expected


@pytest.mark.parametrize(
    ("text", "document", "reason", "words"),
    [
        pytest.param("lower(@)", 42, "invalid-type", "must be a string or null, got number", id="lower"),
        pytest.param("split(@, `1`)", "a", "invalid-type", "argument 2 must be a string", id="sep"),
        pytest.param("split(@, ',', `-1`)", "a", "invalid-value", "count must be at least 0", id="count"),
        pytest.param("split(@, ',', `1.5`)", "a", "invalid-value", "whole number", id="fraction"),
        pytest.param("replace(@, 'a', 'b', `-2`)", "a", "invalid-value", "at least 0", id="replace"),
        pytest.param("pad_left(@, `5`, '')", "a", "invalid-value", "exactly one character", id="pad"),
        pytest.param("pad_left(@, `2.5`)", "a", "invalid-value", "whole number", id="width"),
        pytest.param("find_first(@, 'a', `0.5`)", "a", "invalid-value", "whole number", id="start"),
        pytest.param("to_date(@)", "15/01/2018", "invalid-value", "cannot read '15/01/2018'", id="date"),
        pytest.param("to_date(@)", True, "invalid-type", "got boolean", id="date-bool"),
        pytest.param("to_date(@)", 1e20, "invalid-value", "out of range", id="timestamp-range"),
        pytest.param("to_date(@)", [], "invalid-type", "got array", id="date-array"),
        pytest.param("format_date(@, `1`)", "2018-01-15", "invalid-type", "argument 2", id="format"),
    ],
)
def test_function_errors(
    text: str, document: Any, reason: str, words: str, registry: FunctionRegistry
) -> None:
    with pytest.raises(EvaluationError) as caught:
        search(registry, text, document)
    assert caught.value.context["reason"] == reason
    assert words in caught.value.message
    assert caught.value.context["expression"] == text


def test_date_error_has_a_hint(registry: FunctionRegistry) -> None:
    with pytest.raises(EvaluationError) as caught:
        search(registry, "to_datetime(@)", "soon")
    assert caught.value.hint is not None
    assert "2018-01-15 11:39:17" in caught.value.hint


def test_root_outside_a_scope_is_the_searched_document(registry: FunctionRegistry) -> None:
    assert search(registry, "root()", {"a": 1}) == {"a": 1}
    assert search(registry, "items[].[@, root().name]", {"items": [1], "name": "n"}) == [[1, "n"]]
