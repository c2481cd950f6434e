"""``PassFortSource``: fetch, customer_ref, backfill ids, registration and the factory."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pluggy
import pytest

from fieldline.adapters.passfort.emulator import SEED_FILE, PassFortEmulator, running_passfort_emulator
from fieldline.adapters.passfort.plugin import OPTIONS_SCHEMA
from fieldline.adapters.passfort.settings import PassFortSettings
from fieldline.adapters.passfort.source import PassFortSource, normalize_profile, read_profile_ids
from fieldline.contracts import AdapterContext, AdapterKind, SourceAdapter, WebhookSource
from fieldline.errors import ConfigError
from fieldline.plugins.manager import adapter_registry
from tests.passfort.conftest import API_KEY, SECRET

COMPANY = "b82b0434-f9e8-11e7-8397-000000000001"
WITH_REF = "b82b0434-f9e8-11e7-8397-000000000002"
PERSON = "d00dfeed-0000-4000-8000-000000000005"


@pytest.fixture(scope="module")
def emulator() -> Iterator[PassFortEmulator]:
    with running_passfort_emulator(SEED_FILE, api_key=API_KEY) as handle:
        yield handle


@pytest.fixture
def source(emulator: PassFortEmulator, settings: PassFortSettings) -> Iterator[PassFortSource]:
    passfort = PassFortSource(replace(settings, base_url=emulator.api_url))
    yield passfort
    passfort.close()


def test_implements_both_contracts(source: PassFortSource) -> None:
    assert isinstance(source, SourceAdapter)
    assert isinstance(source, WebhookSource)


def test_fetch_gives_the_profile_keyed_by_id(source: PassFortSource) -> None:
    document = source.fetch(WITH_REF)
    assert document is not None
    assert document.key == WITH_REF
    assert document.version is None
    assert document.data["display_name"] == "Forexo Trading Ltd"
    assert document.data["customer_ref"] == "001000000000001AAA"
    assert len(document.data["applications"]) == 2


def test_fetch_without_customer_ref_exposes_null(source: PassFortSource) -> None:
    document = source.fetch(COMPANY)
    assert document is not None
    assert "customer_ref" in document.data
    assert document.data["customer_ref"] is None


def test_fetch_unknown_is_none(source: PassFortSource) -> None:
    assert source.fetch("no-such-profile") is None


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        pytest.param(
            {"customer_ref": "top", "collected_data": {"customer_ref": "inner"}}, "top", id="top-wins"
        ),
        pytest.param(
            {"customer_ref": None, "collected_data": {"customer_ref": "inner"}}, "inner", id="null-top"
        ),
        pytest.param({"collected_data": {"customer_ref": "inner"}}, "inner", id="only-inner"),
        pytest.param({"collected_data": None}, None, id="no-collected-data"),
        pytest.param({}, None, id="neither"),
    ],
)
def test_customer_ref_normalization(profile: dict[str, Any], expected: str | None) -> None:
    before = copy.deepcopy(profile)
    normalized = normalize_profile(profile)
    assert normalized["customer_ref"] == expected
    assert profile == before  # the fetched profile is not mutated


def test_read_streams_listed_profiles_in_order_and_skips_404(
    emulator: PassFortEmulator, settings: PassFortSettings, tmp_path: Path
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"# backfill\n{PERSON}\n\n{COMPANY}  # again, deduplicated\nmissing-id\n")
    passfort = PassFortSource(
        replace(settings, base_url=emulator.api_url),
        profile_ids=[WITH_REF, COMPANY],
        profile_ids_file=ids_file,
        concurrency=2,
    )
    try:
        keys = [document.key for document in passfort.read()]
    finally:
        passfort.close()
    assert keys == [WITH_REF, COMPANY, PERSON]


def test_read_every_seed_profile(emulator: PassFortEmulator, settings: PassFortSettings) -> None:
    ids = emulator.profile_ids()
    passfort = PassFortSource(replace(settings, base_url=emulator.api_url), profile_ids=ids, concurrency=3)
    try:
        assert [document.key for document in passfort.read()] == ids
    finally:
        passfort.close()


def test_read_without_ids_explains_why(source: PassFortSource) -> None:
    with pytest.raises(ConfigError, match="no documented profile listing"):
        list(source.read())


def test_unreadable_ids_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="profile_ids_file"):
        read_profile_ids(tmp_path / "absent.txt")


def test_registered_as_a_source(plugin_manager: pluggy.PluginManager) -> None:
    info = adapter_registry(plugin_manager)[("passfort", AdapterKind.SOURCE)]
    assert info.options_schema is OPTIONS_SCHEMA
    assert ("passfort", AdapterKind.TARGET) not in adapter_registry(plugin_manager)


def test_factory_reads_credentials_from_the_environment(
    plugin_manager: pluggy.PluginManager, emulator: PassFortEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDLINE_PASSFORT_API_KEY", API_KEY)
    monkeypatch.setenv("FIELDLINE_PASSFORT_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("FIELDLINE_PASSFORT_BASE_URL", emulator.api_url)
    factory = adapter_registry(plugin_manager)[("passfort", AdapterKind.SOURCE)].factory
    options = {"events": ["CHECK_COMPLETED"], "timeout": 5, "base_url": "https://ignored.example"}
    passfort = factory(options, AdapterContext(spec_folder=Path.cwd()))
    try:
        assert isinstance(passfort, PassFortSource)
        assert passfort.settings.base_url == emulator.api_url
        assert passfort.is_enabled("CHECK_COMPLETED")
        assert not passfort.is_enabled("PRODUCT_STATUS_CHANGED")
        assert passfort.fetch(COMPANY) is not None
    finally:
        passfort.close()


def test_factory_takes_a_relative_ids_file_from_the_spec_folder(
    plugin_manager: pluggy.PluginManager,
    emulator: PassFortEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("FIELDLINE_PASSFORT_API_KEY", API_KEY)
    monkeypatch.setenv("FIELDLINE_PASSFORT_BASE_URL", emulator.api_url)
    spec_folder = tmp_path / "specs"
    spec_folder.mkdir()
    (spec_folder / "ids.txt").write_text(f"{PERSON}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # not the spec's folder: the context decides, not the cwd
    factory = adapter_registry(plugin_manager)[("passfort", AdapterKind.SOURCE)].factory
    source = factory({"profile_ids_file": "ids.txt"}, AdapterContext(spec_folder=spec_folder))
    try:
        assert [document.key for document in source.read()] == [PERSON]
    finally:
        source.close()


def test_factory_without_api_key_fails_clearly(
    plugin_manager: pluggy.PluginManager, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIELDLINE_CONFIG", raising=False)
    monkeypatch.delenv("FIELDLINE_PASSFORT_API_KEY", raising=False)
    factory = adapter_registry(plugin_manager)[("passfort", AdapterKind.SOURCE)].factory
    source = factory({}, AdapterContext(spec_folder=tmp_path))  # a webhook receiver needs no API key ...
    try:
        with pytest.raises(ConfigError, match="FIELDLINE_PASSFORT_API_KEY"):
            source.check_ready()  # ... but fetching does, and says so before any work
        with pytest.raises(ConfigError, match="FIELDLINE_PASSFORT_API_KEY"):
            source.fetch("profile-1")
    finally:
        source.close()


def test_options_schema_accepts_the_documented_options() -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(OPTIONS_SCHEMA)
    good = {
        "events": ["PRODUCT_STATUS_CHANGED", "PRODUCT_FLAG_CHANGED"],
        "profile_ids": ["a"],
        "profile_ids_file": "ids.txt",
        "base_url": "http://127.0.0.1:8101/4.0",
        "timeout": 10,
        "max_retries": 3,
    }
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({"api_key": "secret-in-a-spec"}))  # never in a spec
    assert list(validator.iter_errors({"events": ["bad name!"]}))
