"""API keys for lookup callers: configuration, and comparisons that do not leak which key matched."""

from __future__ import annotations

import hmac
from pathlib import Path

import pytest

from fieldline.config import Secret
from fieldline.errors import ConfigError
from fieldline.lookups.auth import ApiKeys, load_api_keys
from fieldline.plugins.manager import get_plugin_manager
from fieldline.service.lookup_wiring import open_lookups
from fieldline.spec.loader import load_spec_text
from tests.lookups.conftest import SPEC

FIRST = "a" * 32
SECOND = "b" * 32


def test_keys_from_the_environment_and_the_config_file(tmp_path: Path) -> None:
    assert load_api_keys({"FIELDLINE_LOOKUP_API_KEYS": f"{FIRST}, {SECOND}"}).allows(SECOND)
    config = tmp_path / "fieldline.toml"
    config.write_text(f'[lookup]\napi_keys = ["{FIRST}"]\n')
    keys = load_api_keys({"FIELDLINE_CONFIG": str(config)})
    assert keys.allows(FIRST)
    assert not keys.allows(SECOND)
    assert not load_api_keys({})


def test_a_short_key_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(ConfigError, match="shorter than 24 characters") as raised:
        load_api_keys({"FIELDLINE_LOOKUP_API_KEYS": f"{FIRST},short"})
    assert "secrets.token_urlsafe" in (raised.value.hint or "")


@pytest.mark.parametrize(
    "presented",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("a" * 31, id="prefix"),
        pytest.param("a" * 33, id="longer"),
        pytest.param("A" * 32, id="case"),
        pytest.param("ä" * 32, id="unicode"),
    ],
)
def test_only_an_exact_key_is_let_in(presented: str | None) -> None:
    assert not ApiKeys([Secret(FIRST)]).allows(presented)


def test_every_key_is_compared_in_constant_time_whichever_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[bytes] = []
    real = hmac.compare_digest

    def spy(left: bytes, right: bytes) -> bool:
        compared.append(right)
        return real(left, right)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    keys = ApiKeys([Secret(FIRST), Secret(SECOND)])
    assert keys.allows(FIRST)  # the first key matches: the second is compared all the same
    assert compared == [FIRST.encode(), SECOND.encode()]


def test_bearer_and_x_api_key_headers() -> None:
    keys = ApiKeys([Secret(FIRST)])
    assert keys.allows_headers({"authorization": f"Bearer {FIRST}"})
    assert keys.allows_headers({"authorization": f"bearer  {FIRST} "})
    assert keys.allows_headers({"x-api-key": FIRST})
    assert not keys.allows_headers({"authorization": f"Token {FIRST}"})


def test_serving_lookups_without_any_key_stops_at_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FIELDLINE_LOOKUP_API_KEYS", raising=False)
    empty = tmp_path / "fieldline.toml"
    empty.write_text("")
    monkeypatch.setenv("FIELDLINE_CONFIG", str(empty))
    spec = load_spec_text(SPEC)
    with pytest.raises(ConfigError, match="no caller API key \\(or JWT public key\\) is configured"):
        open_lookups([spec], get_plugin_manager(load_entrypoints=False))


def test_specs_without_lookups_serve_as_before() -> None:
    spec = load_spec_text(SPEC.split("lookups:")[0])
    assert open_lookups([spec], get_plugin_manager(load_entrypoints=False)) is None
