"""Settings: environment over spec options, secrets wrapped, bad values refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldline.adapters.passfort.settings import DEFAULT_BASE_URL, load_settings
from fieldline.config import Secret
from fieldline.errors import ConfigError


def test_defaults_without_any_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({}, environ={})
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.api_key is None
    assert settings.webhook_secret is None


def test_environment_wins_over_options_and_secrets_are_wrapped() -> None:
    environ = {
        "FIELDLINE_PASSFORT_API_KEY": "k-123",
        "FIELDLINE_PASSFORT_WEBHOOK_SECRET": "s-456",
        "FIELDLINE_PASSFORT_BASE_URL": "http://127.0.0.1:9/4.0/",
        "FIELDLINE_PASSFORT_MAX_RETRIES": "2",
    }
    settings = load_settings({"base_url": "https://sandbox.example/4.0", "timeout": 3}, environ=environ)
    assert settings.base_url == "http://127.0.0.1:9/4.0"
    assert settings.timeout == 3.0
    assert settings.max_retries == 2
    assert settings.api_key == Secret("k-123")
    assert "k-123" not in repr(settings)
    assert "s-456" not in repr(settings)


def test_config_file_table_is_read(tmp_path: Path) -> None:
    config = tmp_path / "fieldline.toml"
    config.write_text('[passfort]\napi_key = "from-file"\ntimeout = 7\n')
    settings = load_settings({}, environ={"FIELDLINE_CONFIG": str(config)})
    assert settings.api_key is not None
    assert settings.api_key.reveal() == "from-file"
    assert settings.timeout == 7.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"base_url": "ftp://x"}, r"not an http\(s\) URL", id="scheme"),
        pytest.param({"timeout": "soon"}, "must be a number", id="timeout-text"),
        pytest.param({"max_retries": -1}, "must not be negative", id="negative"),
    ],
)
def test_bad_values_are_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(options, environ={})
    assert "source.options." in str(caught.value)
