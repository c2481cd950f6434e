"""`serve` with several specs: one endpoint and one queue per source, workers per spec."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pluggy
import pytest

from fieldline import hookimpl
from fieldline.config import Secret
from fieldline.contracts import AdapterInfo, AdapterKind, EventRole, SourceBase, SourceEvent
from fieldline.errors import ConfigError, WebhookError
from fieldline.plugins.manager import get_plugin_manager
from fieldline.service.admin_auth import AdminAccess
from fieldline.service.context import ServiceContext, open_context
from fieldline.service.worker import WorkerSettings
from fieldline.spec.loader import load_spec
from fieldline.spec.model import Spec
from fieldline.testing.server import serve_in_thread
from tests.waiting import wait_until

TOKEN = "let-me-in"


class AppEvents(SourceBase):
    """Named events that carry their document: ``[{"id", "email", "name"}]``, bearer token."""

    def __init__(self, name: str) -> None:
        self.name = name

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[SourceEvent]:
        if headers.get("authorization") != f"Bearer {TOKEN}":
            raise WebhookError("wrong or missing token", status=401)
        try:
            items = json.loads(body)
            return [
                SourceEvent(
                    id=item["id"],
                    type="Lead Created",
                    entity_key=item["email"],
                    occurred_at=float(item.get("t", 1.0)),
                    payload=item,
                    role=EventRole.DOCUMENT,
                )
                for item in items
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookError(f"malformed body: {exc}", status=400) from exc


class Plugin:
    @hookimpl
    def register_adapters(self) -> Sequence[AdapterInfo]:
        return [
            AdapterInfo(
                name=name, kind=AdapterKind.SOURCE, factory=lambda options, *_, name=name: AppEvents(name)
            )
            for name in ("alpha", "beta")
        ]


SPEC = """\
fieldline: 1
name: {name}-leads
source: {{adapter: {adapter}}}
target:
  adapter: files
  options:
    path: {state}
    objects:
      Lead:
        fields:
          Email: {{type: string, external_id: true}}
          LastName: {{type: string}}
records:
  - name: lead
    object: Lead
    match: [{{field: Email, value: email}}]
    fields:
      Email: email
      LastName: name
"""


@pytest.fixture
def manager() -> pluggy.PluginManager:
    return get_plugin_manager(load_entrypoints=False, plugins=(Plugin(),))


def write_spec(folder: Path, name: str, adapter: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(SPEC.format(name=name, adapter=adapter, state=f"{name}-crm.json"), "utf-8")
    return path


@pytest.fixture
def context(tmp_path: Path, manager: pluggy.PluginManager) -> Iterator[ServiceContext]:
    specs = [
        load_spec(write_spec(tmp_path, name, name), plugin_manager=manager) for name in ("alpha", "beta")
    ]
    opened = open_context(
        specs,
        tmp_path / "fieldline.db",
        plugin_manager=manager,
        worker_settings=WorkerSettings(poll_interval=0.01),
    )
    yield opened
    opened.close()


def leads(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    state = json.loads(path.read_text("utf-8"))
    return sorted(state.get("Lead", []), key=lambda record: record["Email"])


def test_each_spec_has_its_endpoint_its_jobs_and_its_workers(context: ServiceContext, tmp_path: Path) -> None:
    headers = {"authorization": f"Bearer {TOKEN}"}
    operator = "operator-token-for-tests"
    app = context.create_app(workers=1, retention_days=None, admin=AdminAccess(token=Secret(operator)))
    with serve_in_thread(app) as url:
        alpha = httpx.post(
            f"{url}/webhooks/alpha",
            json=[
                {"id": "a1", "email": "x@a.test", "name": "Ada"},
                {"id": "a2", "email": "y@a.test", "name": "Yu"},
            ],
            headers=headers,
            timeout=10,
        )
        beta = httpx.post(
            f"{url}/webhooks/beta",
            json=[{"id": "a1", "email": "z@b.test", "name": "Zed"}],
            headers=headers,
            timeout=10,
        )
        assert (alpha.status_code, alpha.json()["queued"]) == (200, 2)
        assert (beta.status_code, beta.json()["queued"]) == (200, 1), (
            "one event id in two sources: two events"
        )
        unknown = httpx.post(f"{url}/webhooks/gamma", json=[], headers=headers, timeout=10)
        assert unknown.status_code == 404
        assert "/webhooks/alpha, /webhooks/beta" in unknown.json()["error"]
        wait_until(
            lambda: (
                len(leads(tmp_path / "alpha-crm.json")) == 2 and len(leads(tmp_path / "beta-crm.json")) == 1
            )
        )
        status = httpx.get(
            f"{url}/status", headers={"authorization": f"Bearer {operator}"}, timeout=10
        ).json()
    assert [lead["LastName"] for lead in leads(tmp_path / "alpha-crm.json")] == ["Ada", "Yu"]
    assert [lead["LastName"] for lead in leads(tmp_path / "beta-crm.json")] == ["Zed"]
    assert set(status["sources"]) == {"alpha", "beta"}
    assert status["sources"]["alpha"]["counts"]["done"] == 2
    assert status["sources"]["beta"]["counts"]["done"] == 1
    assert status["counts"]["done"] == 3
    assert {entry.source for entry in context.store.entries()} == {"alpha", "beta"}


def test_two_specs_reading_one_source_are_refused(tmp_path: Path, manager: pluggy.PluginManager) -> None:
    first = load_spec(write_spec(tmp_path, "one", "alpha"), plugin_manager=manager)
    second = load_spec(write_spec(tmp_path, "two", "alpha"), plugin_manager=manager)
    with pytest.raises(ConfigError, match="both read the source 'alpha'") as caught:
        open_context([first, second], tmp_path / "f.db", plugin_manager=manager)
    assert caught.value.hint is not None
    assert not (tmp_path / "f.db").exists(), "refused before any storage is opened"


def test_no_spec_at_all_is_refused(tmp_path: Path, manager: pluggy.PluginManager) -> None:
    with pytest.raises(ConfigError, match="no spec to serve"):
        open_context(list[Spec](), tmp_path / "f.db", plugin_manager=manager)


def test_a_folder_of_specs_names_each_spec_in_it(tmp_path: Path) -> None:
    from fieldline.commands.spec_loading import spec_files

    write_spec(tmp_path, "alpha", "alpha")
    write_spec(tmp_path, "beta", "beta")
    (tmp_path / "notes.txt").write_text("not a spec", "utf-8")
    extra = tmp_path / "alpha.yaml"
    assert spec_files([tmp_path, extra]) == [tmp_path / "alpha.yaml", tmp_path / "beta.yaml"]


def test_status_shows_each_source_s_queue(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fieldline.cli import cli
    from fieldline.queue.sqlite_queue import SQLiteJobQueue
    from fieldline.testing.queue_suite import event

    db = tmp_path / "f.db"
    with SQLiteJobQueue(db) as queue:
        queue.enqueue([event("e1", "k")], source="alpha")
        queue.enqueue([event("e1", "k"), event("e2", "j")], source="beta")
        queue.fail(queue.claim("w", source="beta", limit=1)[0], "boom", permanent=True)
    text = CliRunner().invoke(cli, ["status", "--db", str(db)])
    assert text.exit_code == 0, text.output
    assert "Queue alpha: Waiting 1" in text.output
    assert "Queue beta: Waiting 1" in text.output
    document = json.loads(CliRunner().invoke(cli, ["status", "--db", str(db), "--json"]).output)
    assert document["waiting"] == 2
    assert {name: source["waiting"] for name, source in document["sources"].items()} == {
        "alpha": 1,
        "beta": 1,
    }
    assert [letter["source"] for letter in document["sources"]["beta"]["dead_letter_jobs"]] == ["beta"]
    only = json.loads(
        CliRunner().invoke(cli, ["status", "--db", str(db), "--json", "--source", "alpha"]).output
    )
    assert (only["waiting"], list(only["sources"])) == (1, ["alpha"])
