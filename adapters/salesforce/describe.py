"""Salesforce describe results as fieldline's :class:`~fieldline.contracts.ObjectDescription`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fieldline.contracts import FieldDescription, FieldType, ObjectDescription
from fieldline.errors import FatalAdapterError

if TYPE_CHECKING:
    from fieldline.adapters.salesforce.client import SalesforceClient

__all__ = ["fetch_describe", "fetch_description", "object_description"]


def _field_description(raw: Mapping[str, Any]) -> FieldDescription:
    nillable = bool(raw.get("nillable", True))
    createable = bool(raw.get("createable", True))
    defaulted = bool(raw.get("defaultedOnCreate", False))
    field_type = FieldType.parse(str(raw.get("type") or "string")) or FieldType.OTHER
    length = raw.get("length")
    # Salesforce reports length 0 for non-text fields; it means "no text limit", not "empty only".
    text_length = int(length) if isinstance(length, int) and length > 0 else None
    picklist = tuple(
        str(entry.get("value"))
        for entry in raw.get("picklistValues") or ()
        if isinstance(entry, Mapping) and entry.get("active", True) and entry.get("value") is not None
    )
    return FieldDescription(
        name=str(raw["name"]),
        type=field_type,
        label=str(raw.get("label") or ""),
        length=text_length,
        # The rule describe implies: a create must give the field when Salesforce will not fill it.
        required=(not nillable) and createable and not defaulted and field_type is not FieldType.BOOLEAN,
        createable=createable,
        updateable=bool(raw.get("updateable", True)),
        nillable=nillable,
        unique=bool(raw.get("unique", False)),
        external_id=bool(raw.get("externalId", False)),
        id_lookup=bool(raw.get("idLookup", False)),
        picklist_values=picklist,
        restricted_picklist=bool(raw.get("restrictedPicklist", False)),
        reference_to=tuple(str(name) for name in raw.get("referenceTo") or ()),
    )


def object_description(raw: Mapping[str, Any]) -> ObjectDescription:
    """Translate ``GET /sobjects/{Obj}/describe``; Salesforce stores ``""`` as null."""
    fields = {
        description.name: description
        for description in (_field_description(entry) for entry in raw.get("fields") or ())
    }
    return ObjectDescription(
        name=str(raw.get("name") or ""),
        fields=fields,
        label=str(raw.get("label") or ""),
        createable=bool(raw.get("createable", True)),
        updateable=bool(raw.get("updateable", True)),
        blank_is_null=True,
    )


def fetch_description(client: SalesforceClient, object_name: str) -> ObjectDescription:
    """``GET sobjects/{object}/describe`` as an :class:`ObjectDescription`; an unknown object is
    a :class:`~fieldline.errors.FatalAdapterError` saying what to check."""
    return object_description(fetch_describe(client, object_name))


def fetch_describe(client: SalesforceClient, object_name: str) -> Mapping[str, Any]:
    """The raw answer of ``GET sobjects/{object}/describe`` (see :func:`fetch_description`)."""
    from urllib.parse import quote

    from fieldline.adapters.salesforce.client import SalesforceRequestError

    try:
        raw = client.restful(
            "GET", f"sobjects/{quote(object_name, safe='')}/describe", what=f"describe {object_name}"
        )
    except SalesforceRequestError as exc:
        if exc.context.get("status") == 404:
            suggestion = _closest_object(client, object_name)
            raise FatalAdapterError(
                f"Salesforce has no object {object_name!r}",
                hint=suggestion
                or "check the object's API name (custom objects end in __c) and the user's access",
                object=object_name,
                suggestion=suggestion,
            ) from exc
        raise
    return raw if isinstance(raw, Mapping) else {}


def _closest_object(client: SalesforceClient, object_name: str) -> str | None:
    """``did you mean 'Account'?`` from the org's object names (one global describe call, made
    only when an object is not found); ``None`` when none is close or the list cannot be read."""
    import difflib

    from fieldline.errors import FieldlineError

    try:
        raw = client.restful("GET", "sobjects/", what="list the org's objects")
    except FieldlineError:
        return None
    names = [
        str(entry.get("name")) for entry in (raw or {}).get("sobjects") or () if isinstance(entry, Mapping)
    ]
    by_lower = {name.lower(): name for name in names}
    close = difflib.get_close_matches(object_name.lower(), list(by_lower), n=1, cutoff=0.75)
    return f"did you mean {by_lower[close[0]]!r}?" if close else None
