"""Scale: ``fieldline plan`` and ``sync`` as a user runs them, over 100,000 PassFort-shaped profiles.

Each run is the real ``fieldline`` command in a child process, so its peak RSS and CPU
are its own (``os.wait4``); the Salesforce emulator serves in this process. Profiles are
``bench_salesforce``'s shape (1 Account + 2 applications each) read from a JSONL file; half of
them already exist in the org as an earlier sync left them (Account and applications), so half
the records are noops and half creates.

Figures:

- ``plan_100k_s``, ``plan_100k_peak_rss_mb``: ``plan`` (text, to a file) of 100,000 profiles;
- ``plan_json_10k_peak_rss_mb``: ``plan --json`` of 10,000 profiles;
- ``sync_100k_s``, ``sync_100k_peak_rss_mb``, ``sf_calls_100k``: ``sync`` of the same 100,000
  profiles (API calls counted by the emulator; OAuth not included). Targets: RSS < 200 MB,
  ``plan_100k_s`` no more than ``sync_100k_s``, ``sf_calls_100k`` <= 100;
- ``files_sync_1k_s``, ``files_sync_10k_s``, ``files_sync_scaling_10k_vs_1k`` (<= 12): ``sync``
  into the files target (a JSON state file), from an empty state;
- ``startup_cpu_s``: the larger CPU time of ``fieldline --help`` and ``fieldline validate`` of one
  spec (target < 0.3 s);
- ``fieldline_sync_1k_cpu_s``, ``collections_script_calls``, ``collections_script_cpu_s`` and
  ``cpu_vs_collections_script`` (<= 1.3): the first ``sync`` of 1,000 profiles (half existing)
  beside a hand-written script that upserts the same records through sObject Collections with
  simple-salesforce (Accounts, then applications with the returned Account ids), both whole
  processes from start-up to exit; ``fieldline_sync_10k_cpu_s``, ``collections_script_10k_cpu_s``
  and ``cpu_vs_collections_script_10k``: the same at 10,000 profiles (one round), where the fixed
  start-up weighs less.

``FIELDLINE_BENCH_SCALE`` (a number of profiles) shrinks the 100,000 runs while developing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator

LARGE = int(os.environ.get("FIELDLINE_BENCH_SCALE", "100000"))
JSON_PROFILES = min(LARGE, 10_000)
SCRIPT_PROFILES = 1000
ROOT = Path(__file__).resolve().parent.parent
ORG_FILE = ROOT / "mappings" / "passfort-salesforce.org.yaml"

_RECORDS = """\
records:
  - name: applicant
    object: Account
    match:
      - {field: Id, value: customer_ref}
      - {field: PassFort_Profile_Id__c, value: id}
    fields:
      PassFort_Profile_Id__c: id
      Name: {value: display_name, strategy: if_empty}
      BillingCountry: collected_data.metadata.country_of_incorporation
  - name: application
    object: PassFort_Application__c
    for_each: applications[]
    match:
      - {field: Application_ID__c, value: id}
    fields:
      Application_ID__c: id
      Name: {value: product.name, strategy: on_create}
      Status__c:
        value: status
        map: {APPLIED: Applied, IN_REVIEW: In review, APPROVED: Approved}
      Flag__c: {value: flag, nulls: clear}
      Product_Name__c: product.name
      Product_Alias__c: product.alias
      Applicant__c: {ref: applicant}
"""
_SALESFORCE_SPEC = "fieldline: 1\nname: scale\nsource: {adapter: files, options: {path: profiles.jsonl}}\n"
_SALESFORCE_SPEC += "target: {adapter: salesforce}\n" + _RECORDS
_FILES_SPEC = "fieldline: 1\nname: scale-files\nsource: {adapter: files, options: {path: profiles.jsonl}}\n"
_FILES_SPEC += "target: {adapter: files, options: {path: state.json}}\n" + _RECORDS
_STATUS = {"APPLIED": "Applied", "IN_REVIEW": "In review", "APPROVED": "Approved"}


def _profile(index: int) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=index + 1)),
        "display_name": f"Company {index}",
        "collected_data": {"metadata": {"country_of_incorporation": "GBR"}},
        "applications": [
            {
                "id": str(uuid.UUID(int=10**9 + index * 2 + offset)),
                "product": {"name": f"Product {offset}", "alias": f"product_{offset}"},
                "status": ("APPLIED", "IN_REVIEW", "APPROVED")[(index + offset) % 3],
                "flag": "AUTOMATING" if offset else None,
            }
            for offset in range(2)
        ],
    }


def _write_profiles(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as file:
        for index in range(count):
            file.write(json.dumps(_profile(index)) + "\n")


def _seed_half(handle: EmulatorHandle, count: int) -> None:
    """Every other profile as an earlier sync left it: its Account and both applications."""
    store = handle.store
    accounts = store.table("Account")
    applications = store.table("PassFort_Application__c")
    if accounts is None or applications is None:
        raise RuntimeError(f"{ORG_FILE} has no Account or PassFort_Application__c")
    for index in range(0, count, 2):
        profile = _profile(index)
        account = store.insert(
            accounts,
            {
                "Name": profile["display_name"],
                "PassFort_Profile_Id__c": profile["id"],
                "BillingCountry": "GBR",
            },
        )
        for application in profile["applications"]:
            store.insert(
                applications,
                {
                    "Name": application["product"]["name"],
                    "Application_ID__c": application["id"],
                    "Status__c": _STATUS[application["status"]],
                    "Flag__c": application["flag"],
                    "Product_Name__c": application["product"]["name"],
                    "Product_Alias__c": application["product"]["alias"],
                    "Applicant__c": account["Id"],
                },
            )


# Runs the CLI and, as it exits, writes its own peak RSS (VmHWM: the high-water mark of this
# program's memory). The child's ru_maxrss would not do: it counts the pages of this process
# (the emulator, with every record) that the child shared between fork and exec.
_WITH_PEAK = """
import atexit, sys
report = sys.argv.pop(1)


def write_peak():
    with open("/proc/self/status") as status, open(report, "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))


atexit.register(write_peak)
sys.argv[0] = "fieldline"
from fieldline.cli import main
main()
"""


@dataclass(frozen=True, slots=True)
class _Child:
    seconds: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int
    stderr: str


def _run(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    peak_file: Path | None = None,
) -> _Child:
    """A child process to its end: wall time, CPU (user + system), peak RSS (what it wrote to
    ``peak_file``, in kB), exit status."""
    # An installed fieldline has its bytecode compiled; a checkout gets it on the first run
    # unless the environment forbids writing it (then every run would compile every module).
    child_env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(args), stdout=out, stderr=err, env={**child_env, **(env or {})}, cwd=cwd
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        peak_kb = float(peak_file.read_text()) if peak_file is not None and peak_file.exists() else 0.0
        return _Child(
            seconds=seconds,
            cpu_s=usage.ru_utime + usage.ru_stime,
            peak_rss_mb=peak_kb / 1024,
            returncode=process.returncode,
            stderr=err.read().decode(errors="replace")[-2000:],
        )


def _fieldline(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> _Child:
    with tempfile.TemporaryDirectory() as folder:
        peak = Path(folder) / "peak"
        return _run([sys.executable, "-c", _WITH_PEAK, str(peak), *args], env=env, cwd=cwd, peak_file=peak)


def _login(handle: EmulatorHandle) -> dict[str, str]:
    values = {
        "EMULATOR_URL": handle.url,
        "AUTH": "password",
        "USERNAME": handle.username,
        "PASSWORD": handle.password,
        "SECURITY_TOKEN": handle.security_token,
        "CLIENT_ID": handle.client_id,
        "CLIENT_SECRET": handle.client_secret,
    }
    return {f"FIELDLINE_SALESFORCE_{name}": value for name, value in values.items()}


def _checked(child: _Child, what: str) -> _Child:
    if child.returncode != 0:
        raise RuntimeError(f"{what} exited {child.returncode}: {child.stderr}")
    return child


def _against_emulator(folder: Path, count: int, *args: str) -> tuple[_Child, int]:
    """One CLI run against a fresh emulator holding half the profiles: (the run, API calls)."""
    with running_emulator(ORG_FILE) as handle:
        _seed_half(handle, count)
        handle.reset_stats()
        child = _fieldline(*args, "scale.yaml", env=_login(handle), cwd=folder)
        calls = int(handle.stats()["api_usage"])
    return _checked(child, f"fieldline {args[0]} of {count}"), calls


def _salesforce_runs(folder: Path) -> dict[str, float]:
    (folder / "scale.yaml").write_text(_SALESFORCE_SPEC, encoding="utf-8")
    _write_profiles(folder / "profiles.jsonl", LARGE)
    sync, calls = _against_emulator(folder, LARGE, "sync")
    # the plan's text goes to a file (the child's stdout), as a user keeps it
    plan, _ = _against_emulator(folder, LARGE, "plan", "--batch-size", "500")
    _write_profiles(folder / "profiles.jsonl", JSON_PROFILES)
    plan_json, _ = _against_emulator(folder, JSON_PROFILES, "plan", "--json")
    return {
        "plan_100k_s": round(plan.seconds, 2),
        "plan_100k_peak_rss_mb": round(plan.peak_rss_mb, 1),
        "plan_json_10k_peak_rss_mb": round(plan_json.peak_rss_mb, 1),
        "sync_100k_s": round(sync.seconds, 2),
        "sync_100k_peak_rss_mb": round(sync.peak_rss_mb, 1),
        "sf_calls_100k": calls,
    }


def _files_runs(folder: Path) -> dict[str, float]:
    (folder / "scale.yaml").write_text(_FILES_SPEC, encoding="utf-8")
    seconds: dict[int, float] = {}
    for count in (1000, 10_000):
        _write_profiles(folder / "profiles.jsonl", count)
        (folder / "state.json").unlink(missing_ok=True)
        seconds[count] = _checked(_fieldline("sync", "scale.yaml", cwd=folder), "files sync").seconds
    return {
        "files_sync_1k_s": round(seconds[1000], 2),
        "files_sync_10k_s": round(seconds[10_000], 2),
        "files_sync_scaling_10k_vs_1k": round(seconds[10_000] / seconds[1000], 2),
    }


def _startup() -> dict[str, float]:
    spec = str(ROOT / "mappings" / "examples" / "profiles-to-files.yaml")
    best: dict[str, float] = {}
    for name, args in {"help": ("--help",), "validate": ("validate", spec)}.items():
        best[name] = min(_checked(_fieldline(*args), name).cpu_s for _ in range(3))
    return {"startup_cpu_s": round(max(best.values()), 3)}


_SCRIPT = """
import json, sys
from simple_salesforce import Salesforce

STATUS = {"APPLIED": "Applied", "IN_REVIEW": "In review", "APPROVED": "Approved"}
url, token, path = sys.argv[1:4]
sf = Salesforce(instance_url=url, session_id=token)
sf.base_url = sf.base_url.replace("https://", "http://")
profiles = [json.loads(line) for line in open(path)]
accounts = [
    {"attributes": {"type": "Account"}, "PassFort_Profile_Id__c": p["id"], "Name": p["display_name"],
     "BillingCountry": p["collected_data"]["metadata"]["country_of_incorporation"]}
    for p in profiles
]
ids = {}
for start in range(0, len(accounts), 200):
    chunk = accounts[start:start + 200]
    answer = sf.restful("composite/sobjects/Account/PassFort_Profile_Id__c", method="PATCH",
                        json={"allOrNone": False, "records": chunk})
    for record, result in zip(chunk, answer):
        ids[record["PassFort_Profile_Id__c"]] = result["id"]
applications = [
    {"attributes": {"type": "PassFort_Application__c"}, "Application_ID__c": a["id"],
     "Name": a["product"]["name"], "Status__c": STATUS[a["status"]], "Flag__c": a["flag"],
     "Product_Name__c": a["product"]["name"], "Product_Alias__c": a["product"]["alias"],
     "Applicant__c": ids[p["id"]]}
    for p in profiles for a in p["applications"]
]
for start in range(0, len(applications), 200):
    sf.restful("composite/sobjects/PassFort_Application__c/Application_ID__c", method="PATCH",
               json={"allOrNone": False, "records": applications[start:start + 200]})
"""


def _side_by_side(folder: Path, count: int, rounds: int) -> tuple[float, float, int]:
    """The least CPU of ``rounds`` first syncs of ``count`` profiles (half existing) and of the
    script over the same profiles, alternated; and the script's API calls."""
    (folder / "scale.yaml").write_text(_SALESFORCE_SPEC, encoding="utf-8")
    _write_profiles(folder / "profiles.jsonl", count)
    (folder / "script.py").write_text(_SCRIPT, encoding="utf-8")
    fieldline_cpu: list[float] = []
    script_cpu: list[float] = []
    script_calls = 0
    for _ in range(rounds):
        sync, _ = _against_emulator(folder, count, "sync")
        fieldline_cpu.append(sync.cpu_s)
        with running_emulator(ORG_FILE) as handle:
            _seed_half(handle, count)
            handle.reset_stats()
            args = [sys.executable, "script.py", handle.url, handle.new_token(), "profiles.jsonl"]
            script = _checked(_run(args, cwd=folder), "collections script")
            script_calls = int(handle.stats()["api_usage"])
        script_cpu.append(script.cpu_s)
    return min(fieldline_cpu), min(script_cpu), script_calls


def _script_comparison(folder: Path) -> dict[str, float]:
    fieldline_cpu, script_cpu, script_calls = _side_by_side(folder, SCRIPT_PROFILES, 3)
    # at 10,000 the fixed start-up weighs less: the ratio says what a record costs
    fieldline_10k, script_10k, _ = _side_by_side(folder, 10 * SCRIPT_PROFILES, 1)
    return {
        "fieldline_sync_1k_cpu_s": round(fieldline_cpu, 3),
        "collections_script_calls": script_calls,
        "collections_script_cpu_s": round(script_cpu, 3),
        "cpu_vs_collections_script": round(fieldline_cpu / script_cpu, 2),
        "fieldline_sync_10k_cpu_s": round(fieldline_10k, 3),
        "collections_script_10k_cpu_s": round(script_10k, 3),
        "cpu_vs_collections_script_10k": round(fieldline_10k / script_10k, 2),
    }


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="fieldline-scale-") as folder:
        figures.update(_startup())
        figures.update(_script_comparison(Path(folder)))
        figures.update(_files_runs(Path(folder)))
        figures.update(_salesforce_runs(Path(folder)))
    return figures
