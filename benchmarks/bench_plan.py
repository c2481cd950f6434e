"""Plan throughput: evaluate + plan for PassFort-shaped profiles, against hand-written Python.

A PassFort-shaped spec (``bench_plan.yaml``: profile -> Account; ``applications[]`` -> an
application object, three per profile; eight fields in all, value maps, one ``if_empty``) over
20,000 generated profiles, half of which already exist in the target. The same work is done by a
hand-written function that knows the spec by heart and builds the same
:class:`~fieldline.planning.plans.Plan`; both are timed in the same run and checked to agree.
Both work in batches of the runner's size (500 documents), as a sync does. Lookup I/O is not
measured: the existing records are handed to both as an in-memory lookup result.

Figures: ``plan_profiles_per_s``, ``handwritten_profiles_per_s`` and ``engine_vs_handwritten``
(engine time / hand-written time; the target is <= 1.5), timed with the cyclic garbage collector
paused as :mod:`timeit` does; ``engine_vs_handwritten_gc`` is the same ratio with it running.
That second figure is dominated by full collections walking this benchmark's own inputs (20,000
documents and the existing state, all alive at once; a sync holds one batch), so
``engine_vs_handwritten_gc_inputs_frozen`` repeats it with the inputs moved out of the collector's
reach (:func:`gc.freeze`): the collector then sees only what each planner allocates.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fieldline.contracts import LookupResult, SourceDocument
from fieldline.planning.evaluation import evaluate
from fieldline.planning.intents import Ref
from fieldline.planning.planner import lookup_requests, plan
from fieldline.planning.plans import Action, Decision, FieldChange, Plan, RecordPlan
from fieldline.plugins.manager import get_plugin_manager, normalizer_registry
from fieldline.spec.loader import load_spec
from fieldline.spec.model import Spec, Strategy
from fieldline.sync.runner import DEFAULT_BATCH_SIZE
from fieldline.values import MISSING

PROFILES = 20_000
APPLICATIONS_PER_PROFILE = 3
REPEATS = 5
BATCH = DEFAULT_BATCH_SIZE  # the runner plans this many documents at a time
SAMPLE = 500  # profiles whose plans must be identical between engine and hand-written code

SPEC_FILE = Path(__file__).with_suffix(".yaml")  # the spec this benchmark syncs

_RISKS = ("LOW", "MEDIUM", "HIGH")
_RISK_MAP = {"LOW": "Low", "MEDIUM": "Medium", "HIGH": "High"}
_STATUSES = ("APPLIED", "IN_REVIEW", "APPROVED")
_STATUS_MAP = {"APPLIED": "Applied", "IN_REVIEW": "In review", "APPROVED": "Approved"}
_PRODUCTS = ("KYC", "AML screening", "Document check")
_COUNTRIES = ("GBR", "FRA", "DEU", "USA")
_NOTHING: Mapping[str, Any] = {}


def _documents(count: int, rng: random.Random) -> list[SourceDocument]:
    documents = []
    for index in range(count):
        profile_id = f"prof-{index:06d}"
        data = {
            "id": profile_id,
            "risk": rng.choice(_RISKS),
            "collected_data": {
                "metadata": {"name": f"Applicant {index}"},
                "address": {"country": rng.choice(_COUNTRIES)},
            },
            "applications": [
                {
                    "id": f"app-{index:06d}-{number}",
                    "status": rng.choice(_STATUSES),
                    "product": {"name": rng.choice(_PRODUCTS)},
                }
                for number in range(APPLICATIONS_PER_PROFILE)
            ],
        }
        documents.append(SourceDocument(key=profile_id, data=data, version=float(index)))
    return documents


def _existing(documents: Sequence[SourceDocument], rng: random.Random) -> LookupResult:
    """Half of the profiles exist, with their applications; some values differ."""
    accounts: dict[Any, list[dict[str, Any]]] = {}
    applications: dict[Any, list[dict[str, Any]]] = {}
    for index, document in enumerate(documents):
        if index % 2:
            continue
        data = document.data
        account_id = f"001{index:012d}"
        accounts[data["id"]] = [
            {
                "Id": account_id,
                "PassFort_Profile_Id__c": data["id"],
                "Name": data["collected_data"]["metadata"]["name"] if rng.random() < 0.5 else None,
                "Risk__c": _RISK_MAP[rng.choice(_RISKS)],
                "Country__c": data["collected_data"]["address"]["country"],
            }
        ]
        for number, application in enumerate(data["applications"]):
            applications[application["id"]] = [
                {
                    "Id": f"a0X{index:09d}{number:03d}",
                    "Application_ID__c": application["id"],
                    "Status__c": _STATUS_MAP[rng.choice(_STATUSES)],
                    "Product_Name__c": application["product"]["name"],
                    "Applicant__c": account_id,
                }
            ]
    return {
        ("Account", "PassFort_Profile_Id__c", ()): accounts,
        ("PassFort_Application__c", "Application_ID__c", ()): applications,
    }


# --- the hand-written equivalent ---------------------------------------------------------------
FieldSource = tuple[str, Any, Strategy, str, "str | None"]  # field, value, strategy, source, note


def _mapped(value: Any, value_map: Mapping[str, str]) -> tuple[Any, str | None]:
    """A source value through its value map, and the plan's note saying so (none when unset)."""
    if value is MISSING or value is None:
        return value, None
    mapped = value_map[value]
    return mapped, f"map {value!r} -> {mapped!r}"


def handwritten_plan(documents: Sequence[SourceDocument], existing: LookupResult) -> Plan:
    """The same decisions as the engine for this one spec, written out by hand."""
    accounts = existing[("Account", "PassFort_Profile_Id__c", ())]
    applications_found = existing[("PassFort_Application__c", "Application_ID__c", ())]
    override, if_empty = Strategy.OVERRIDE, Strategy.IF_EMPTY
    write, unchanged, kept, missing, null_skipped = (
        Decision.WRITE,
        Decision.UNCHANGED,
        Decision.KEPT,
        Decision.MISSING,
        Decision.NULL_SKIPPED,
    )
    parents: list[RecordPlan] = []
    children: list[RecordPlan] = []

    def change(
        name: str, old: Any, new: Any, strategy: Strategy, source: str, *, note: str | None, creating: bool
    ) -> tuple[FieldChange, bool]:
        if new is MISSING:
            decision, reason = missing, "source has no value"
        elif new is None:
            decision, reason = null_skipped, "source value is null (nulls: skip)"
        elif creating:
            decision, reason = write, "new record"
        elif not isinstance(new, Ref) and old == new and type(old) is type(new):
            decision, reason = unchanged, "target already has this value"
        elif strategy is override:
            decision = write
            reason = "parent is created in this run" if isinstance(new, Ref) else "value differs"
        elif old is MISSING or old is None or old == "":
            decision, reason = write, "target field is empty"
        else:
            decision, reason = kept, "if_empty: target field already has a value"
        if note is not None:
            reason = f"{reason}; {note}"
        return FieldChange(name, old, new, strategy, decision, reason, source), decision is write

    def record_plan(
        name: str,
        obj: str,
        key: str,
        document: SourceDocument,
        found_by_match: Mapping[Any, Sequence[Mapping[str, Any]]],
        *,
        sources: tuple[FieldSource, ...],
    ) -> RecordPlan:
        """The plan of one record of the spec; its first field is the one it is matched by."""
        match_field, match_value = sources[0][:2]
        found = found_by_match.get(match_value)
        record = found[0] if found else None
        creating = record is None
        current = record if record is not None else _NOTHING
        changes = []
        any_write = False
        for field, value, strategy, source, note in sources:
            field_change, written = change(
                field, current.get(field, MISSING), value, strategy, source, note=note, creating=creating
            )
            changes.append(field_change)
            any_write = any_write or written
        return RecordPlan(
            record=name,
            object=obj,
            key=key,
            action=Action.CREATE if creating else Action.UPDATE if any_write else Action.NOOP,
            changes=tuple(changes),
            target_id=None if record is None else record["Id"],
            matched_by=None if creating else f"{match_field} = {match_value!r}",
            version=document.version,
            document_key=document.key,
        )

    for document in documents:
        data = document.data
        key = document.key
        profile_id = data.get("id", MISSING)
        collected = data.get("collected_data")
        metadata = collected.get("metadata") if isinstance(collected, dict) else None
        name = metadata.get("name", MISSING) if isinstance(metadata, dict) else MISSING
        address = collected.get("address") if isinstance(collected, dict) else None
        country = address.get("country", MISSING) if isinstance(address, dict) else MISSING
        risk, risk_note = _mapped(data.get("risk", MISSING), _RISK_MAP)
        sources: tuple[FieldSource, ...] = (
            ("PassFort_Profile_Id__c", profile_id, override, "id", None),
            ("Name", name, if_empty, "collected_data.metadata.name", None),
            ("Risk__c", risk, override, "risk", risk_note),
            ("Country__c", country, override, "collected_data.address.country", None),
        )
        parent = record_plan("applicant", "Account", key, document, accounts, sources=sources)
        parents.append(parent)
        applicant: Any = parent.target_id or Ref("applicant", key)
        for index, application in enumerate(data.get("applications") or ()):
            application_id = application.get("id", MISSING)
            status, status_note = _mapped(application.get("status", MISSING), _STATUS_MAP)
            product = application.get("product")
            product_name = product.get("name", MISSING) if isinstance(product, dict) else MISSING
            sources = (
                ("Application_ID__c", application_id, override, "id", None),
                ("Status__c", status, override, "status", status_note),
                ("Product_Name__c", product_name, override, "product.name", None),
                ("Applicant__c", applicant, override, "ref applicant", None),
            )
            child_key = f"{key}[{index}]"
            child = record_plan(
                "application",
                "PassFort_Application__c",
                child_key,
                document,
                applications_found,
                sources=sources,
            )
            children.append(child)
    return Plan(tuple(parents + children))


# --- measuring ---------------------------------------------------------------------------------


def _engine(
    spec: Spec, normalizers: Mapping[str, Callable[[Any], Any]]
) -> Callable[[Sequence[SourceDocument], LookupResult], Plan]:
    def run(documents: Sequence[SourceDocument], existing: LookupResult) -> Plan:
        intents = evaluate(spec, documents, normalizers=normalizers)
        return plan(spec, intents, existing)

    return run


def _best_times(
    functions: Sequence[Callable[[Sequence[SourceDocument], LookupResult], Plan]],
    documents: Sequence[SourceDocument],
    existing: LookupResult,
    *,
    collect: bool,
) -> list[float]:
    """Each function's time for all documents, planned ``BATCH`` at a time as the runner does.

    Every batch is timed ``REPEATS`` times, the functions taking turns batch by batch so a
    change of machine load hits them alike; a function's time is the sum of its best time per
    batch. ``collect=False`` pauses the cyclic garbage collector while timing, as :mod:`timeit`
    does: a collection's cost depends on everything else alive in the process.
    """
    batches = [documents[start : start + BATCH] for start in range(0, len(documents), BATCH)]
    best = [[float("inf")] * len(batches) for _ in functions]
    for _ in range(REPEATS):
        gc.collect()
        if not collect:
            gc.disable()
        try:
            for number, batch in enumerate(batches):
                for index, function in enumerate(functions):
                    started = time.perf_counter()
                    function(batch, existing)
                    elapsed = time.perf_counter() - started
                    best[index][number] = min(best[index][number], elapsed)
        finally:
            gc.enable()
    return [sum(times) for times in best]


def run() -> dict[str, float]:
    """Time the engine and the hand-written planner on the same profiles; check they agree."""
    manager = get_plugin_manager(load_entrypoints=False)
    spec = load_spec(SPEC_FILE, plugin_manager=manager)
    normalizers = normalizer_registry(manager)
    rng = random.Random(20261123)
    documents = _documents(PROFILES, rng)
    existing = _existing(documents, rng)
    engine = _engine(spec, normalizers)

    # same inputs, same plan (checked on a sample, and the lookup the engine would ask for)
    sample = documents[:SAMPLE]
    sample_intents = evaluate(spec, sample, normalizers=normalizers)
    asked = {(r.object, r.field, r.normalize) for r in lookup_requests(spec, sample_intents, normalizers={})}
    if asked != set(existing):
        raise AssertionError(f"the engine asks for {asked}, the benchmark provides {set(existing)}")
    expected = handwritten_plan(sample, existing)
    actual = engine(sample, existing)
    if actual != expected:
        raise AssertionError("engine and hand-written plans differ on the sample")
    counts = actual.counts()
    if not (counts["create"] and counts["update"] and counts["noop"]):
        raise AssertionError(f"the sample should exercise create, update and noop: {counts}")

    timed = (engine, handwritten_plan)
    engine_time, handwritten_time = _best_times(timed, documents, existing, collect=False)
    engine_gc_time, handwritten_gc_time = _best_times(timed, documents, existing, collect=True)
    gc.collect()
    gc.freeze()
    try:
        engine_frozen, handwritten_frozen = _best_times(timed, documents, existing, collect=True)
    finally:
        gc.unfreeze()
    return {
        "plan_profiles_per_s": PROFILES / engine_time,
        "handwritten_profiles_per_s": PROFILES / handwritten_time,
        "engine_vs_handwritten": engine_time / handwritten_time,
        # the same with the garbage collector running (what a long sync sees)
        "engine_vs_handwritten_gc": engine_gc_time / handwritten_gc_time,
        "engine_vs_handwritten_gc_inputs_frozen": engine_frozen / handwritten_frozen,
    }
