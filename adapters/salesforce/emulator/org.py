"""The org's metadata: objects and fields, the standard ones plus what an org file adds.

Names are matched case-insensitively everywhere, as Salesforce does; the definitions keep the
canonical spelling so responses echo ``PassFort_Profile_Id__c`` however the request spelled it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fieldline.errors import ConfigError

__all__ = [
    "FIELD_TYPES",
    "FieldDef",
    "ObjectDef",
    "Org",
    "load_org",
    "standard_org",
]

# Field types the emulator understands, with the SOAP type describe reports for each.
FIELD_TYPES: dict[str, str] = {
    "id": "tns:ID",
    "string": "xsd:string",
    "textarea": "xsd:string",
    "email": "xsd:string",
    "phone": "xsd:string",
    "url": "xsd:string",
    "picklist": "xsd:string",
    "multipicklist": "xsd:string",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}
TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist", "multipicklist"})
DEFAULT_LENGTHS = {"string": 255, "textarea": 32768, "email": 80, "phone": 40, "url": 255, "picklist": 255}


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field of an object, with the attributes describe reports and validation enforces."""

    name: str
    type: str = "string"
    label: str = ""
    length: int = 0
    required: bool = False
    unique: bool = False
    external_id: bool = False
    id_lookup: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    createable: bool = True
    updateable: bool = True
    calculated: bool = False
    auto_number: bool = False
    defaulted_on_create: bool = False
    default_value: Any = None
    name_field: bool = False
    precision: int = 0
    scale: int = 0
    # Derived once: validation asks on every value of every record.
    is_text: bool = field(init=False, repr=False, compare=False)
    is_stringlike: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_text", self.type in TEXT_TYPES)
        object.__setattr__(self, "is_stringlike", self.type in TEXT_TYPES or self.type in ("reference", "id"))

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    @property
    def nillable(self) -> bool:
        # Booleans are never null in Salesforce; required fields are not nillable.
        return not (self.required or self.type in ("boolean", "id"))

    @property
    def indexed(self) -> bool:
        """Whether the store keeps a value index for this field (ids, unique and external ids)."""
        return self.type == "id" or self.unique or self.external_id


@dataclass(frozen=True, slots=True)
class ObjectDef:
    """One sObject type: its key prefix and fields (keyed by lower-case name)."""

    name: str
    label: str
    key_prefix: str
    fields: Mapping[str, FieldDef]
    label_plural: str = ""

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    def field(self, name: str) -> FieldDef | None:
        """The field called ``name`` in any letter case, or ``None``."""
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is ``name`` (``Applicant__r``), or ``None``."""
        wanted = name.lower()
        for candidate in self.fields.values():
            if candidate.relationship_name and candidate.relationship_name.lower() == wanted:
                return candidate
        return None

    @property
    def indexed_fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields.values() if f.indexed)


@dataclass(slots=True)
class Org:
    """All objects of the emulated org, keyed by lower-case name."""

    objects: dict[str, ObjectDef] = field(default_factory=dict)

    def get(self, name: str) -> ObjectDef | None:
        """The object called ``name`` in any letter case, or ``None``."""
        return self.objects.get(name.lower())

    def by_prefix(self, prefix: str) -> ObjectDef | None:
        """The object whose ids start with ``prefix``."""
        for obj in self.objects.values():
            if obj.key_prefix == prefix:
                return obj
        return None

    def add(self, obj: ObjectDef) -> None:
        self.objects[obj.name.lower()] = obj


def _f(name: str, type_: str = "string", **attrs: Any) -> FieldDef:
    label = attrs.pop("label", None) or _label(name)
    length = attrs.pop("length", DEFAULT_LENGTHS.get(type_, 0))
    return FieldDef(name=name, type=type_, label=label, length=length, **attrs)


def _label(name: str) -> str:
    base = name[:-3] if name.endswith("__c") else name
    return base.replace("_", " ").strip()


def _system_fields() -> list[FieldDef]:
    read_only = {"createable": False, "updateable": False}
    return [
        _f("Id", "id", length=18, id_lookup=True, label="Record ID", **read_only),
        _f("IsDeleted", "boolean", label="Deleted", defaulted_on_create=True, **read_only),
        _f("CreatedDate", "datetime", defaulted_on_create=True, **read_only),
        _f("LastModifiedDate", "datetime", defaulted_on_create=True, **read_only),
        _f("SystemModstamp", "datetime", defaulted_on_create=True, **read_only),
    ]


INDUSTRIES = (
    "Agriculture",
    "Banking",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Finance",
    "Healthcare",
    "Insurance",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Other",
)
ACCOUNT_TYPES = ("Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other")
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
LEAD_RATINGS = ("Hot", "Warm", "Cold")
SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")


def _object(name: str, prefix: str, fields: Iterable[FieldDef], label: str | None = None) -> ObjectDef:
    all_fields = [*_system_fields(), *fields]
    label = label or _label(name)
    return ObjectDef(
        name=name,
        label=label,
        key_prefix=prefix,
        fields={f.name.lower(): f for f in all_fields},
        label_plural=f"{label}s",
    )


def _person_name() -> list[FieldDef]:
    """A person's name parts and the full ``Name`` Salesforce calculates from them (Contact, Lead)."""
    full_name = _f(
        "Name",
        "string",
        length=121,
        label="Full Name",
        createable=False,
        updateable=False,
        calculated=True,
        name_field=True,
    )
    return [_f("FirstName", length=40), _f("LastName", length=80, required=True), full_name]


def standard_org() -> Org:
    """Account, Contact and Lead with their common standard fields, plus User and Organization."""
    org = Org()
    org.add(
        _object(
            "Account",
            "001",
            [
                _f("Name", length=255, required=True, name_field=True, label="Account Name"),
                _f("AccountNumber", length=40),
                _f("Website", "url"),
                _f("Phone", "phone"),
                _f("Fax", "phone"),
                _f("Industry", "picklist", length=255, picklist=INDUSTRIES),
                _f("Type", "picklist", length=255, picklist=ACCOUNT_TYPES, label="Account Type"),
                _f("Description", "textarea"),
                _f("BillingStreet", "textarea", length=255),
                _f("BillingCity", length=40),
                _f("BillingState", length=80),
                _f("BillingPostalCode", length=20),
                _f("BillingCountry", length=80),
                _f("NumberOfEmployees", "int", precision=8, label="Employees"),
                _f("AnnualRevenue", "currency", precision=18, scale=0),
                _f("ParentId", "reference", length=18, reference_to=("Account",), relationship_name="Parent"),
            ],
        )
    )
    org.add(
        _object(
            "Contact",
            "003",
            [
                *_person_name(),
                _f("Email", "email"),
                _f("Phone", "phone"),
                _f("MobilePhone", "phone"),
                _f("Title", length=128),
                _f("Department", length=80),
                _f("Description", "textarea"),
                _f("MailingCity", length=40),
                _f("MailingCountry", length=80),
                _f("Birthdate", "date"),
                _f("HasOptedOutOfEmail", "boolean", defaulted_on_create=True, default_value=False),
                _f(
                    "AccountId",
                    "reference",
                    length=18,
                    reference_to=("Account",),
                    relationship_name="Account",
                ),
            ],
        )
    )
    org.add(
        _object(
            "Lead",
            "00Q",
            [
                _f("Salutation", "picklist", length=40, picklist=SALUTATIONS),
                *_person_name(),
                _f("Company", length=255, required=True),
                _f("Email", "email"),
                _f("Phone", "phone"),
                _f("MobilePhone", "phone", label="Mobile Phone"),
                _f("City", length=40),
                _f("State", length=80, label="State/Province"),
                _f("PostalCode", length=20, label="Zip/Postal Code"),
                _f("Rating", "picklist", length=255, picklist=LEAD_RATINGS),
                _f("AnnualRevenue", "currency", precision=18, scale=0, label="Annual Revenue"),
                _f("Title", length=128),
                _f("Website", "url"),
                _f("Industry", "picklist", length=255, picklist=INDUSTRIES),
                _f("Country", length=80),
                _f("Description", "textarea"),
                _f("LeadSource", "picklist", length=255, picklist=LEAD_SOURCES),
                _f(
                    "Status",
                    "picklist",
                    length=255,
                    picklist=LEAD_STATUSES,
                    restricted=True,
                    defaulted_on_create=True,
                    default_value=LEAD_STATUSES[0],
                    label="Lead Status",
                ),
                _f("NumberOfEmployees", "int", precision=8, label="Employees"),
            ],
        )
    )
    _add_identity_objects(org)
    return org


def _add_identity_objects(org: Org) -> None:
    """``User`` and ``Organization``, which clients read to learn who and where they are.

    simple-salesforce's ``is_sandbox()`` queries ``Organization.IsSandbox``; the Salesforce CLI
    reads ``User.Username`` and the organization's name and type. The emulator seeds one record
    of each (see :mod:`.identity`); neither can be written through the API.
    """
    read_only: dict[str, Any] = {"createable": False, "updateable": False}
    user_fields = [
        *(replace(f, createable=False, updateable=False) for f in _person_name()),
        _f("Username", length=80, unique=True, **read_only),
        _f("Email", "email", **read_only),
        _f("Alias", length=8, **read_only),
        _f("IsActive", "boolean", label="Active", **read_only),
        _f("UserType", "picklist", picklist=("Standard",), **read_only),
        _f("TimeZoneSidKey", "picklist", picklist=("GMT",), label="Time Zone", **read_only),
        _f("LocaleSidKey", "picklist", picklist=("en_US",), label="Locale", **read_only),
        _f("LanguageLocaleKey", "picklist", picklist=("en_US",), label="Language", **read_only),
    ]
    org.add(_object("User", "005", user_fields))
    org.add(
        _object(
            "Organization",
            "00D",
            [
                _f("Name", length=80, name_field=True, **read_only),
                _f("IsSandbox", "boolean", **read_only),
                _f(
                    "OrganizationType",
                    "picklist",
                    picklist=("Developer Edition",),
                    label="Edition",
                    **read_only,
                ),
                _f("InstanceName", length=5, **read_only),
                _f("NamespacePrefix", length=15, **read_only),
                _f("TrialExpirationDate", "datetime", **read_only),
                _f("LanguageLocaleKey", "picklist", picklist=("en_US",), label="Locale", **read_only),
                _f("TimeZoneSidKey", "picklist", picklist=("GMT",), label="Time Zone", **read_only),
            ],
        )
    )


# Attributes an org file may set on a field, mapped to FieldDef attribute names.
_FIELD_KEYS = {
    "type": "type",
    "label": "label",
    "length": "length",
    "required": "required",
    "unique": "unique",
    "external_id": "external_id",
    "id_lookup": "id_lookup",
    "picklist": "picklist",
    "restricted": "restricted",
    "reference_to": "reference_to",
    "relationship_name": "relationship_name",
    "createable": "createable",
    "updateable": "updateable",
    "default": "default_value",
    "precision": "precision",
    "scale": "scale",
}


def _field_from_yaml(where: str, name: str, raw: Any) -> FieldDef:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: a field must be a mapping of attributes", hint="e.g. {type: string}")
    unknown = sorted(set(map(str, raw)) - set(_FIELD_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown field attribute(s) {', '.join(unknown)}",
            hint=f"known attributes: {', '.join(sorted(_FIELD_KEYS))}",
        )
    attrs: dict[str, Any] = {_FIELD_KEYS[str(key)]: value for key, value in raw.items()}
    type_ = str(attrs.pop("type", "string")).lower()
    if type_ == "text":
        type_ = "string"
    if type_ not in FIELD_TYPES or type_ == "id":
        raise ConfigError(
            f"{where}: unknown field type {type_!r}",
            hint=f"use one of {', '.join(t for t in FIELD_TYPES if t != 'id')}",
        )
    for key in ("picklist", "reference_to"):
        if key in attrs:
            value = attrs[key]
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: {key} must be a list of strings")
            attrs[key] = tuple(value)
    if type_ == "reference":
        if not attrs.get("reference_to"):
            raise ConfigError(f"{where}: a reference field needs reference_to", hint="e.g. [Account]")
        attrs.setdefault(
            "relationship_name", name[:-3] + "__r" if name.endswith("__c") else name.removesuffix("Id")
        )
        attrs.setdefault("length", 18)
    if attrs.get("external_id") or attrs.get("unique"):
        attrs.setdefault("id_lookup", True)
    if attrs.get("default_value") is not None:
        attrs["defaulted_on_create"] = True
    try:
        return _f(name, type_, **attrs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _next_custom_prefix(org: Org) -> str:
    used = {obj.key_prefix for obj in org.objects.values()}
    for number in range(36 * 36):
        prefix = f"a{_BASE36[number // 36]}{_BASE36[number % 36]}"
        if prefix not in used:
            return prefix
    raise ConfigError("no key prefix left for custom objects")


_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def apply_org_document(org: Org, document: Any, *, source: str = "<org>") -> Org:
    """Add the objects and fields of a parsed org document to ``org`` (in place; also returned)."""
    if document is None:
        return org
    if not isinstance(document, Mapping) or not isinstance(document.get("objects", {}), Mapping):
        raise ConfigError(f"{source}: an org file is a mapping with an 'objects' mapping")
    for key, value in (document.get("objects") or {}).items():
        obj_name = str(key)
        where = f"{source}: objects.{obj_name}"
        raw_obj = value or {}
        if not isinstance(raw_obj, Mapping):
            raise ConfigError(f"{where}: an object must be a mapping (label, key_prefix, fields)")
        existing = org.get(obj_name)
        raw_fields = raw_obj.get("fields") or {}
        if not isinstance(raw_fields, Mapping):
            raise ConfigError(f"{where}.fields: must be a mapping of field name to attributes")
        new_fields = {
            str(fname).lower(): _field_from_yaml(f"{where}.fields.{fname}", str(fname), fdef)
            for fname, fdef in raw_fields.items()
        }
        if existing is None:
            if not obj_name.endswith("__c"):
                raise ConfigError(
                    f"{where}: unknown standard object", hint="custom object names end in '__c'"
                )
            prefix = str(raw_obj.get("key_prefix") or _next_custom_prefix(org))
            if len(prefix) != 3 or org.by_prefix(prefix) is not None:
                raise ConfigError(f"{where}.key_prefix: {prefix!r} must be 3 characters and unused")
            base = _object(
                obj_name, prefix, [_f("Name", length=80, name_field=True)], label=raw_obj.get("label")
            )
            existing = base
        fields = dict(existing.fields)
        fields.update(new_fields)
        label = str(raw_obj.get("label") or existing.label)
        org.add(replace(existing, fields=fields, label=label, label_plural=f"{label}s"))
    return org


def load_org(path: str | Path | None = None) -> Org:
    """The standard org plus the objects and fields of the YAML org file at ``path`` (if any)."""
    org = standard_org()
    if path is None:
        return org
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        text = Path(path).read_text(encoding="utf-8")
        document = YAML(typ="safe").load(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read org file: {exc.strerror}") from exc
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = " ".join(part for part in (exc.context, exc.problem) if part) or "cannot parse"
        raise ConfigError(f"{where}: not valid YAML: {problem}", hint="fix the org file's YAML") from exc
    except YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return apply_org_document(org, document, source=str(path))
