"""What replaying dead letters would write now: the plan under the current spec.

Shared by ``fieldline replay --dry-run`` and the console's replay page. Each entity's newest
dead letter stands for it: a document event's payload is the document; a trigger's entity is
fetched from the source again (it may have changed, or be gone, since the event failed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pluggy

from fieldline.contracts import EventRole, SourceDocument
from fieldline.planning.plans import Plan, RecordPlan
from fieldline.planning.write_back import WriteBackChange
from fieldline.queue.jobs import DeadLetter
from fieldline.spec.model import Spec

__all__ = ["ReplayPreview", "preview_replay"]


@dataclass(frozen=True, slots=True)
class ReplayPreview:
    """The plan the dead letters would produce, and the entities the source no longer has
    (a replay completes those as gone)."""

    plan: Plan
    gone: tuple[str, ...] = ()


def preview_replay(
    spec: Spec, letters: Sequence[DeadLetter], *, plugin_manager: pluggy.PluginManager
) -> ReplayPreview:
    """Plan ``letters`` with ``spec`` against its target (each tenant's against that tenant's
    own), writing nothing."""
    from fieldline.sync.adapter_builder import build_source, build_target
    from fieldline.sync.runner import Runner

    newest: dict[str, DeadLetter] = {}
    for letter in sorted(letters, key=lambda letter: letter.job_id):
        newest[letter.lock_key] = letter
    source = build_source(spec, plugin_manager)
    try:
        by_tenant: dict[str, list[SourceDocument]] = {}
        gone: list[str] = []
        for key, letter in newest.items():
            documents = by_tenant.setdefault(letter.tenant, [])
            if letter.role is EventRole.DOCUMENT:
                documents.append(SourceDocument(key=key, data=letter.payload, version=letter.occurred_at))
                continue
            document = source.fetch(key)
            if document is None:
                gone.append(key)
            else:
                documents.append(document)
        records: list[RecordPlan] = []
        write_backs: list[WriteBackChange] = []
        for tenant, documents in sorted(by_tenant.items()):
            # each tenant's letters are planned against that tenant's own target
            target = build_target(spec, plugin_manager, tenant=tenant or None)
            try:
                plan = Runner(spec, target, plugin_manager=plugin_manager).dry_run(documents)
            finally:
                target.close()
            records.extend(plan.records)
            write_backs.extend(plan.write_backs)
    finally:
        source.close()
    return ReplayPreview(Plan(tuple(records), tuple(write_backs)), tuple(gone))
