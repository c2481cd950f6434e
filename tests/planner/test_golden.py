"""Golden cases: spec + documents + existing records -> the expected plan, one language feature
per case (``tests/planner/golden/<case>/``).

Each case holds ``spec.yaml``, ``documents.json`` (``[{key, data, version?}]``),
``existing.json`` (records per object) and ``plan.json`` (the expected ``Plan.as_json()``);
``descriptions.json`` (per object: ``blank_is_null`` and field types) is optional. Every case is
also re-planned after applying its plan, which must write nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fieldline.contracts import FieldDescription, FieldType, ObjectDescription, SourceDocument
from fieldline.planning.evaluation import evaluate
from fieldline.planning.planner import lookup_requests, plan
from fieldline.planning.plans import Action, Plan
from fieldline.plugins.manager import get_plugin_manager, normalizer_registry
from fieldline.spec.loader import load_spec
from fieldline.spec.model import Spec
from tests.strategies import MemoryTarget

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(path.name for path in GOLDEN.iterdir() if (path / "spec.yaml").is_file())


def _read(case: Path, name: str, default: Any) -> Any:
    path = case / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default


def _descriptions(raw: dict[str, Any]) -> dict[str, ObjectDescription]:
    return {
        name: ObjectDescription(
            name=name,
            fields={
                field: FieldDescription(name=field, type=FieldType(field_type))
                for field, field_type in body.get("fields", {}).items()
            },
            blank_is_null=bool(body.get("blank_is_null", False)),
        )
        for name, body in raw.items()
    }


def _plan_case(
    spec: Spec,
    documents: list[SourceDocument],
    target: MemoryTarget,
    descriptions: dict[str, ObjectDescription],
) -> Plan:
    normalizers = normalizer_registry(get_plugin_manager(load_entrypoints=False))
    intents = evaluate(spec, documents, normalizers=normalizers)
    existing = target.lookup(lookup_requests(spec, intents, normalizers=normalizers))
    return plan(spec, intents, existing, descriptions=descriptions or None)


@pytest.mark.parametrize("case", [pytest.param(case, id=case) for case in CASES])
def test_golden_plan(case: str, update_golden: bool) -> None:
    folder = GOLDEN / case
    spec = load_spec(folder / "spec.yaml", plugin_manager=get_plugin_manager(load_entrypoints=False))
    documents = [
        SourceDocument(key=item["key"], data=item["data"], version=item.get("version"))
        for item in _read(folder, "documents.json", [])
    ]
    descriptions = _descriptions(_read(folder, "descriptions.json", {}))
    target = MemoryTarget(records=_read(folder, "existing.json", {}), descriptions=descriptions)

    result = _plan_case(spec, documents, target, descriptions)
    actual = result.as_json()
    snapshot = folder / "plan.json"
    if update_golden:
        snapshot.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert snapshot.is_file(), f"{snapshot} is missing: run pytest tests/planner --update-golden"
    assert actual == json.loads(snapshot.read_text(encoding="utf-8"))

    # idempotence, case by case: applying the plan and planning again writes nothing
    target.apply_plan(result)
    again = _plan_case(spec, documents, target, descriptions)
    assert [r.label for r in again.records if r.action in (Action.CREATE, Action.UPDATE)] == []


def test_every_case_is_complete() -> None:
    assert len(CASES) >= 25
    for case in CASES:
        for name in ("documents.json", "existing.json", "plan.json"):
            assert (GOLDEN / case / name).is_file(), f"{case} lacks {name}"
