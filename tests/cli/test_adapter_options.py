"""Adapters built without a validated spec (`describe --target`, `validate --against`) still have
their options checked against the adapter's own schema: a located error, never a traceback."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from fieldline.cli import cli
from tests.conftest import REPO_ROOT

SPEC = REPO_ROOT / "mappings" / "passfort-salesforce.yaml"


def test_describe_with_a_target_that_needs_options_says_which_and_how() -> None:
    command = "from fieldline.cli import main; main()"
    args = [sys.executable, "-c", command, "describe", "Account", "--target", "files"]
    result = subprocess.run(args, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "--target files: target adapter 'files' options: 'path' is a required property" in result.stderr
    assert "pass --spec SPEC" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_against_a_target_that_needs_options_is_a_located_problem() -> None:
    result = CliRunner().invoke(cli, ["validate", "--against", "files", str(SPEC)])
    assert result.exit_code == 2, result.output
    assert "target adapter 'files' options: 'path' is a required property" in result.output
    assert "internal error" not in result.output
