"""docs/salesforce.md and docs/adapters-guide.md stay true to the code."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

from fieldline.adapters.salesforce.options import OPTIONS_SCHEMA
from fieldline.adapters.salesforce.settings import settings_from_mapping
from fieldline.testing.target_suite import TEMPLATES
from tests.conftest import REPO_ROOT

SALESFORCE_DOC = (REPO_ROOT / "docs" / "salesforce.md").read_text(encoding="utf-8")
GUIDE = (REPO_ROOT / "docs" / "adapters-guide.md").read_text(encoding="utf-8")


def test_every_option_and_setting_is_documented() -> None:
    for option in OPTIONS_SCHEMA["properties"]:
        assert f"`{option}`" in SALESFORCE_DOC or f"{option}:" in SALESFORCE_DOC, option
    documented = set(re.findall(r"`([a-z_]+)`", SALESFORCE_DOC))
    keys = {
        "domain", "my_domain", "login_url", "emulator_url", "auth", "username", "consumer_key",
        "private_key_file", "private_key", "client_id", "client_secret", "refresh_token", "password",
        "security_token", "instance_url", "access_token", "api_version", "timeout",
    }  # fmt: skip
    settings_from_mapping(dict.fromkeys(keys - {"auth", "api_version", "timeout"}, "x"))  # all are known keys
    assert keys <= documented, keys - documented


def test_toml_example_is_valid_settings() -> None:
    import tomllib

    block = SALESFORCE_DOC.split("```toml\n", 1)[1].split("```", 1)[0]
    settings = settings_from_mapping(tomllib.loads(block)["salesforce"])
    assert settings.login_url == "https://test.salesforce.com"
    assert settings.auth_method.value == "jwt"


def test_every_template_is_in_the_guide() -> None:
    for template in TEMPLATES:
        assert f"`{template.name}`" in GUIDE, template.name


def test_guide_conformance_example_runs(tmp_path: Path) -> None:
    block = next(
        code for code in re.findall(r"```python\n(.*?)```", GUIDE, re.S) if "get_target_test_class" in code
    )
    module = types.ModuleType("guide_example")
    exec(compile(block, "docs/adapters-guide.md", "exec"), module.__dict__)
    cls: Any = module.TestWidgetTarget
    assert sorted(name for name in vars(cls) if name.startswith("test_")) == sorted(
        f"test_{template.name}" for template in TEMPLATES
    )

    class Request:
        def getfixturevalue(self, name: str) -> Any:
            assert name == "tmp_path"
            return tmp_path

    config = cls.conformance_config
    for template in TEMPLATES:
        target = config.make_target(Request())
        try:
            template().run(target, config)
        finally:
            target.close()
