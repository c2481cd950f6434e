"""Start-up stays cheap: a command imports only what it uses.

Each case runs the CLI in a fresh interpreter and lists the modules it loaded; the heavy ones
(HTTP clients, the web server, rich, the YAML and JSON Schema libraries, storage, planning)
must appear only in the commands that need them. The CPU figure (``startup_cpu_s``, target
< 0.3 s) is measured by ``benchmarks/bench_scale.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "mappings" / "examples" / "profiles-to-files.yaml"
_NETWORK = ("requests", "httpx", "simple_salesforce", "urllib3", "uvicorn", "starlette", "psycopg", "jwt")
_ENGINE_AT_RUN_TIME = (
    "fieldline.planning.planner",
    "fieldline.planning.evaluation",
    "fieldline.sync",
    "fieldline.service",
    "fieldline.queue.storage",
    "fieldline.queue.sqlite_queue",
    "fieldline.adapters.files.target",
    "fieldline.adapters.salesforce.target",
)
_PROBE = """
import json, sys
sys.argv = ["fieldline", *json.loads(sys.argv[1])]
from fieldline.cli import main
try:
    main()
except SystemExit:
    pass
sys.__stdout__.write("\\n" + json.dumps(sorted(sys.modules)))
"""


def _loaded(*args: str) -> set[str]:
    ran = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(ran.stdout.rsplit("\n", 1)[-1]))


def _under(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == name or m.startswith(name + ".") for name in names))


@pytest.mark.parametrize(
    ("args", "not_loaded"),
    [
        pytest.param(
            ("--help",), (*_NETWORK, *_ENGINE_AT_RUN_TIME, "rich", "jsonschema", "ruamel"), id="help"
        ),
        pytest.param(
            ("plan", "--help"),
            (*_NETWORK, *_ENGINE_AT_RUN_TIME, "rich", "jsonschema", "ruamel"),
            id="plan-help",
        ),
        pytest.param(("validate", str(EXAMPLE)), (*_NETWORK, *_ENGINE_AT_RUN_TIME), id="validate"),
    ],
)
def test_a_command_imports_only_what_it_uses(args: tuple[str, ...], not_loaded: tuple[str, ...]) -> None:
    assert _under(_loaded(*args), not_loaded) == []


def test_the_probe_sees_what_a_command_does_import() -> None:
    # plan against the files target does load the planner and the target: the probe is no tautology
    loaded = _loaded("plan", str(EXAMPLE), "--limit-rows", "0")
    assert {"fieldline.planning.planner", "fieldline.adapters.files.target"} <= loaded
