"""Match normalizers: behaviour, and idempotence (they are applied to both sides of a match)."""

from __future__ import annotations

from typing import Any

import pluggy
import pytest
from hypothesis import given

from fieldline.expressions.normalizers import BUILTIN_NORMALIZERS
from fieldline.plugins.manager import normalizer_registry
from tests.expressions.strategies import normalizer_inputs


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param("lower", "ACME Ltd", "acme ltd", id="lower"),
        pytest.param("lower", "  ", None, id="lower-blank"),
        pytest.param("lower", 42, 42, id="lower-number"),
        pytest.param("lower", True, None, id="lower-bool"),
        pytest.param("lower", float("nan"), None, id="lower-nan"),
        pytest.param("trim", float("inf"), None, id="trim-infinity"),
        pytest.param("trim", 2.5, 2.5, id="trim-float"),
        pytest.param("upper", "gb", "GB", id="upper"),
        pytest.param("upper", None, None, id="upper-null"),
        pytest.param("trim", "  AB-1 ", "AB-1", id="trim"),
        pytest.param("trim", " \t ", None, id="trim-blank"),
        pytest.param("trim", ["a"], None, id="trim-list"),
        pytest.param("collapse_whitespace", " Acme \n\t Ltd  ", "Acme Ltd", id="collapse"),
        pytest.param("collapse_whitespace", "", None, id="collapse-empty"),
        pytest.param("email", "  Jane.Doe@Example.COM ", "jane.doe@example.com", id="email"),
        pytest.param("email", "jane", None, id="email-no-at"),
        pytest.param("email", "a@b@c.com", None, id="email-two-ats"),
        pytest.param("email", "@example.com", None, id="email-no-local"),
        pytest.param("email", "jane@", None, id="email-no-domain"),
        pytest.param("email", "jane doe@example.com", None, id="email-space"),
        pytest.param("email", 7, None, id="email-number"),
        pytest.param("root_domain", "https://www.test.com/app", "test.com", id="root-domain-url"),
        pytest.param("root_domain", "jane@Mail.Example.co.uk", "example.co.uk", id="root-domain-email"),
        pytest.param("root_domain", "test.com", "test.com", id="root-domain-bare"),
        pytest.param("root_domain", "10.0.0.1", None, id="root-domain-ip"),
        pytest.param("root_domain", "", None, id="root-domain-empty"),
        pytest.param("digits", "+44 (20) 7123-4567", "+442071234567", id="digits-plus"),
        pytest.param("digits", "020 7123 4567", "02071234567", id="digits"),
        pytest.param("digits", " +1-555 ", "+1555", id="digits-trimmed-plus"),
        pytest.param("digits", "1+2", "12", id="digits-inner-plus"),
        pytest.param("digits", 5550100, "5550100", id="digits-int"),
        pytest.param("digits", "call me", None, id="digits-none"),
        pytest.param("digits", "+", None, id="digits-plus-only"),
        pytest.param("digits", "٣٤٥", None, id="digits-non-ascii"),
        pytest.param("digits", 1.5, None, id="digits-float"),
    ],
)
def test_normalizer(name: str, value: Any, expected: Any) -> None:
    assert BUILTIN_NORMALIZERS[name](value) == expected


def test_builtins_are_registered_through_the_hook(plugin_manager: pluggy.PluginManager) -> None:
    registered = normalizer_registry(plugin_manager)
    assert set(BUILTIN_NORMALIZERS) <= set(registered)
    assert registered["email"] is BUILTIN_NORMALIZERS["email"]


@pytest.mark.parametrize("name", sorted(BUILTIN_NORMALIZERS))
@given(value=normalizer_inputs)
def test_normalizers_are_idempotent(name: str, value: Any) -> None:
    normalize = BUILTIN_NORMALIZERS[name]
    once = normalize(value)
    assert normalize(once) == once
    # A key is never blank: None stands for "cannot match".
    assert once != ""
