"""``fieldline.testing`` as shipped: its exports, the pytest plugin, the ``testing`` extra."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tomllib

import pluggy

import fieldline.testing
from fieldline.contracts import AdapterKind, FieldDescription, ObjectDescription, Write, WriteOperation
from fieldline.plugins.manager import adapter_registry
from fieldline.testing import MemoryTarget
from tests.conftest import REPO_ROOT


def test_all_lists_every_lazy_export() -> None:
    assert fieldline.testing.__all__ == [
        "MemorySource",
        "MemoryTarget",
        "WebhookRequest",
        "get_queue_state_machine",
        "get_queue_test_class",
        "get_source_test_class",
        "get_target_test_class",
        "get_webhook_source_test_class",
        "serve_in_thread",
    ]
    assert all(callable(getattr(fieldline.testing, name)) for name in fieldline.testing.__all__)


def test_the_extra_and_the_entry_point_are_declared() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert {requirement.split(">")[0] for requirement in extras["testing"]} == {"pytest", "hypothesis"}
    assert "fieldline[testing]" in extras["dev"]
    assert project["entry-points"]["pytest11"] == {"fieldline": "fieldline.testing.pytest_plugin"}


def test_loading_the_plugin_imports_almost_nothing() -> None:
    # Every pytest run in an environment with fieldline loads the plugin: it must stay cheap.
    script = (
        "import json, sys; before = set(sys.modules); import fieldline.testing.pytest_plugin; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", f"import pytest; {script}"], capture_output=True, check=True, text=True
        ).stdout
    )
    fieldline_modules = {name for name in loaded if name.startswith("fieldline")}
    assert fieldline_modules <= {
        "fieldline",
        "fieldline.contracts",  # errors' Stop values: dataclasses and enums only
        "fieldline.errors",
        "fieldline.exports",
        "fieldline.plugins",
        "fieldline.plugins.hookspecs",
        "fieldline.testing",
        "fieldline.testing.pytest_plugin",
    }
    assert not [name for name in loaded if name.split(".")[0] in {"hypothesis", "httpx", "starlette"}]


def test_plugin_manager_fixture_has_the_built_ins(fieldline_plugin_manager: pluggy.PluginManager) -> None:
    assert ("files", AdapterKind.SOURCE) in adapter_registry(fieldline_plugin_manager)


def test_free_port_fixture_can_be_bound(free_port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", free_port))


def test_memory_target_fixture_starts_empty(memory_target: MemoryTarget) -> None:
    assert memory_target.records == {}
    (result,) = memory_target.apply(
        [Write(key="k", object="O", operation=WriteOperation.CREATE, fields={})]
    ).results
    assert (result.ok, result.created, memory_target.records) == (True, True, {"O": [{"Id": "O-1000"}]})


def test_memory_target_refuses_a_create_without_a_required_field() -> None:
    target = MemoryTarget(
        descriptions={
            "O": ObjectDescription(name="O", fields={"Name": FieldDescription(name="Name", required=True)})
        }
    )
    missing, blank, good = target.apply(
        [
            Write(key="missing", object="O", operation=WriteOperation.CREATE, fields={}),
            Write(key="blank", object="O", operation=WriteOperation.CREATE, fields={"Name": ""}),
            Write(key="good", object="O", operation=WriteOperation.CREATE, fields={"Name": "n"}),
        ]
    ).results
    assert missing.error is not None
    assert (missing.error.code, missing.error.fields) == ("REQUIRED_FIELD_MISSING", ("Name",))
    assert not blank.ok
    assert good.ok
    assert [record["Name"] for record in target.records["O"]] == ["n"]
