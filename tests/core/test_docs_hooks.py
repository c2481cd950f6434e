"""Every hook is documented in docs/plugins.md with its real signature (datasette's habit)."""

from __future__ import annotations

import inspect
import re

import pytest

from fieldline.plugins import hookspecs
from tests.conftest import REPO_ROOT

HOOK_NAMES = sorted(
    name
    for name, value in vars(hookspecs).items()
    if inspect.isfunction(value) and hasattr(value, "fieldline_spec")
)


def test_there_are_hooks() -> None:
    assert {"register_adapters", "register_functions", "register_normalizers"} <= set(HOOK_NAMES)


@pytest.mark.parametrize("hook_name", HOOK_NAMES)
def test_hook_is_documented_with_its_signature(hook_name: str) -> None:
    docs = (REPO_ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert f"## {hook_name}\n" in docs, f"docs/plugins.md has no section for {hook_name}"
    hook = getattr(hookspecs, hook_name)
    signature = inspect.signature(hook)
    params = ", ".join(f"{name}: {param.annotation}" for name, param in signature.parameters.items())
    expected = f"{hook_name}({params}) -> {signature.return_annotation}"
    documented = re.findall(rf"^{hook_name}\(.*$", docs, flags=re.MULTILINE)
    assert expected in documented, f"documented {documented}, real signature {expected}"


@pytest.mark.parametrize("hook_name", HOOK_NAMES)
def test_hook_has_a_docstring(hook_name: str) -> None:
    assert (getattr(hookspecs, hook_name).__doc__ or "").strip()
