"""The pure planner: spec x documents -> intents; intents x existing records -> plan. No I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import exported, resolve

if TYPE_CHECKING:
    from fieldline.planning.compare import (
        Comparator as Comparator,
        comparator as comparator,
        same_value as same_value,
    )
    from fieldline.planning.evaluation import compose_normalizers as compose_normalizers, evaluate as evaluate
    from fieldline.planning.intents import (
        FieldIntent as FieldIntent,
        Intent as Intent,
        MatchKey as MatchKey,
        Ref as Ref,
    )
    from fieldline.planning.overlay import PlannedWrites as PlannedWrites, planned_id as planned_id
    from fieldline.planning.planner import (
        lookup_requests as lookup_requests,
        plan as plan,
        resolve_refs as resolve_refs,
    )
    from fieldline.planning.plans import (
        Action as Action,
        Decision as Decision,
        FieldChange as FieldChange,
        Plan as Plan,
        RecordPlan as RecordPlan,
        json_value as json_value,
    )

__all__ = exported(__file__)


def __getattr__(name: str) -> Any:
    return resolve(__name__, __file__, name)
