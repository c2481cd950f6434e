"""The emulator's API and control endpoints, the store, and the CLI entry."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from fieldline.adapters.passfort.emulator import SEED_FILE, PassFortEmulator, running_passfort_emulator
from fieldline.adapters.passfort.emulator.handle import EmulatorControlError
from fieldline.adapters.passfort.emulator.store import ProfileStore, load_seed
from fieldline.cli import cli
from fieldline.errors import ConfigError
from tests.passfort.conftest import API_KEY

COMPANY = "b82b0434-f9e8-11e7-8397-000000000001"
APPLICATION = "a1b2c3d4-0000-4000-8000-000000000001"


@pytest.fixture
def emulator() -> Iterator[PassFortEmulator]:
    with running_passfort_emulator(SEED_FILE, api_key=API_KEY) as handle:
        yield handle


@pytest.fixture
def api(emulator: PassFortEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.api_url + "/", headers={"apikey": API_KEY}) as client:
        yield client


def test_seed_file_is_realistic() -> None:
    profiles = load_seed(SEED_FILE)
    assert 5 <= len(profiles) <= 10
    roles = {profile["role"] for profile in profiles}
    assert roles == {"COMPANY_CUSTOMER", "INDIVIDUAL_CUSTOMER"}
    for profile in profiles:
        assert 1 <= len(profile["applications"]) <= 3
        for application in profile["applications"]:
            assert set(application["product"]) >= {"id", "alias", "name"}
            assert application["status"] in {"APPLIED", "IN_REVIEW", "APPROVED", "REJECTED", "CANCELLED"}
            assert application["history"]
    with_ref = [profile for profile in profiles if profile.get("customer_ref")]
    assert with_ref
    assert all(profile["collected_data"]["customer_ref"] == profile["customer_ref"] for profile in with_ref)


def test_store_mirrors_customer_ref_and_fills_defaults() -> None:
    store = ProfileStore(
        [
            {
                "role": "COMPANY_CUSTOMER",
                "collected_data": {"customer_ref": "r1", "metadata": {"name": "X Ltd"}},
            }
        ]
    )
    (profile_id,) = store.profile_ids()
    profile = store.profile(profile_id)
    assert profile is not None
    assert profile["customer_ref"] == "r1"
    assert profile["display_name"] == "X Ltd"
    assert profile["collected_data"]["entity_type"] == "COMPANY"
    assert profile["checks"] == []
    assert profile["applications"] == []


def test_same_status_emits_nothing_and_history_grows_once() -> None:
    clock = iter(range(1_700_000_000, 1_800_000_000)).__next__
    store = ProfileStore(load_seed(SEED_FILE), clock=lambda: float(clock()))
    application, envelopes = store.update_application(
        APPLICATION, status="APPROVED", flag=None, set_flag=True
    )
    assert [envelope["event"] for envelope in envelopes] == [
        "PRODUCT_STATUS_CHANGED",
        "PRODUCT_BADGE_CHANGED",
    ]
    assert application["history"][-1]["status"] == "APPROVED"
    assert application["flag_history"][-1]["flag"] is None
    again, none = store.update_application(APPLICATION, status="APPROVED", flag=None, set_flag=True)
    assert none == []
    assert len(again["history"]) == len(application["history"])


def test_get_profile_and_404(api: httpx.Client) -> None:
    assert api.get(f"profiles/{COMPANY}").json()["id"] == COMPANY
    missing = api.get("profiles/nope")
    assert missing.status_code == 404
    assert "errors" in missing.json()


@pytest.mark.parametrize("headers", [{}, {"apikey": "wrong"}], ids=["missing", "wrong"])
def test_api_key_is_checked(emulator: PassFortEmulator, headers: dict[str, str]) -> None:
    response = httpx.get(f"{emulator.api_url}/profiles/{COMPANY}", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Invalid API key", "code": 204}]}


def test_collected_data_etag_and_if_match(api: httpx.Client) -> None:
    first = api.get(f"profiles/{COMPANY}/collected_data")
    etag = first.headers["etag"]
    changed = {**first.json(), "metadata": {"name": "PassFort Ltd (renamed)"}}
    ok = api.post(f"profiles/{COMPANY}/collected_data", json=changed, headers={"if-match": etag})
    assert ok.status_code == 200
    assert ok.headers["etag"] != etag
    stale = api.post(f"profiles/{COMPANY}/collected_data", json=first.json(), headers={"if-match": etag})
    assert stale.status_code == 412
    assert stale.json()["metadata"]["name"] == "PassFort Ltd (renamed)"  # the latest data
    no_if_match = api.post(f"profiles/{COMPANY}/collected_data", json=first.json())
    assert no_if_match.status_code == 200  # applied, for backward compatibility


@pytest.mark.parametrize(
    "if_match",
    [
        pytest.param("*", id="star"),
        pytest.param('W/"0.000", {etag}', id="list-with-current"),
    ],
)
def test_if_match_star_or_a_listed_current_tag_lets_the_write_through(
    api: httpx.Client, if_match: str
) -> None:
    # RFC 9110 section 13.1.1: "*" matches any current representation; a list matches if one does.
    first = api.get(f"profiles/{COMPANY}/collected_data")
    changed = {**first.json(), "metadata": {"name": "Any version will do"}}
    header = if_match.format(etag=first.headers["etag"])
    answer = api.post(f"profiles/{COMPANY}/collected_data", json=changed, headers={"if-match": header})
    assert answer.status_code == 200
    assert answer.json()["metadata"]["name"] == "Any version will do"


def test_if_match_star_on_an_unknown_profile_is_still_404(api: httpx.Client) -> None:
    answer = api.post(
        "profiles/nope/collected_data", json={"entity_type": "COMPANY"}, headers={"if-match": "*"}
    )
    assert answer.status_code == 404


def test_create_profile_and_add_application(api: httpx.Client, emulator: PassFortEmulator) -> None:
    created = api.post(
        "profiles",
        json={
            "role": "INDIVIDUAL_CUSTOMER",
            "collected_data": {
                "entity_type": "INDIVIDUAL",
                "personal_details": {"name": {"given_names": ["Ana"], "family_name": "Lima"}},
            },
        },
    )
    assert created.status_code == 201
    profile = created.json()
    assert profile["display_name"] == "Ana Lima"
    added = api.post(f"profiles/{profile['id']}/applications", json={"product": {"alias": "mortgage"}})
    assert added.status_code == 200
    assert added.json()["product"]["name"] == "Mortgage"
    assert added.json()["status"] == "APPLIED"
    assert (
        api.post(f"profiles/{profile['id']}/applications", json={"product": {"alias": "nope"}}).status_code
        == 400
    )
    assert profile["id"] in emulator.profile_ids()


def test_control_errors(emulator: PassFortEmulator) -> None:
    with pytest.raises(EmulatorControlError, match="404"):
        emulator.set_status("no-such-application", "APPROVED")
    with pytest.raises(EmulatorControlError, match="unknown fault"):
        emulator.set_faults(explode=True)
    with pytest.raises(EmulatorControlError, match="wrong type"):
        emulator.set_faults(error_rate="high")
    with pytest.raises(EmulatorControlError, match="auth must be"):
        emulator.configure_delivery(auth="sometimes")


def test_error_rate_fault_is_seeded_and_counted(api: httpx.Client, emulator: PassFortEmulator) -> None:
    emulator.set_faults(error_rate=0.5, error_status=500, seed=7)
    statuses = [api.get(f"profiles/{COMPANY}").status_code for _ in range(40)]
    assert set(statuses) == {200, 500}
    stats = emulator.stats()
    assert stats["api_errors_injected"] == statuses.count(500)
    assert stats["api_requests"] == 40


def test_emit_any_event(emulator: PassFortEmulator) -> None:
    envelope = emulator.emit("CHECK_COMPLETED", COMPANY, {"check_id": "c1"})
    assert envelope["event"] == "CHECK_COMPLETED"
    assert envelope["data"]["profile_id"] == COMPANY
    assert envelope["data"]["check_id"] == "c1"
    assert emulator.deliveries()["pending"] == 1


def test_add_profile_through_the_handle(emulator: PassFortEmulator) -> None:
    added = emulator.add_profile({"id": "p-new", "role": "INDIVIDUAL_CUSTOMER", "customer_ref": "r"})
    assert emulator.profile("p-new") == added
    assert added["collected_data"]["customer_ref"] == "r"
    assert emulator.profile("p-absent") is None


def test_cli_is_wired_under_fieldline_emulator() -> None:
    result = CliRunner().invoke(cli, ["emulator", "passfort", "--help"])
    assert result.exit_code == 0, result.output
    assert "--deliver-to" in result.output
    assert "--batch" in result.output


def test_cli_refuses_delivery_without_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDLINE_PASSFORT_WEBHOOK_SECRET", raising=False)
    result = CliRunner().invoke(cli, ["emulator", "passfort", "--deliver-to", "http://127.0.0.1:1/x"])
    assert isinstance(result.exception, ConfigError)
    assert "secret" in str(result.exception)


def test_bad_seed_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "seed.json"
    bad.write_text('{"profiles": 3}')
    with pytest.raises(ConfigError, match="expected a JSON list"):
        load_seed(bad)


def test_cli_serves_on_the_port_it_prints_in_the_error_style_asked() -> None:
    command = [
        sys.executable,
        "-c",
        "from fieldline.cli import main; main()",
        "emulator",
        "passfort",
        "--port",
        "0",
        "--api-key",
        "cli-key",
        "--error-style",
        "200",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            first_line = process.stdout.readline()
            url = first_line.split()[-1]
            assert url.startswith("http://127.0.0.1:")
            response = httpx.get(f"{url}/4.0/profiles/{COMPANY}", headers={"apikey": "cli-key"}, timeout=10)
            assert response.status_code == 200
            assert response.json()["display_name"] == "PassFort Limited"
            wrong = httpx.get(f"{url}/4.0/profiles/{COMPANY}", headers={"apikey": "nope"}, timeout=10)
            assert (wrong.status_code, wrong.json()["errors"][0]["code"]) == (200, 204)
        finally:
            process.terminate()
            process.communicate(timeout=15)
