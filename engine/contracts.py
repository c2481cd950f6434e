"""What adapters promise the engine, and the values that cross that boundary.

Sources read documents; targets describe objects, look up existing records for many keys at
once, and apply a batch of writes returning an :class:`ApplyResult`: one result per write, or
the results so far and why the target stopped (:class:`Stop`). The engine never loops one
record per API call: batching is the runner's job, batch operations are the adapter's.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from fieldline.expressions.registry import FunctionRegistry

__all__ = [
    "AdapterContext",
    "AdapterFactory",
    "AdapterInfo",
    "AdapterKind",
    "ApplyResult",
    "EventRole",
    "FieldDescription",
    "FieldType",
    "LookupRequest",
    "LookupResult",
    "ObjectDescription",
    "SourceAdapter",
    "SourceBase",
    "SourceDocument",
    "SourceEvent",
    "Stop",
    "StopReason",
    "TargetAdapter",
    "TargetBase",
    "TargetRecord",
    "WebhookSource",
    "Write",
    "WriteBack",
    "WriteBackResult",
    "WriteBackStatus",
    "WriteError",
    "WriteErrorStage",
    "WriteOperation",
    "WriteResult",
    "field_value",
]

TargetRecord = Mapping[str, Any]
"""An existing target record: field name -> value, always with the target id under ``Id``."""


def field_value(record: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """``record[name]`` with ``name`` in any case, as Salesforce resolves field names (the key
    spelt exactly so wins); ``default`` when the record has no such field."""
    if name in record:
        return record[name]
    lowered = name.lower()
    for candidate, value in record.items():
        if candidate.lower() == lowered:
            return value
    return default


# --- sources -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One source entity (e.g. a PassFort profile, an app event's payload).

    ``key`` identifies it in the source; ``version`` orders states of the same entity (event
    time, seconds since the epoch) so older state never overwrites newer.
    """

    key: str
    data: Any
    version: float | None = None


class EventRole(enum.StrEnum):
    """What an event is to the worker that applies it."""

    TRIGGER = "trigger"  # a change notification: fetch the entity's current state, map that
    DOCUMENT = "document"  # the event's payload *is* the document to map (nothing to fetch)


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """A change notification (webhook) or a self-contained event for one entity.

    ``entity_key`` is what the event concerns: the queue applies one entity's events in order.
    ``ordering_keys`` are the keys whose *newest applied version* guards this event against
    arriving late: the event is stale (completed without a write) when any of them was already
    applied at a later ``occurred_at``, and applying it raises all of them. They are opaque
    strings the source namespaces itself (``"profile:abc"``, ``"application:xyz"``); empty
    means the entity key alone. ``role`` says whether the worker fetches the entity
    (``TRIGGER``) or maps ``payload`` itself (``DOCUMENT``). ``tenant`` names whose target
    connection the event is written through (an app event's JWT ``sub``); ``""`` is the
    spec's one target. The source namespaces ids and keys by tenant itself, so two tenants'
    events never dedupe or order against each other.
    """

    id: str
    type: str
    entity_key: str
    occurred_at: float
    payload: Mapping[str, Any] = dataclass_field(default_factory=dict)
    ordering_keys: tuple[str, ...] = ()
    role: EventRole = EventRole.TRIGGER
    tenant: str = ""

    @property
    def version_keys(self) -> tuple[str, ...]:
        """The keys whose applied versions this event is checked against and raises."""
        return self.ordering_keys or (self.entity_key,)


@runtime_checkable
class SourceAdapter(Protocol):
    """Reads documents from a source system.

    Inherit :class:`SourceBase` for the defaults of the methods most sources do not need.
    """

    name: str

    def read(self) -> Iterable[SourceDocument]:
        """Every document, for a batch run or backfill (streamed; may be large)."""
        ...

    def fetch(self, key: str) -> SourceDocument | None:
        """The current state of one entity, or ``None`` if the source no longer has it."""
        ...

    def check_ready(self) -> None:
        """Raise :class:`~fieldline.errors.ConfigError` when the source could not read or
        fetch (e.g. no API key). Called when a source is built to read or fetch from, never for
        a webhook receiver (which only parses requests); makes no network call."""
        ...

    def write_back_problem(self, path: str) -> str | None:
        """Why a spec's ``write_back`` cannot write ``path`` (a dotted path in the entity, e.g.
        ``collected_data.customer_ref``) into this source, or ``None`` when it can. ``validate``
        asks; no network call."""
        ...

    def write_back(self, writes: Sequence[WriteBack]) -> Sequence[WriteBackResult]:
        """Write values into source entities after their target writes succeeded (batched where
        the API allows); one result per write, in order. Writes only values that differ, never
        overwrites a newer change made in the source, and reports failures as results (with
        ``retriable``), not exceptions."""
        ...

    def is_write_back_echo(self, event: SourceEvent, paths: frozenset[str]) -> bool:
        """Whether ``event`` reports nothing but a change to ``paths`` (the spec's write-back
        paths): the echo of fieldline's own write-back, which the worker completes without a
        sync. ``False`` when unsure: the sync then finds nothing to write."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class WebhookSource(Protocol):
    """A source that can turn an HTTP request into events, verifying the sender first.

    Inherit :class:`SourceBase` for the defaults of ``check_receiving`` and ``is_enabled``.
    """

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[SourceEvent]:
        """Verify and parse one request (a single event or a batch).

        Raises :class:`~fieldline.errors.WebhookError` with the status to answer (401 for a
        wrong secret, 400 for a malformed body).
        """
        ...

    def check_receiving(self) -> None:
        """Raise :class:`~fieldline.errors.ConfigError` when the source could not verify
        senders (e.g. no shared secret); ``serve`` calls it at start."""
        ...

    def is_enabled(self, event_type: str) -> bool:
        """Whether the spec processes events of this type; others are stored as ``ignored``."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class SourceBase:
    """Defaults for the optional parts of :class:`SourceAdapter` and :class:`WebhookSource`."""

    def read(self) -> Iterable[SourceDocument]:
        return ()

    def fetch(self, key: str) -> SourceDocument | None:
        return None

    def check_ready(self) -> None:
        return None

    def check_receiving(self) -> None:
        return None

    def is_enabled(self, event_type: str) -> bool:
        return True

    def write_back_problem(self, path: str) -> str | None:
        return f"the {getattr(self, 'name', type(self).__name__)!r} source cannot be written back to"

    def write_back(self, writes: Sequence[WriteBack]) -> Sequence[WriteBackResult]:
        problem = self.write_back_problem("")
        return tuple(
            WriteBackResult(key=write.key, path=write.path, status=WriteBackStatus.FAILED, error=problem)
            for write in writes
        )

    def is_write_back_echo(self, event: SourceEvent, paths: frozenset[str]) -> bool:
        return False

    def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class WriteBack:
    """One value to write into a source entity (``key``) at ``path`` (dotted, e.g.
    ``collected_data.customer_ref``) once the target write it comes from has succeeded."""

    key: str
    path: str
    value: Any


class WriteBackStatus(enum.StrEnum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"  # the source already had the value: nothing sent
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class WriteBackResult:
    """The outcome of one :class:`WriteBack`. ``retriable``: trying again later may succeed."""

    key: str
    path: str
    status: WriteBackStatus
    error: str | None = None
    retriable: bool = False
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not WriteBackStatus.FAILED


# --- targets -------------------------------------------------------------------------------


class FieldType(enum.StrEnum):
    """The type of a target field, in the words of Salesforce describe (other targets use the
    same words). Values are what describe and ``fieldline describe --json`` show."""

    ID = "id"
    STRING = "string"
    TEXTAREA = "textarea"
    EMAIL = "email"
    URL = "url"
    PHONE = "phone"
    PICKLIST = "picklist"
    MULTIPICKLIST = "multipicklist"
    COMBOBOX = "combobox"
    ENCRYPTED_STRING = "encryptedstring"
    REFERENCE = "reference"
    BOOLEAN = "boolean"
    INT = "int"
    LONG = "long"
    DOUBLE = "double"
    CURRENCY = "currency"
    PERCENT = "percent"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    BASE64 = "base64"
    ADDRESS = "address"
    LOCATION = "location"
    ANY_TYPE = "anyType"
    COMPLEX_VALUE = "complexvalue"
    JSON = "json"
    OTHER = "other"  # a type fieldline does not know: its values are compared and checked as given

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every spelling :meth:`parse` takes in lower case, for a schema's ``enum``."""
        return tuple(_FIELD_TYPE_NAMES)

    @classmethod
    def parse(cls, text: str) -> FieldType | None:
        """The type named ``text`` (any case; ``text``, ``integer`` and ``number`` are accepted
        for ``string``, ``int`` and ``double``), or ``None`` when it names none."""
        return _FIELD_TYPE_NAMES.get(text.strip().lower())

    @property
    def is_number(self) -> bool:
        return self in _NUMBER_TYPES

    @property
    def is_text(self) -> bool:
        """Holds text (so a length applies, and a boolean is not a value of it)."""
        return self in _TEXT_TYPES

    @property
    def is_id(self) -> bool:
        """Holds record ids (15 and 18 characters name the same record)."""
        return self in (FieldType.ID, FieldType.REFERENCE)


_NUMBER_TYPES = frozenset(
    {FieldType.INT, FieldType.LONG, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT}
)
_TEXT_TYPES = frozenset(
    {
        FieldType.STRING,
        FieldType.TEXTAREA,
        FieldType.EMAIL,
        FieldType.URL,
        FieldType.PHONE,
        FieldType.PICKLIST,
        FieldType.MULTIPICKLIST,
        FieldType.COMBOBOX,
        FieldType.ENCRYPTED_STRING,
        FieldType.ID,
        FieldType.REFERENCE,
    }
)
_FIELD_TYPE_NAMES: dict[str, FieldType] = {
    **{member.value.lower(): member for member in FieldType if member is not FieldType.OTHER},
    "text": FieldType.STRING,
    "integer": FieldType.INT,
    "number": FieldType.DOUBLE,
}


@dataclass(frozen=True, slots=True)
class FieldDescription:
    """What the target says about one field (a subset of Salesforce describe)."""

    name: str
    type: FieldType = FieldType.STRING
    label: str = ""
    length: int | None = None
    required: bool = False  # must be given on create
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    unique: bool = False
    external_id: bool = False
    id_lookup: bool = False
    picklist_values: tuple[str, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectDescription:
    """What the target says about one object.

    ``blank_is_null``: the target stores ``""`` as null (Salesforce does), so the planner treats
    the two as equal when diffing and a re-sync stays write-free.
    """

    name: str
    fields: Mapping[str, FieldDescription]
    label: str = ""
    createable: bool = True
    updateable: bool = True
    blank_is_null: bool = False
    # Built once: the planner and the adapters ask for fields by name on every record.
    _by_lower_name: Mapping[str, FieldDescription] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_lower_name: dict[str, FieldDescription] = {}
        for name, description in self.fields.items():
            by_lower_name.setdefault(name.lower(), description)
        object.__setattr__(self, "_by_lower_name", by_lower_name)

    def field(self, name: str) -> FieldDescription | None:
        """The field called ``name`` in any case, as Salesforce resolves names (the one spelt
        exactly so wins if a target has two that differ only in case)."""
        found = self.fields.get(name)
        return found if found is not None else self._by_lower_name.get(name.lower())


@dataclass(frozen=True, slots=True)
class LookupRequest:
    """Find existing ``object`` records whose ``field`` equals one of ``values``.

    ``values`` are already normalized. When ``normalizer`` is set the target must apply it to
    its own field values before comparing (e.g. ``root_domain`` on ``Website``), fetching
    candidates as narrowly as it can. ``fields`` lists what the planner needs back (the mapped
    fields, for target-aware diffs); ``Id`` is always returned.
    """

    object: str
    field: str
    values: frozenset[Any]
    fields: frozenset[str]
    normalize: tuple[str, ...] = ()
    normalizer: Callable[[Any], Any] | None = None


LookupResult = Mapping[tuple[str, str, tuple[str, ...]], Mapping[Any, Sequence[TargetRecord]]]
"""``(object, field, normalize) -> normalized value -> matching records`` (sorted by ``Id``).
Values with no match may be absent or map to an empty sequence."""


class WriteOperation(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UPSERT = "upsert"  # by external id: ``external_id_field`` must be set


@dataclass(frozen=True, slots=True)
class Write:
    """One record to write. ``key`` ties the result back to the plan (record name + key)."""

    key: str
    object: str
    operation: WriteOperation
    fields: Mapping[str, Any]
    target_id: str | None = None
    external_id_field: str | None = None


class WriteErrorStage(enum.StrEnum):
    """Where a write was refused."""

    TARGET = "target"  # the target refused it
    # never sent, invalid by the target's describe (missing required field, value not in a
    # restricted picklist, too long)
    PREFLIGHT = "preflight"


@dataclass(frozen=True, slots=True)
class WriteError:
    """Why the target refused one write. ``code`` is the target's own (``DUPLICATE_VALUE``)."""

    code: str
    message: str
    fields: tuple[str, ...] = ()
    retriable: bool = False
    stage: WriteErrorStage = WriteErrorStage.TARGET


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of one :class:`Write`, in request order."""

    key: str
    ok: bool
    target_id: str | None = None
    created: bool = False
    error: WriteError | None = None


class StopReason(enum.StrEnum):
    """Why a target stopped sending a batch before its end: nobody's fault, try again later."""

    BUDGET = "budget"  # the run used the share of API calls it was allowed (``budget_share``)
    DAILY_LIMIT = "daily_limit"  # the system's own daily API limit is reached


@dataclass(frozen=True, slots=True)
class Stop:
    """Why a batch (and the run) stopped early. ``retry_after``: seconds, when the target knows."""

    reason: StopReason
    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What :meth:`TargetAdapter.apply` did with a batch of writes.

    ``results`` holds one :class:`WriteResult` per write that was settled (sent and answered,
    or refused before sending), in request order. When ``stopped`` is ``None`` there is exactly
    one per write; otherwise the target stopped early and the writes without a result were
    not sent.
    """

    results: tuple[WriteResult, ...]
    stopped: Stop | None = None


@runtime_checkable
class TargetAdapter(Protocol):
    """Writes records into a target system (a CRM)."""

    name: str

    def describe(self, object_name: str) -> ObjectDescription:
        """The object's fields. Raise :class:`~fieldline.errors.FatalAdapterError` if unknown."""
        ...

    def lookup(self, requests: Sequence[LookupRequest]) -> LookupResult:
        """Existing records for many match keys at once, in as few calls as possible."""
        ...

    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        """Write a batch; one result per write, in order. A rejected record never hides
        which one failed. When the API budget or daily limit runs out, return the results so
        far with ``stopped`` set (never raise for that); transport failures raise
        :class:`~fieldline.errors.AdapterError`."""
        ...

    def check_ready(self) -> None:
        """Raise :class:`~fieldline.errors.ConfigError` when the target could not write (e.g.
        an incomplete login); called when it is built, before any work; no network call."""
        ...

    def begin_run(self) -> None:
        """A run starts (one ``sync`` or dry run; in the service, each batch of events): forget
        what earlier runs read of the target's records, which others may have changed since.
        Inherit :class:`TargetBase` for the default, which remembers nothing."""
        ...

    def write_window(self) -> int:
        """How many planned writes ``sync`` may gather from several batches before one ``apply``
        call per spec record (a target whose cost is per call, not per record, writes fewer,
        larger batches: Salesforce engages Bulk API 2.0). 0: each batch is applied as it is
        planned. :class:`TargetBase`'s default is 0."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class TargetBase:
    """Defaults for the optional parts of :class:`TargetAdapter`."""

    def check(self, writes: Sequence[Write]) -> list[tuple[WriteError, ...]]:
        """Every reason each write would be refused before it is sent (the target's pre-write
        checks: length, required, picklist, type), without sending anything; ``plan`` shows them
        as ``invalid``. One tuple per write, empty when it may be sent. Default: no checks."""
        return [() for _ in writes]

    def check_ready(self) -> None:
        return None

    def begin_run(self) -> None:
        return None

    def write_window(self) -> int:
        return 0

    def close(self) -> None:
        return None


# --- registration --------------------------------------------------------------------------


class AdapterKind(enum.StrEnum):
    SOURCE = "source"
    TARGET = "target"


@dataclass(frozen=True, slots=True)
class AdapterContext:
    """What a factory is told besides its options: which spec it builds the adapter for."""

    spec_folder: Path
    """The folder of the spec file (the current folder for a spec with no file)."""
    spec_name: str = ""
    functions: FunctionRegistry | None = None
    """The JMESPath functions the plugins contribute (``root_domain``, ...), for adapter options
    that are expressions (the files source's ``key``); ``None``: JMESPath's own only."""
    connection: Mapping[str, Any] | None = None
    """A target built for one tenant: that tenant's settings from the connections file (secrets
    already resolved, as :class:`~fieldline.config.Secret`), used instead of the environment."""
    tenants: frozenset[str] | None = None
    """A source built for a spec with a connections file: the tenants that have a connection
    (an event of any other tenant is refused at intake). ``None``: the spec has no tenants."""

    def resolve(self, path: str | Path) -> Path:
        """``path`` with ``~`` expanded; a relative path is taken from the spec's folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.spec_folder / candidate


AdapterFactory = Callable[[Mapping[str, Any], AdapterContext], Any]
"""Builds an adapter from its spec ``options`` and the :class:`AdapterContext`; credentials
come from the environment/config, never from the spec."""


@dataclass(frozen=True, slots=True)
class AdapterInfo:
    """An adapter a plugin registers.

    ``options_schema`` is a JSON Schema (Draft 2020-12) for the ``options`` a spec may give it;
    ``validate`` checks spec options against it. ``description`` (shown by ``fieldline plugins``)
    defaults to the first line of the factory's docstring.
    """

    name: str
    kind: AdapterKind
    factory: AdapterFactory
    options_schema: Mapping[str, Any] = dataclass_field(default_factory=lambda: {"type": "object"})
    description: str = ""

    def __post_init__(self) -> None:
        if not self.description:
            summary = (self.factory.__doc__ or "").strip().split("\n", 1)[0]
            object.__setattr__(self, "description", summary)
