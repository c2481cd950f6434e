"""Built-ins are ordinary plugins: declared in pyproject's entry-point group, found the same way
in a checkout without metadata, and contributing their commands through the public hooks."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from click.testing import CliRunner

from fieldline.cli import cli
from fieldline.plugins.loading import builtin_sources, discovered_builtins
from fieldline.plugins.manager import emulator_registry, get_plugin_manager
from tests.conftest import REPO_ROOT


def declared_entry_points() -> dict[str, str]:
    document = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    entry_points: dict[str, str] = document["project"]["entry-points"]["fieldline"]
    return entry_points


def test_the_installed_built_ins_are_the_declared_entry_points() -> None:
    installed = {source.name: source.target for source in builtin_sources()}
    assert installed == declared_entry_points(), "reinstall (make install) after editing pyproject.toml"


def test_discovery_without_metadata_finds_the_declared_built_ins() -> None:
    assert {source.name: source.target for source in discovered_builtins()} == declared_entry_points()


def test_adapters_contribute_their_emulators() -> None:
    emulators = emulator_registry(get_plugin_manager(load_entrypoints=False))
    assert {name: command.target for name, command in emulators.items()} == {
        "salesforce": "fieldline.adapters.salesforce.emulator.cli:salesforce",
        "passfort": "fieldline.adapters.passfort.emulator.cli:passfort",
    }


def test_emulator_and_demo_commands_come_from_plugins() -> None:
    runner = CliRunner()
    emulator_help = runner.invoke(cli, ["emulator", "--help"])
    assert emulator_help.exit_code == 0, emulator_help.output
    assert "salesforce" in emulator_help.output
    assert "passfort" in emulator_help.output
    salesforce_help = runner.invoke(cli, ["emulator", "salesforce", "--help"])
    assert salesforce_help.exit_code == 0, salesforce_help.output
    assert "--org" in salesforce_help.output
    demo_help = runner.invoke(cli, ["demo", "--help"])
    assert demo_help.exit_code == 0, demo_help.output
    assert "end to end" in demo_help.output


def test_help_imports_no_adapter_or_heavy_module() -> None:
    probe = (
        "import sys\n"
        "from fieldline.cli import cli\n"
        "try:\n"
        "    cli.main(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('httpx', 'rich', 'simple_salesforce', 'starlette', 'uvicorn', 'jsonschema', 'ruamel')\n"
        "loaded = [name for name in sys.modules if name.split('.')[0] in heavy]\n"
        "loaded += [name for name in sys.modules if '.emulator' in name or name.endswith('.demo')]\n"
        "print(sorted(loaded), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "demo" in result.stdout
    assert result.stderr.strip() == "[]"
