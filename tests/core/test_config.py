"""Which config file is read, and what an unreadable one does (``fieldline.config``).

CI runs as root, who can read anything, so an unreadable file is simulated by making the read
raise ``PermissionError`` for that one path.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fieldline.cli import main
from fieldline.config import adapter_settings, config_file_path
from fieldline.errors import ConfigError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home and working directory, no FIELDLINE_CONFIG; returns the default config path."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIELDLINE_CONFIG", raising=False)
    config = tmp_path / "home" / ".config" / "fieldline" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[demo]\nregion = "eu"\n')
    return config


def _deny(monkeypatch: pytest.MonkeyPatch, denied: Path, method: str) -> None:
    """Make ``Path.<method>`` raise PermissionError for ``denied``, as for a user without rights."""
    original: Callable[..., Any] = getattr(Path, method)

    def guarded(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.absolute() == denied.absolute():
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, method, guarded)


def test_the_default_file_is_read(home: Path) -> None:
    assert adapter_settings("demo", {}) == {"region": "eu"}


def test_an_unreadable_default_file_is_skipped_with_a_warning(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _deny(monkeypatch, home, "read_bytes")
    with caplog.at_level(logging.WARNING, logger="fieldline.config"):
        settings = adapter_settings("demo", {"FIELDLINE_DEMO_TOKEN": "t"})
    assert settings == {"token": "t"}
    (record,) = caplog.records
    assert str(home) in record.getMessage()
    assert "skipped" in record.getMessage()
    assert "Permission denied" in record.getMessage()
    assert "FIELDLINE_CONFIG" in record.getMessage()


def test_a_default_directory_that_cannot_be_entered_is_skipped(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Path.is_file raises PermissionError (EACCES is not among the errors it swallows).
    _deny(monkeypatch, home, "is_file")
    with caplog.at_level(logging.WARNING, logger="fieldline.config"):
        assert config_file_path({}) is None
        assert adapter_settings("demo", {}) == {}
    assert all("skipped" in record.getMessage() for record in caplog.records)


def test_an_unreadable_local_file_falls_back_to_the_home_one(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "fieldline.toml"
    local.write_text('[demo]\nregion = "us"\n')
    assert adapter_settings("demo", {}) == {"region": "us"}
    _deny(monkeypatch, local, "read_bytes")
    assert adapter_settings("demo", {}) == {"region": "eu"}


@pytest.mark.parametrize("method", ["read_bytes", "is_file"])
def test_an_unreadable_named_file_is_a_config_error(
    home: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    _deny(monkeypatch, home, method)
    with pytest.raises(ConfigError) as info:
        adapter_settings("demo", {"FIELDLINE_CONFIG": str(home)})
    assert str(home) in str(info.value)
    assert "Permission denied" in str(info.value)


def test_a_named_file_that_is_not_utf8_is_a_config_error(home: Path) -> None:
    home.write_bytes(b"[demo]\nregion = '\xff'\n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        adapter_settings("demo", {"FIELDLINE_CONFIG": str(home)})


def _exit_status(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["fieldline", *argv])
    with pytest.raises(SystemExit) as done:
        main()
    return int(done.value.code or 0)


def test_the_cli_exits_2_for_an_unreadable_named_file(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _deny(monkeypatch, home, "read_bytes")
    monkeypatch.setenv("FIELDLINE_CONFIG", str(home))
    assert _exit_status(["describe", "Account"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert f"error: {home}: cannot read config file: Permission denied" in err
    assert "internal error" not in err


def test_the_cli_goes_on_past_an_unreadable_default_file(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Before: PermissionError escaped as "internal error" (exit 3). Now the file is skipped and
    # the command fails for its own reason: no Salesforce credentials (a config error, exit 2).
    _deny(monkeypatch, home, "is_file")
    for name in [key for key in os.environ if key.startswith("FIELDLINE_SALESFORCE_")]:
        monkeypatch.delenv(name)
    assert _exit_status(["describe", "Account"], monkeypatch) == 2
    assert "no Salesforce credentials" in capsys.readouterr().err
    assert [record.getMessage() for record in caplog.records] == [
        f"{home}: config file skipped, cannot read it (Permission denied); "
        "set FIELDLINE_CONFIG to use another file"
    ]
