"""A broken third-party plugin, seen from the command line: fieldline names it once on stderr
and every command that does not need it works (real processes, plugins on PYTHONPATH)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.plan_lines import read_plan_lines
from tests.plugins.throwaway import MISSING_IMPORT, RAISING_HOOKS, write_plugin

FILES_SPEC = REPO_ROOT / "mappings" / "examples" / "profiles-to-files.yaml"
FIELDLINE = Path(sys.executable).parent / "fieldline"


def fieldline(plugins_dir: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FIELDLINE_")}
    env.update(PYTHONPATH=str(plugins_dir), COLUMNS="200", **environ)
    return subprocess.run(
        [str(FIELDLINE), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def warnings(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("fieldline: warning:")]


@pytest.fixture
def broken(plugins_dir: Path) -> Path:
    write_plugin(plugins_dir, name="broken", distribution="fieldline-broken", source=MISSING_IMPORT)
    return plugins_dir


@pytest.fixture
def raising(plugins_dir: Path) -> Path:
    write_plugin(plugins_dir, name="widgets", distribution="fieldline-widgets", source=RAISING_HOOKS)
    return plugins_dir


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("--help",), id="help"),
        pytest.param(("plan", str(FILES_SPEC), "--json"), id="plan"),
        pytest.param(("emulator", "--help"), id="emulator-help"),
    ],
)
def test_a_plugin_with_a_missing_import_is_named_once_and_fieldline_works(
    broken: Path, args: tuple[str, ...]
) -> None:
    result = fieldline(broken, *args)
    assert result.returncode == 0, result.stderr
    (warning,) = warnings(result)
    assert "plugin 'broken' (from fieldline-broken) could not be loaded" in warning
    assert "ModuleNotFoundError: No module named 'fieldline_no_such_dependency'" in warning
    assert "FIELDLINE_DISABLE_PLUGINS=broken" in warning
    assert "internal error" not in result.stderr
    if args[0] == "plan":
        assert read_plan_lines(result.stdout)["counts"]["error"] == 0


def test_plugins_lists_the_broken_plugin_as_failed(broken: Path) -> None:
    result = fieldline(broken, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["failed"] == [
        {
            "name": "broken",
            "distribution": "fieldline-broken",
            "stage": "load",
            "error": "ModuleNotFoundError: No module named 'fieldline_no_such_dependency'",
        }
    ]
    assert "broken" not in {plugin["name"] for plugin in listing["plugins"]}
    assert "files" in {plugin["name"] for plugin in listing["plugins"]}


def test_a_hook_that_raises_is_named_not_an_internal_error(raising: Path) -> None:
    help_result = fieldline(raising, "--help")
    assert help_result.returncode == 0
    assert "plan" in help_result.stdout
    (warning,) = warnings(help_result)
    assert "plugin 'widgets' (from fieldline-widgets) failed in register_commands" in warning
    assert "RuntimeError: no widget commands today" in warning

    plan_result = fieldline(raising, "plan", str(FILES_SPEC), "--json")
    assert plan_result.returncode == 0, plan_result.stderr
    assert [w for w in warnings(plan_result) if "register_adapters" in w] == [
        "fieldline: warning: plugin 'widgets' (from fieldline-widgets) failed in register_adapters: "
        "RuntimeError: the widget API key is not set. fieldline goes on without it (commands that need "
        "it will fail); to skip it, set FIELDLINE_DISABLE_PLUGINS=widgets or uninstall fieldline-widgets."
    ]
    assert "internal error" not in plan_result.stderr

    listing = json.loads(fieldline(raising, "plugins", "--json").stdout)
    assert {(f["name"], f["stage"]) for f in listing["failed"]} == {
        ("widgets", "register_adapters"),
        ("widgets", "register_commands"),
    }


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({"FIELDLINE_DISABLE_PLUGINS": "broken"}, id="disabled-by-name"),
        pytest.param({"FIELDLINE_DISABLE_PLUGINS": "fieldline-broken"}, id="disabled-by-distribution"),
        pytest.param({"FIELDLINE_LOAD_PLUGINS": ""}, id="no-third-party-plugins"),
    ],
)
def test_a_disabled_plugin_is_not_imported(broken: Path, environ: dict[str, str]) -> None:
    assert warnings(fieldline(broken, "--help", **environ)) == []
    assert warnings(fieldline(broken, "plan", str(FILES_SPEC), **environ)) == []
    listing = json.loads(fieldline(broken, "plugins", "--json", **environ).stdout)
    assert listing["failed"] == []
    assert listing["disabled"] == [{"name": "broken", "distribution": "fieldline-broken"}]
