"""Test doubles for spec tests: a plugin with a strict fake source and a describable fake target."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from fieldline.contracts import (
    AdapterContext,
    AdapterInfo,
    AdapterKind,
    ApplyResult,
    FieldDescription,
    FieldType,
    LookupRequest,
    LookupResult,
    ObjectDescription,
    SourceBase,
    TargetBase,
    Write,
    WriteResult,
)
from fieldline.errors import FatalAdapterError, TransientAdapterError
from fieldline.plugins.hookspecs import hookimpl
from fieldline.plugins.manager import get_plugin_manager

FAKE_OPTIONS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["path"],
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string"},
        "batch_size": {"type": "integer", "maximum": 200},
        "fail": {"type": "string", "enum": ["factory", "describe", "crash"]},
    },
}

OBJECTS: dict[str, ObjectDescription] = {
    "Account": ObjectDescription(
        name="Account",
        fields={
            "Id": FieldDescription("Id", type=FieldType.ID, createable=False, updateable=False),
            "Name": FieldDescription("Name", length=20, required=True),
            "Website": FieldDescription("Website", type=FieldType.URL, length=255),
            "Active__c": FieldDescription("Active__c", type=FieldType.BOOLEAN),
            "Employees__c": FieldDescription("Employees__c", type=FieldType.INT),
            "Founded__c": FieldDescription("Founded__c", type=FieldType.DATE),
            "Tier__c": FieldDescription(
                "Tier__c",
                type=FieldType.PICKLIST,
                picklist_values=("Gold", "Silver"),
                restricted_picklist=True,
            ),
            "Rating__c": FieldDescription(
                "Rating__c", type=FieldType.PICKLIST, picklist_values=("Hot", "Cold")
            ),
            "Created_By_Sync__c": FieldDescription("Created_By_Sync__c", updateable=False),
            "Formula__c": FieldDescription("Formula__c", createable=False, updateable=False),
            "Profile_Id__c": FieldDescription("Profile_Id__c", length=36, external_id=True),
        },
    ),
    "Contact": ObjectDescription(
        name="Contact",
        fields={
            "Id": FieldDescription("Id", type=FieldType.ID, createable=False, updateable=False),
            "LastName": FieldDescription("LastName", required=True),
            "Email": FieldDescription("Email", type=FieldType.EMAIL),
            "AccountId": FieldDescription("AccountId", type=FieldType.REFERENCE, reference_to=("Account",)),
            "ReportsToId": FieldDescription(
                "ReportsToId", type=FieldType.REFERENCE, reference_to=("Contact",)
            ),
        },
    ),
}


class FakeTarget(TargetBase):
    """A TargetAdapter that describes :data:`OBJECTS` and never writes."""

    name = "fake"

    def __init__(self, options: Mapping[str, Any], context: AdapterContext | None = None) -> None:
        self.options = dict(options)
        self.context = context
        self.closed = False
        if options.get("fail") == "factory":
            raise FatalAdapterError("cannot log in to the fake target", hint="check FIELDLINE_FAKE_TOKEN")
        if options.get("fail") == "crash":
            raise RuntimeError("plugin bug")

    def describe(self, object_name: str) -> ObjectDescription:
        if self.options.get("fail") == "describe":
            raise TransientAdapterError("connection refused by 127.0.0.1:9")
        try:
            return OBJECTS[object_name]
        except KeyError:
            raise FatalAdapterError(f"unknown object {object_name!r}", status=404) from None

    def lookup(self, requests: Sequence[LookupRequest]) -> LookupResult:
        return {}

    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        return ApplyResult(tuple(WriteResult(key=write.key, ok=True) for write in writes))

    def close(self) -> None:
        self.closed = True


class FakeSource(SourceBase):
    name = "fake"

    def __init__(self, options: Mapping[str, Any], context: AdapterContext | None = None) -> None:
        self.options = options
        self.context = context


class FakePlugin:
    """Registers source and target adapters named ``fake`` with :data:`FAKE_OPTIONS_SCHEMA`."""

    @hookimpl
    def register_adapters(self) -> Sequence[AdapterInfo]:
        return (
            AdapterInfo("fake", AdapterKind.SOURCE, FakeSource, options_schema=FAKE_OPTIONS_SCHEMA),
            AdapterInfo("fake", AdapterKind.TARGET, FakeTarget, options_schema=FAKE_OPTIONS_SCHEMA),
            AdapterInfo("sinkonly", AdapterKind.TARGET, FakeTarget),
        )


def fake_plugin_manager() -> pluggy.PluginManager:
    """Built-ins (no entry points) plus :class:`FakePlugin`."""
    return get_plugin_manager(load_entrypoints=False, plugins=(FakePlugin(),))
