"""The pure planner: spec x documents -> intents; intents x existing records -> plan. No I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import resolve

if TYPE_CHECKING:
    from fieldline.planning.compare import (
        Comparator,
        comparator,
        same_value,
    )
    from fieldline.planning.evaluation import (
        compose_normalizers,
        evaluate,
    )
    from fieldline.planning.intents import (
        FieldIntent,
        Intent,
        MatchKey,
        Ref,
    )
    from fieldline.planning.overlay import (
        PlannedWrites,
        planned_id,
    )
    from fieldline.planning.planner import (
        lookup_requests,
        plan,
        resolve_refs,
    )
    from fieldline.planning.plans import (
        Action,
        Decision,
        FieldChange,
        Plan,
        RecordPlan,
        json_value,
    )

_EXPORTS = {
    "Action": "fieldline.planning.plans",
    "Comparator": "fieldline.planning.compare",
    "Decision": "fieldline.planning.plans",
    "FieldChange": "fieldline.planning.plans",
    "FieldIntent": "fieldline.planning.intents",
    "Intent": "fieldline.planning.intents",
    "MatchKey": "fieldline.planning.intents",
    "Plan": "fieldline.planning.plans",
    "PlannedWrites": "fieldline.planning.overlay",
    "RecordPlan": "fieldline.planning.plans",
    "Ref": "fieldline.planning.intents",
    "comparator": "fieldline.planning.compare",
    "compose_normalizers": "fieldline.planning.evaluation",
    "evaluate": "fieldline.planning.evaluation",
    "json_value": "fieldline.planning.plans",
    "lookup_requests": "fieldline.planning.planner",
    "plan": "fieldline.planning.planner",
    "planned_id": "fieldline.planning.overlay",
    "resolve_refs": "fieldline.planning.planner",
    "same_value": "fieldline.planning.compare",
}
__all__ = [
    "Action",
    "Comparator",
    "Decision",
    "FieldChange",
    "FieldIntent",
    "Intent",
    "MatchKey",
    "Plan",
    "PlannedWrites",
    "RecordPlan",
    "Ref",
    "comparator",
    "compose_normalizers",
    "evaluate",
    "json_value",
    "lookup_requests",
    "plan",
    "planned_id",
    "resolve_refs",
    "same_value",
]


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)
