"""Hypothesis strategies for expression tests: JSON documents and text that normalizers meet."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

KEYS = ("a", "b", "c", "foo", "bar")

scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([0.0, 1.0, 1.5, -2.5]),
    st.sampled_from(["", "a", "b", "foo", "Bar", "1", " x "]),
)


def documents(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Small JSON documents over a few keys, so expressions often hit something."""
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.sampled_from(KEYS), children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


hosts = st.builds(
    lambda labels, suffix: ".".join([*labels, suffix]),
    st.lists(st.sampled_from(["www", "Mail", "app", "example", "test", "a-b", "xn--bcher-kva"]), max_size=3),
    st.sampled_from(["com", "co.uk", "herokuapp.com", "org", "COM", "io.", "localhost", "1"]),
)

# Strings shaped like what match keys are made of: e-mails, URLs, phone numbers, names.
key_text: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=" \t\n+-()@.0123456789aZ_İßﬁ", max_size=20),
    hosts,
    st.builds(
        lambda scheme, host, path: f"{scheme}{host}{path}",
        st.sampled_from(["", "http://", "https://user@", "HTTPS://"]),
        hosts,
        st.sampled_from(["", "/", "/app?x=1", ":8080/a"]),
    ),
    st.builds(lambda local, host: f"{local}@{host}", st.sampled_from(["jane", "J.Doe", " x", "a@b"]), hosts),
)

normalizer_inputs: st.SearchStrategy[Any] = st.one_of(
    key_text,
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.lists(st.none(), max_size=1),
)


_LEAVES = ("a", "b", "c", "foo", "bar", "@", "a.b", "foo.bar", "`1`", "`0`", '`"a"`', "'b'", "`null`")
_LEAVES_MORE = ("`true`", "`false`", "`[1, 2]`", '`{"a": 1}`', "`[]`", "`2.5`", "''")
_UNARY_FUNCTIONS = (
    "length", "type", "to_string", "to_number", "to_array", "not_null", "keys", "values", "sort",
    "reverse", "abs", "sum", "avg", "max", "min", "ceil", "lower", "upper", "trim", "coalesce",
    "root_domain",
)  # fmt: skip
_BINARY_FUNCTIONS = (
    "contains", "starts_with", "ends_with", "join", "not_null", "coalesce", "split",
    "trim_left", "find_first",
)  # fmt: skip
_OPERATORS = ("|", "||", "&&", "==", "!=", "<", "<=", ">", ">=")


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    keys = st.sampled_from(KEYS)
    return st.one_of(
        st.builds("({}).{}".format, inner, keys),
        st.builds("({})[{}]".format, inner, st.sampled_from(["0", "-1", "1"])),
        st.builds("({})[{}]".format, inner, st.sampled_from(["1:", ":-1", "::-1", "::2", ":0"])),
        st.builds("({})[*]".format, inner),
        st.builds("({})[]".format, inner),
        st.builds("({}).*".format, inner),
        st.builds("({})[*].{}".format, inner, keys),
        st.builds("({})[?{}]".format, inner, inner),
        st.builds("({}) {} ({})".format, inner, st.sampled_from(_OPERATORS), inner),
        st.builds("({}) || ({})".format, inner, inner),
        st.builds("({}) && ({})".format, inner, inner),
        st.builds("({})[?@ {} {}]".format, inner, st.sampled_from(_OPERATORS[3:]), inner),
        st.builds("({})[?@]".format, inner),
        st.builds("!({})".format, inner),
        st.builds("[{}, {}]".format, inner, inner),
        st.builds("{{k1: {}, k2: {}}}".format, inner, inner),
        st.builds("{}({})".format, st.sampled_from(_UNARY_FUNCTIONS), inner),
        st.builds("{}({}, {})".format, st.sampled_from(_BINARY_FUNCTIONS), inner, inner),
        st.builds("{}({}, &({}))".format, st.sampled_from(["sort_by", "min_by", "max_by"]), inner, inner),
        st.builds("map(&({}), {})".format, inner, inner),
    )


expressions: st.SearchStrategy[str] = st.recursive(
    st.sampled_from(_LEAVES + _LEAVES_MORE), _extend, max_leaves=8
)
