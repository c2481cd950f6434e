"""The examples in docs/passfort.md run and say what they claim."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pluggy

from fieldline.adapters.passfort.settings import load_settings
from fieldline.spec.loader import check_spec_file
from tests.conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "passfort.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_python_example_runs() -> None:
    (example,) = blocks("python")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, str(DOC), "exec"), {})  # the documented code, verbatim
    assert printed.getvalue().strip() == "1"


def test_toml_example_is_read_by_the_settings(tmp_path: Path) -> None:
    (example,) = blocks("toml")
    config = tmp_path / "fieldline.toml"
    config.write_text(example)
    settings = load_settings({}, environ={"FIELDLINE_CONFIG": str(config)})
    assert settings.api_key is not None
    assert settings.webhook_secret is not None
    assert settings.base_url == "https://api.passfort.com/4.0"


def test_yaml_options_example_validates_and_secrets_do_not(
    tmp_path: Path, plugin_manager: pluggy.PluginManager
) -> None:
    (options,) = blocks("yaml")
    shipped = (REPO_ROOT / "mappings" / "passfort-salesforce.yaml").read_text(encoding="utf-8")
    start = shipped.index("source:\n")
    end = shipped.index("target:\n")
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(shipped[:start] + options + shipped[end:])
    (tmp_path / "backfill-ids.txt").write_text("b82b0434-f9e8-11e7-8397-000000000001\n")
    assert check_spec_file(spec_file, plugin_manager=plugin_manager) == []
    spec_file.write_text(shipped[:start] + options + "    api_key: oops\n" + shipped[end:])
    problems = check_spec_file(spec_file, plugin_manager=plugin_manager)
    assert any("api_key" in str(problem) for problem in problems)
