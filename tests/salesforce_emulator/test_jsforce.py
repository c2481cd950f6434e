"""jsforce (Node) drives the emulator: its fidelity checked by someone else's code, not only ours.

``make install`` puts the pinned jsforce in ``.node/``. The test runs in CI (which has Node) and
skips, saying why, only where ``node`` is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.salesforce_emulator.conftest import start

SCRIPT = REPO_ROOT / "tests" / "salesforce_emulator" / "jsforce_client.js"
NODE_MODULES = REPO_ROOT / ".node" / "node_modules"


def run_jsforce(env: dict[str, str]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None and not os.environ.get("CI"):
        pytest.skip("node is not installed: install Node.js 20+ and run `make install` to check jsforce")
    assert node is not None, "CI needs node for the jsforce test"
    assert (NODE_MODULES / "jsforce").is_dir(), "jsforce is missing: run `make install` (npm ci into .node/)"
    done = subprocess.run(
        [node, str(SCRIPT)],
        env={**os.environ, **env, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_jsforce_logs_in_queries_writes_and_bulk_loads() -> None:
    with start(query_page_size=50) as sf:
        seen = run_jsforce(
            {
                "SF_URL": sf.url,
                "SF_USERNAME": sf.username,
                "SF_PASSWORD": sf.password + sf.security_token,
                "SF_CLIENT_ID": sf.client_id,
                "SF_CLIENT_SECRET": sf.client_secret,
            }
        )
        settings = sf.emulator.settings
        assert seen["login"] == {"userId": settings.user_id, "organizationId": settings.org_id}
        assert seen["identity"] == sf.username
        assert seen["describe"] == {"name": "Account", "hasName": True}
        assert seen["globalHasContact"] is True
        assert (seen["retrieved"], seen["destroyed"]) == ("jsforce renamed", True)
        assert seen["collectionCreated"] == 120
        assert seen["collectionRetrieved"] == ["jsforce 000", "jsforce 001", "jsforce 002"]
        assert seen["collectionUpdated"] == 2
        assert seen["query"] == {"totalSize": 120, "rows": 120, "pages": 3}
        assert seen["banking"] == 2
        assert seen["bulk"] == {"successful": 2, "failed": 1, "unprocessed": 0}
        assert seen["collectionDestroyed"] == 120
        assert seen["search"] == 2
        assert sorted(r["Name"] for r in sf.records("Account")) == ["bulk a", "bulk c"]
