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
from fieldline.planning.plans import Plan
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
    """Plan ``letters`` with ``spec`` against its target, writing nothing."""
    from fieldline.sync.adapter_builder import build_source, build_target
    from fieldline.sync.runner import Runner

    newest: dict[str, DeadLetter] = {}
    for letter in sorted(letters, key=lambda letter: letter.job_id):
        newest[letter.lock_key] = letter
    source = build_source(spec, plugin_manager)
    try:
        target = build_target(spec, plugin_manager)
        try:
            documents: list[SourceDocument] = []
            gone: list[str] = []
            for key, letter in newest.items():
                if letter.role is EventRole.DOCUMENT:
                    documents.append(SourceDocument(key=key, data=letter.payload, version=letter.occurred_at))
                    continue
                document = source.fetch(key)
                if document is None:
                    gone.append(key)
                else:
                    documents.append(document)
            plan = Runner(spec, target, plugin_manager=plugin_manager).dry_run(documents)
        finally:
            target.close()
    finally:
        source.close()
    return ReplayPreview(plan, tuple(gone))
