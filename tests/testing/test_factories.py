"""How the suite factories fill their configs (``factories.suite_config``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldline.contracts import WebhookSource
from fieldline.testing import MemoryTarget, WebhookRequest, get_target_test_class
from fieldline.testing.factories import suite_config
from fieldline.testing.target_suite import TargetTestConfig
from fieldline.testing.webhook_suite import WebhookTestConfig


@dataclass(frozen=True, slots=True)
class _Config:
    needed: str
    optional: str | None = None
    limit: int = 5


def test_suite_config_takes_the_arguments_named_like_fields() -> None:
    arguments: dict[str, Any] = {"needed": "x", "limit": 7, "class_name": "TestX", "templates": ()}
    assert suite_config(_Config, arguments) == _Config(needed="x", limit=7)


def test_none_leaves_a_field_at_its_default() -> None:
    assert suite_config(_Config, {"needed": "x", "optional": None, "limit": None}) == _Config(needed="x")


def test_the_target_factory_keeps_the_default_invalid_fields_and_copies_required_ones() -> None:
    required = {"LastName": "Test"}
    test_class = get_target_test_class(
        make_target=MemoryTarget,
        object_name="Contact",
        external_id_field="External_Id__c",
        text_field="Description__c",
        required_fields=required,
    )
    required["LastName"] = "changed later"
    config = test_class.conformance_config  # type: ignore[attr-defined]
    assert isinstance(config, TargetTestConfig)
    assert config.required_fields == {"LastName": "Test"}
    assert config.invalid_fields == {"Fieldline_No_Such_Field__c": "x"}


def _never_made() -> WebhookSource:
    raise AssertionError("the config alone makes no source")


def test_a_webhook_config_holds_its_samples_as_tuples() -> None:
    request = WebhookRequest.json({"id": "e1"})
    samples = [request]
    config = WebhookTestConfig(
        make_source=_never_made,
        valid=request,
        wrong_credentials=samples,
        malformed=samples,
        enabled_types=["a"],
    )
    samples.append(request)
    assert config.wrong_credentials == (request,)
    assert config.malformed == (request,)
    assert config.enabled_types == ("a",)
