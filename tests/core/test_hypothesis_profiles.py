"""Hypothesis budgets come from one profile, chosen by the environment."""

from __future__ import annotations

import pytest
from hypothesis import settings

from tests.conftest import hypothesis_profile


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({}, "dev", id="local"),
        pytest.param({"CI": "true"}, "ci", id="ci"),
        pytest.param({"CI": "false"}, "dev", id="ci-false"),
        pytest.param({"CI": "true", "HYPOTHESIS_PROFILE": "thorough"}, "thorough", id="explicit-wins"),
    ],
)
def test_the_environment_chooses_the_profile(environ: dict[str, str], expected: str) -> None:
    assert hypothesis_profile(environ) == expected


@pytest.mark.parametrize("name", ["dev", "ci", "thorough"])
def test_no_profile_has_a_deadline(name: str) -> None:
    assert settings.get_profile(name).deadline is None


def test_ci_tries_more_than_dev_and_thorough_more_than_ci() -> None:
    budgets = [settings.get_profile(name).max_examples for name in ("dev", "ci", "thorough")]
    assert budgets == sorted(budgets)
    assert len(set(budgets)) == 3
