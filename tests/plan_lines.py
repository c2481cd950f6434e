"""Reading ``fieldline plan --json`` output (JSON Lines) back in tests."""

from __future__ import annotations

import json
from typing import Any


def read_plan_lines(output: str) -> dict[str, Any]:
    """The JSON Lines of ``plan --json`` gathered as ``Plan.as_json`` has them (``write_back``
    only when there is one), plus the ``summary`` line."""
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]
    summary = entries[-1]
    assert summary["type"] == "summary", summary
    records = [entry for entry in entries if entry["type"] == "record"]
    write_back = [entry for entry in entries if entry["type"] == "write_back"]
    gathered = {"counts": summary["counts"], "records": records, "summary": summary}
    return {**gathered, "write_back": write_back} if write_back else gathered
