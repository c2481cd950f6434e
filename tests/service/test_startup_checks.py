"""What ``serve`` checks before it answers anything: a writable queue, the operator token, Host names."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldline.cli import cli, main
from fieldline.config import Secret, operator_token
from fieldline.errors import ConfigError
from fieldline.plugins.manager import get_plugin_manager
from fieldline.service.admin_auth import AdminAccess
from fieldline.service.context import ServiceContext, open_context
from fieldline.spec.loader import load_spec
from tests.conftest import REPO_ROOT
from tests.readonly import make_read_only

SPEC = REPO_ROOT / "mappings" / "passfort-salesforce.yaml"
TOKEN = "operator-token-0123456789"


class Captured(Exception):
    """Raised instead of building the app, so no test ever starts uvicorn."""


@pytest.fixture
def captured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    seen: dict[str, object] = {}

    def create_app(self: ServiceContext, **kwargs: object) -> None:
        seen.update(kwargs)
        raise Captured

    monkeypatch.setattr(ServiceContext, "create_app", create_app)
    monkeypatch.delenv("FIELDLINE_OPERATOR_TOKEN", raising=False)
    monkeypatch.setenv(
        "FIELDLINE_CONFIG", str(REPO_ROOT / "pyproject.toml")
    )  # a TOML file without [operator]
    return seen


def test_open_context_refuses_a_queue_it_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = get_plugin_manager()
    db = tmp_path / "f.db"
    make_read_only(db, monkeypatch)
    with pytest.raises(ConfigError, match="cannot be written") as caught:
        open_context(load_spec(SPEC, plugin_manager=manager), db, plugin_manager=manager)
    assert "readonly database" in str(caught.value)
    assert "write access" in str(caught.value.hint)


def test_serve_on_a_read_only_queue_exits_2_before_serving(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    captured: dict[str, object],
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "f.db"
    make_read_only(db, monkeypatch)
    monkeypatch.setattr(
        sys, "argv", ["fieldline", "serve", "--spec", str(SPEC), "--db", str(db), "--port", "0"]
    )
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert captured == {}, "no app was built"
    err = capsys.readouterr().err
    assert "cannot be written" in err
    assert "Traceback" not in err


def test_serve_reads_the_token_and_hands_the_hosts_to_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: dict[str, object]
) -> None:
    monkeypatch.setenv("FIELDLINE_OPERATOR_TOKEN", TOKEN)
    result = CliRunner().invoke(
        cli,
        [
            *("serve", "--spec", str(SPEC), "--db", str(tmp_path / "f.db"), "--workers", "0", "--port", "0"),
            *("--allowed-host", "crm.example", "--allowed-host", "*.hooks.example"),
        ],
    )
    assert isinstance(result.exception, Captured), result.output
    assert captured["admin"] == AdminAccess(
        token=Secret(TOKEN),
        allowed_hosts=["localhost", "127.0.0.1", "[::1]", "crm.example", "*.hooks.example"],
    )


def test_serve_without_a_token_says_status_is_loopback_only(
    tmp_path: Path, captured: dict[str, object]
) -> None:
    result = CliRunner().invoke(
        cli, ["serve", "--spec", str(SPEC), "--db", str(tmp_path / "f.db"), "--workers", "0", "--port", "0"]
    )
    assert isinstance(result.exception, Captured), result.output
    admin = captured["admin"]
    assert isinstance(admin, AdminAccess)
    assert admin.token is None


@pytest.mark.parametrize(
    ("environ", "config", "expected"),
    [
        pytest.param({"FIELDLINE_OPERATOR_TOKEN": TOKEN}, "", TOKEN, id="environment"),
        pytest.param({}, f'[operator]\ntoken = "{TOKEN}"\n', TOKEN, id="config-file"),
        pytest.param({"FIELDLINE_OPERATOR_TOKEN": ""}, "", None, id="empty-is-none"),
        pytest.param({}, "", None, id="unset"),
    ],
)
def test_operator_token_comes_from_the_environment_or_the_config_file(
    tmp_path: Path, environ: dict[str, str], config: str, expected: str | None
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(config, "utf-8")
    token = operator_token({"FIELDLINE_CONFIG": str(path), **environ})
    assert (token.reveal() if token else None) == expected
    assert token is None or TOKEN not in repr(token)


def test_a_short_operator_token_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("", "utf-8")
    with pytest.raises(ConfigError, match="at least 16 characters"):
        operator_token({"FIELDLINE_CONFIG": str(path), "FIELDLINE_OPERATOR_TOKEN": "admin"})
