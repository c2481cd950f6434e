"""Plugins load one at a time: a broken one is recorded by name and left out; the environment
chooses which load."""

from __future__ import annotations

import pytest

from fieldline.contracts import AdapterKind
from fieldline.errors import ConfigError
from fieldline.plugins.hookspecs import hookimpl
from fieldline.plugins.loading import PluginFailure
from fieldline.plugins.manager import (
    adapter_registry,
    collect,
    function_registry,
    get_plugin_manager,
)
from fieldline.spec.model import AdapterSpec, Spec
from fieldline.sync.adapter_builder import build_adapter
from tests.plugins.conftest import Install
from tests.plugins.throwaway import MISSING_IMPORT, RAISING_HOOKS, WORKING


def test_a_plugin_that_cannot_be_imported_is_recorded_and_the_rest_load(install: Install) -> None:
    install(name="broken", distribution="fieldline-broken", source=MISSING_IMPORT)
    manager = get_plugin_manager(environ={})
    assert manager.failures == [
        PluginFailure(
            "broken",
            "fieldline-broken",
            "load",
            "ModuleNotFoundError",
            "No module named 'fieldline_no_such_dependency'",
        )
    ]
    assert manager.get_plugin("broken") is None
    assert ("files", AdapterKind.SOURCE) in adapter_registry(manager)
    description = manager.failures[0].describe()
    assert "plugin 'broken' (from fieldline-broken) could not be loaded: ModuleNotFoundError" in description
    assert "FIELDLINE_DISABLE_PLUGINS=broken or uninstall fieldline-broken" in description


def test_a_hook_that_raises_is_recorded_by_plugin_and_hook(install: Install) -> None:
    install(name="widgets", distribution="fieldline-widgets", source=RAISING_HOOKS)
    manager = get_plugin_manager(environ={})
    assert manager.get_plugin("widgets") is not None
    registry = adapter_registry(manager)
    assert ("files", AdapterKind.TARGET) in registry  # the others' adapters are all there
    assert [(f.name, f.distribution, f.stage, f.error) for f in manager.failures] == [
        ("widgets", "fieldline-widgets", "register_adapters", "RuntimeError: the widget API key is not set")
    ]


def test_an_unknown_adapter_names_the_plugins_that_failed(install: Install) -> None:
    install(name="widgets", distribution="fieldline-widgets", source=RAISING_HOOKS)
    manager = get_plugin_manager(environ={})
    spec = Spec(name="s", records=())
    with pytest.raises(ConfigError) as caught:
        build_adapter(AdapterSpec(adapter="widget"), AdapterKind.TARGET, manager, spec=spec)
    assert "plugins that failed (see the warnings above): 'widgets'" in str(caught.value.hint)


@pytest.mark.parametrize(
    ("environ", "loaded"),
    [
        pytest.param({}, True, id="default-loads-all"),
        pytest.param({"FIELDLINE_LOAD_PLUGINS": ""}, False, id="empty-load-list-loads-none"),
        pytest.param({"FIELDLINE_LOAD_PLUGINS": "good"}, True, id="load-by-entry-point-name"),
        pytest.param({"FIELDLINE_LOAD_PLUGINS": "Fieldline_Good"}, True, id="load-by-distribution"),
        pytest.param({"FIELDLINE_LOAD_PLUGINS": "other"}, False, id="load-list-without-it"),
        pytest.param({"FIELDLINE_DISABLE_PLUGINS": "good"}, False, id="disabled-by-name"),
        pytest.param(
            {"FIELDLINE_LOAD_PLUGINS": "good", "FIELDLINE_DISABLE_PLUGINS": "fieldline-good"},
            False,
            id="disable-wins",
        ),
    ],
)
def test_the_environment_chooses_third_party_plugins(
    install: Install, environ: dict[str, str], loaded: bool
) -> None:
    install(name="good", distribution="fieldline-good", source=WORKING)
    manager = get_plugin_manager(environ=environ)
    assert ("shout" in function_registry(manager).names) is loaded
    assert ("good" in {source.name for source in manager.skipped}) is not loaded
    assert manager.failures == []
    assert manager.get_plugin("files") is not None  # built-ins load whatever the load list says


def test_a_built_in_is_skipped_only_when_disabled_by_name(install: Install) -> None:
    manager = get_plugin_manager(environ={"FIELDLINE_DISABLE_PLUGINS": "files, demo"})
    assert manager.get_plugin("files") is None
    assert manager.get_plugin("demo") is None
    assert ("files", AdapterKind.SOURCE) not in adapter_registry(manager)
    assert {source.name for source in manager.skipped} == {"files", "demo"}


def test_a_name_that_matches_no_plugin_is_reported(
    install: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    get_plugin_manager(environ={"FIELDLINE_LOAD_PLUGINS": "fieldline-typo-in-the-name"})
    assert "FIELDLINE_LOAD_PLUGINS names 'fieldline-typo-in-the-name', but no installed plugin" in (
        capsys.readouterr().err
    )


def test_without_entry_points_only_built_ins_load_whatever_is_installed(install: Install) -> None:
    install(name="broken", distribution="fieldline-broken", source=MISSING_IMPORT)
    install(name="good", distribution="fieldline-good", source=WORKING)
    manager = get_plugin_manager(load_entrypoints=False, environ={"FIELDLINE_DISABLE_PLUGINS": "files"})
    assert manager.failures == []
    assert manager.get_plugin("good") is None
    assert manager.get_plugin("files") is not None


def test_collect_leaves_out_only_the_implementation_that_raises() -> None:
    class Raises:
        @hookimpl
        def register_normalizers(self) -> dict[str, object]:
            raise ValueError("bad table")

    class Works:
        @hookimpl
        def register_normalizers(self) -> dict[str, object]:
            return {"same": lambda value: value}

    manager = get_plugin_manager(load_entrypoints=False)
    manager.register(Raises(), name="raises")
    manager.register(Works(), name="works")
    results = dict(collect(manager, "register_normalizers"))
    assert set(results["works"]) == {"same"}
    assert "raises" not in results
    assert "builtin_functions" in results
    assert [(f.name, f.stage, f.error) for f in manager.failures] == [
        ("raises", "register_normalizers", "ValueError: bad table")
    ]
