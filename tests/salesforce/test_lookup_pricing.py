"""Pricing query URLs without encoding them: the shortcut must agree with ``quote_plus``."""

from __future__ import annotations

from urllib.parse import quote_plus

from hypothesis import given, strategies as st

from fieldline.adapters.salesforce.lookup import _encoded
from fieldline.adapters.salesforce.soql import _STRING_ESCAPES, quote_string


@given(st.text())
def test_encoded_length_is_quote_plus_length(text: str) -> None:
    assert _encoded(text) == len(quote_plus(text))


@given(st.text())
def test_quote_string_escapes_each_special_character(text: str) -> None:
    expected = "'" + "".join(_STRING_ESCAPES.get(char, char) for char in text) + "'"
    assert quote_string(text) == expected
