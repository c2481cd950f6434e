"""``--update-golden``: rewrite the planner's golden snapshots instead of comparing with them.

Run ``pytest tests/planner --update-golden`` (the option lives here, so name this directory),
then review the diff of ``tests/planner/golden/*/plan.json`` before committing: updating a
snapshot is a deliberate act.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/planner/golden/*/plan.json from the current planner",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when snapshots are to be rewritten rather than compared."""
    return bool(request.config.getoption("--update-golden"))
