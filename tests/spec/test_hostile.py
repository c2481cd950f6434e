"""``validate`` (and every command that loads a spec) on hostile files stays bounded.

Before: a 2 MB file with a 1M-item list took 120 s and 1.2 GB, an 11.6 MB file 196 s, a 1 MB
JMESPath literal 26 s, ``/dev/zero`` read until MemoryError and a FIFO blocked forever. Each
case asserts the exit status, the located message and a generous bound on CPU time
(``time.process_time``, so a busy machine does not make the test flaky).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pluggy
import pytest
from click.testing import CliRunner

import fieldline.plugins.manager
from fieldline.cli import cli
from fieldline.errors import ConfigError, SpecError
from fieldline.spec.limits import MAX_BYTES_VARIABLE
from fieldline.spec.loader import load_spec
from tests.spec.fakes import fake_plugin_manager

CPU_SECONDS = 10.0  # each case takes about a second; minutes before
MIB = 1 << 20
HEAD = (
    "fieldline: 1\nname: hostile\nrecords:\n  - name: r\n    object: Account\n    fields:\n      Name: name\n"
)


@pytest.fixture(autouse=True)
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    def factory(**_: object) -> pluggy.PluginManager:
        return fake_plugin_manager()

    monkeypatch.setattr(fieldline.plugins.manager, "get_plugin_manager", factory)
    monkeypatch.delenv(MAX_BYTES_VARIABLE, raising=False)


def validate(*args: str, stdin: str | None = None) -> tuple[int, str, float]:
    """Exit status, output and the CPU seconds one ``fieldline validate`` took."""
    started = time.process_time()
    result = CliRunner().invoke(cli, ["validate", *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.output, time.process_time() - started


def million_item_list(path: Path) -> Path:
    path.write_text("fieldline: 1\nname: x\nrecords: [" + ",".join(["1"] * 1_000_000) + "]\n")
    return path


def test_a_2mb_file_with_a_million_item_list_is_refused_for_its_size(tmp_path: Path) -> None:
    code, out, cpu = validate(str(million_item_list(tmp_path / "list.yaml")))
    assert code == 1
    assert "list.yaml:1:1: error: the spec is 1.9 MiB, over the limit of 1 MiB (1,048,576 bytes)" in out
    assert f"raise the limit with {MAX_BYTES_VARIABLE}=<bytes>" in out
    assert cpu < CPU_SECONDS


def test_with_the_size_limit_raised_the_list_length_is_refused_where_it_crosses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_BYTES_VARIABLE, str(4 * MIB))
    code, out, cpu = validate(str(million_item_list(tmp_path / "list.yaml")))
    assert code == 1
    # item 2,001 starts at column 13 + 2 * 2,000
    assert "list.yaml:3:4011: error: a list holds more than 2,000 items" in out
    assert "this limit cannot be raised" in out
    assert cpu < CPU_SECONDS


def test_a_json_spec_with_a_long_list_is_refused_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_BYTES_VARIABLE, str(4 * MIB))
    path = tmp_path / "list.json"
    path.write_text(json.dumps({"fieldline": 1, "name": "x", "records": [1] * 1_000_000}))
    code, out, cpu = validate(str(path))
    assert code == 1
    assert "list.json:1:" in out
    assert "a list holds more than 2,000 items" in out
    assert cpu < CPU_SECONDS


def test_a_spec_with_too_many_values_is_refused_where_it_crosses(tmp_path: Path) -> None:
    path = tmp_path / "wide.yaml"
    path.write_text(HEAD + "".join(f"      F{i}__c: name\n" for i in range(6_000)))
    code, out, cpu = validate(str(path))
    assert code == 1
    # 16 nodes before the fields, two per field: the 10,001st is field 4,992's key, on line 5,000
    assert "wide.yaml:5000:7: error: the spec holds more than 10,000 keys and values" in out
    assert cpu < CPU_SECONDS


def test_an_11_mb_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(HEAD + "".join(f"      F{i}__c: name\n" for i in range(550_000)))
    assert path.stat().st_size > 11 * MIB
    code, out, cpu = validate(str(path))
    assert code == 1
    assert "big.yaml:1:1: error: the spec is 12 MiB, over the limit of 1 MiB" in out
    assert cpu < CPU_SECONDS


def test_a_1mb_jmespath_literal_is_refused_at_its_field(tmp_path: Path) -> None:
    path = tmp_path / "literal.yaml"
    path.write_text(HEAD + '      Notes__c: "`' + "x" * 1_000_000 + '`"\n')
    code, out, cpu = validate(str(path))
    assert code == 1
    assert (
        "literal.yaml:8:18: error: records[0].fields.Notes__c: the expression is 1,000,002 characters "
        "long, over the limit of 10,000"
    ) in out
    assert cpu < CPU_SECONDS


def test_an_expression_within_the_limit_is_still_checked(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(HEAD + "      Notes__c: " + "a" + ".a" * 4_900 + "\n")
    code, out, _ = validate(str(path))
    assert (code, "no problems" in out) == (0, True), out


def test_deeply_nested_expression_is_a_located_problem(tmp_path: Path) -> None:
    path = tmp_path / "nested.yaml"
    path.write_text(HEAD + "      Notes__c: '" + "[" * 4_000 + "]" * 4_000 + "'\n")
    code, out, cpu = validate(str(path))
    assert code == 1
    assert "nested.yaml:8:18: error: records[0].fields.Notes__c: the expression is nested too deeply" in out
    assert cpu < CPU_SECONDS


def test_deeply_nested_yaml_is_a_located_problem(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("fieldline: 1\nname: x\nrecords: " + "[" * 500_000 + "\n")
    code, out, cpu = validate(str(path))
    assert code == 1
    assert "deep.yaml:3:" in out
    assert "the spec nests more than 64 levels deep" in out
    assert cpu < CPU_SECONDS


def test_dev_zero_is_refused_as_a_device(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this system")
    code, out, cpu = validate("/dev/zero")
    assert code == 2
    assert "/dev/zero: error: is a character device, not a regular file" in out
    assert cpu < CPU_SECONDS


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


@pytest.mark.timeout(60)  # before the fix, opening the FIFO blocked forever
def test_a_fifo_is_refused_without_blocking(fifo: Path) -> None:
    code, out, cpu = validate(str(fifo))
    assert code == 2
    assert "pipe.yaml: error: is a named pipe (FIFO), not a regular file" in out
    assert cpu < CPU_SECONDS


@pytest.mark.timeout(60)
def test_plan_sync_and_serve_load_specs_under_the_same_limits(fifo: Path, tmp_path: Path) -> None:
    with pytest.raises(SpecError) as refused:
        load_spec(fifo, plugin_manager=fake_plugin_manager())
    assert refused.value.problems[0].code == "io"
    big = million_item_list(tmp_path / "list.yaml")
    with pytest.raises(SpecError) as refused:
        load_spec(big, plugin_manager=fake_plugin_manager())
    assert refused.value.problems[0].code == "too-large"
    assert str(refused.value.problems[0]).startswith(f"{big}:1:1: the spec is 1.9 MiB")
    result = CliRunner().invoke(cli, ["plan", str(fifo)])
    assert result.exit_code == 2, result.output
    assert "is a named pipe (FIFO)" in result.output


def test_standard_input_is_capped_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_BYTES_VARIABLE, "1000")
    code, out, _ = validate("-", stdin=HEAD + "#" * 2000 + "\n")
    assert code == 1
    assert "-:1:1: error: the spec is larger than the limit of 1000 bytes (1,000 bytes)" in out


@pytest.mark.parametrize("value", ["lots", "0", "-5"])
def test_a_bad_size_limit_is_a_config_error(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_BYTES_VARIABLE, value)
    path = tmp_path / "ok.yaml"
    path.write_text(HEAD)
    code, out, _ = validate(str(path))
    assert code == 2
    assert f"{MAX_BYTES_VARIABLE}={value!r} is not a positive number of bytes" in out
    with pytest.raises(ConfigError):
        load_spec(path, plugin_manager=fake_plugin_manager())


def test_a_raised_size_limit_lets_a_larger_spec_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "commented.yaml"
    path.write_text(HEAD + "# padding\n" * 120_000)  # 1.2 MB of comments
    assert validate(str(path))[0] == 1
    monkeypatch.setenv(MAX_BYTES_VARIABLE, str(2 * MIB))
    code, out, cpu = validate(str(path))
    assert code == 0, out
    assert cpu < CPU_SECONDS


HOSTILE_IN_A_FRESH_PROCESS = """
import re, sys
from click.testing import CliRunner
from fieldline.cli import cli
for path in sys.argv[1:]:
    CliRunner().invoke(cli, ["validate", path])
# VmHWM: this process's peak resident memory (ru_maxrss would count what the parent had at fork)
print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc/self/status")
def test_memory_stays_under_200_mb_for_every_hostile_input(tmp_path: Path) -> None:
    listed = million_item_list(tmp_path / "list.yaml")
    literal = tmp_path / "literal.yaml"
    literal.write_text(HEAD + '      Notes__c: "`' + "x" * 1_000_000 + '`"\n')
    wide = tmp_path / "wide.yaml"
    wide.write_text(HEAD + "".join(f"      F{i}__c: lower(name)\n" for i in range(4_900)))
    done = subprocess.run(
        [sys.executable, "-c", HOSTILE_IN_A_FRESH_PROCESS, str(listed), str(literal), str(wide), "/dev/zero"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, MAX_BYTES_VARIABLE: str(4 * MIB)},
    )
    peak_kib = int(done.stdout.split()[-1])
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


@pytest.mark.parametrize(("length", "code"), [(10_000, 0), (10_001, 1)])
def test_the_expression_limit_is_10000_characters(length: int, code: int, tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(HEAD + "      Notes__c: '`\"" + "x" * (length - 4) + "\"`'\n")
    status, out, _ = validate(str(path))
    assert status == code, out
    assert ("over the limit of 10,000" in out) is bool(code)
