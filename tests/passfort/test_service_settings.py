"""Which PassFort settings each part of the service needs: the receiver only the webhook secret,
workers and syncs the API key too. Missing ones fail at start, not at the first event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pluggy
import pytest

from fieldline.errors import ConfigError
from fieldline.service.context import ServiceContext, open_context
from fieldline.spec.loader import load_spec
from fieldline.sync.adapter_builder import build_source
from fieldline.testing.server import serve_in_thread
from tests.conftest import REPO_ROOT
from tests.passfort.conftest import SECRET
from tests.passfort.test_webhooks import SAMPLE

SHIPPED_SPEC = REPO_ROOT / "mappings" / "passfort-salesforce.yaml"


@pytest.fixture
def context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plugin_manager: pluggy.PluginManager
) -> Iterator[ServiceContext]:
    """The shipped spec's service context with no PassFort settings but what a test sets."""
    empty_config = tmp_path / "fieldline.toml"
    empty_config.write_text("")
    monkeypatch.setenv("FIELDLINE_CONFIG", str(empty_config))
    monkeypatch.delenv("FIELDLINE_PASSFORT_API_KEY", raising=False)
    monkeypatch.delenv("FIELDLINE_PASSFORT_WEBHOOK_SECRET", raising=False)
    spec = load_spec(SHIPPED_SPEC, plugin_manager=plugin_manager)
    opened = open_context(spec, tmp_path / "q.db", plugin_manager=plugin_manager)
    try:
        yield opened
    finally:
        opened.close()


def test_a_receive_only_service_needs_no_api_key_but_workers_and_syncs_do(
    context: ServiceContext, monkeypatch: pytest.MonkeyPatch, plugin_manager: pluggy.PluginManager
) -> None:
    monkeypatch.setenv("FIELDLINE_PASSFORT_WEBHOOK_SECRET", SECRET)
    with pytest.raises(ConfigError, match="no PassFort API key is configured"):
        build_source(context.specs["passfort"], plugin_manager)  # sync, plan: fail before any work
    with pytest.raises(ConfigError, match="no PassFort API key is configured"):
        context.make_workers(1, prefix="w")  # workers: fail at start, not at the first event
    app = context.create_app(workers=0, retention_days=None)
    with serve_in_thread(app) as url:
        response = httpx.post(f"{url}/webhooks/passfort", json=SAMPLE, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["queued"] == 1


def test_serve_refuses_to_start_without_a_webhook_secret(context: ServiceContext) -> None:
    with pytest.raises(ConfigError, match="FIELDLINE_PASSFORT_WEBHOOK_SECRET"):
        context.create_app(workers=0, retention_days=None)
