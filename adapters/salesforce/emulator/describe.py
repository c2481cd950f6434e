"""Describe results (global and per object) built from the org's definitions, plus record rendering."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fieldline.adapters.salesforce.emulator.org import FIELD_TYPES, FieldDef, ObjectDef, Org
from fieldline.adapters.salesforce.emulator.store import Record

__all__ = ["describe_field", "describe_global", "describe_object", "object_summary", "render_record"]

_NOT_GROUPABLE = frozenset({"textarea", "double", "currency", "percent", "datetime", "multipicklist"})


def describe_field(field: FieldDef) -> dict[str, Any]:
    """One ``fields[]`` entry of a describe result."""
    length = field.length if field.is_text or field.type in ("id", "reference") else 0
    return {
        "aggregatable": field.type not in ("textarea", "multipicklist"),
        "autoNumber": field.auto_number,
        "byteLength": length * 3,
        "calculated": field.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "createable": field.createable,
        "custom": field.custom,
        "defaultValue": field.default_value,
        "defaultedOnCreate": field.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": field.precision if field.type == "int" else 0,
        "externalId": field.external_id,
        "filterable": field.type not in ("textarea",),
        "groupable": field.type not in _NOT_GROUPABLE,
        "htmlFormatted": False,
        "idLookup": field.id_lookup,
        "inlineHelpText": None,
        "label": field.label or field.name,
        "length": length,
        "name": field.name,
        "nameField": field.name_field,
        "nillable": field.nillable,
        "picklistValues": [
            {
                "active": True,
                "defaultValue": value == field.default_value,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in field.picklist
        ],
        "polymorphicForeignKey": False,
        "precision": field.precision if field.type in ("double", "currency", "percent") else 0,
        "referenceTo": list(field.reference_to),
        "relationshipName": field.relationship_name,
        "restrictedPicklist": field.restricted,
        "scale": field.scale,
        "soapType": FIELD_TYPES[field.type],
        "sortable": field.type not in ("textarea", "multipicklist"),
        "type": field.type,
        "unique": field.unique,
        "updateable": field.updateable,
    }


def _urls(obj: ObjectDef, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def object_summary(obj: ObjectDef, version: str) -> dict[str, Any]:
    """The per-object entry of the global describe."""
    return {
        "activateable": False,
        "createable": True,
        "custom": obj.custom,
        "customSetting": False,
        "deletable": True,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": True,
        "mergeable": obj.name in ("Account", "Contact", "Lead"),
        "mruEnabled": True,
        "name": obj.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": True,
        "updateable": True,
        "urls": _urls(obj, version),
    }


def describe_global(org: Org, version: str) -> dict[str, Any]:
    """``GET /sobjects``."""
    objects = sorted(org.objects.values(), key=lambda o: o.name)
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [object_summary(o, version) for o in objects],
    }


def child_relationships(org: Org, obj: ObjectDef) -> Iterable[dict[str, Any]]:
    """The relationships from ``obj`` to the objects that refer to it (``Account.Contacts``)."""
    for child in sorted(org.objects.values(), key=lambda o: o.name):
        for field in child.fields.values():
            if field.type == "reference" and obj.name in field.reference_to:
                plural = child.label_plural.replace(" ", "_")
                name = f"{plural}__r" if child.custom or field.custom else f"{child.name}s"
                yield {
                    "cascadeDelete": False,
                    "childSObject": child.name,
                    "deprecatedAndHidden": False,
                    "field": field.name,
                    "relationshipName": name,
                    "restrictedDelete": False,
                }


def describe_object(org: Org, obj: ObjectDef, version: str) -> dict[str, Any]:
    """``GET /sobjects/{Obj}/describe``."""
    result = object_summary(obj, version)
    result.update(
        {
            "childRelationships": list(child_relationships(org, obj)),
            "fields": [describe_field(f) for f in obj.fields.values()],
            "recordTypeInfos": [],
            "supportedScopes": [{"label": "All", "name": "everything"}],
        }
    )
    return result


def render_record(
    obj: ObjectDef, record: Record, version: str, fields: Iterable[str] | None = None
) -> Record:
    """A record as the REST API returns it: ``attributes`` then the fields (all, or ``fields``)."""
    out: Record = {
        "attributes": {
            "type": obj.name,
            "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}",
        }
    }
    if fields is None:
        for field in obj.fields.values():
            out[field.name] = record.get(field.name)
    else:
        for name in fields:
            out[name] = record.get(name)
    return out
