"""The imperative shell: documents -> evaluate -> lookup (batched) -> plan -> apply (batched).

The planner is pure; everything that talks to a system happens here and in the adapters. One
batch of documents costs one round of lookups and, per spec record, one ``apply`` call (which
the target splits into its own largest batches). Parents are written before children so a
child's ``ref`` can be resolved to the id the parent's write returned.

Outcomes are values: when the target stops early (its API budget or daily limit is used up), the
report holds what was done, the records not sent, and the :class:`~fieldline.contracts.Stop`;
exceptions mean failures (transport, configuration, a bug).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from itertools import islice
from typing import Any

import pluggy

from fieldline.contracts import (
    ApplyResult,
    ObjectDescription,
    SourceAdapter,
    SourceDocument,
    Stop,
    TargetAdapter,
    Write,
    WriteBackResult,
    WriteBackStatus,
    WriteError,
    WriteErrorStage,
    WriteOperation,
    WriteResult,
)
from fieldline.errors import BudgetExhaustedError, FieldlineError, TransientAdapterError
from fieldline.planning.evaluation import evaluate
from fieldline.planning.overlay import PlannedWrites
from fieldline.planning.planner import lookup_requests, plan, resolve_refs
from fieldline.planning.plans import Action, Plan, RecordPlan
from fieldline.planning.write_back import WriteBackChange, plan_write_backs, resolve_write_backs
from fieldline.plugins.manager import get_plugin_manager, normalizer_registry
from fieldline.spec.model import RecordSpec, Spec
from fieldline.sync.report import OutcomeStage, RecordOutcome, RunReport, RunSummary
from fieldline.sync.write_window import WriteWindow
from fieldline.values import is_blank

__all__ = ["OutcomeStage", "RecordOutcome", "RunReport", "RunSummary", "Runner"]

DEFAULT_BATCH_SIZE = 500


class Runner:
    """Runs one spec against one target, batch by batch.

    ``source``: where a spec's ``write_back`` values go once the target writes succeed; without
    one, nothing is written back (``plan`` still shows what would be).
    """

    def __init__(
        self,
        spec: Spec,
        target: TargetAdapter,
        *,
        source: SourceAdapter | None = None,
        plugin_manager: pluggy.PluginManager | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        descriptions: Mapping[str, ObjectDescription] | None = None,
        write_window: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.spec = spec
        self.target = target
        self.source = source
        self.batch_size = batch_size
        self._write_window = write_window  # None: the target's
        manager = plugin_manager or get_plugin_manager()
        self.normalizers = normalizer_registry(manager)
        self._descriptions: dict[str, ObjectDescription] | None = (
            dict(descriptions) if descriptions is not None else None
        )

    @property
    def descriptions(self) -> dict[str, ObjectDescription]:
        """The target's description of every object the spec writes (fetched once)."""
        if self._descriptions is None:
            objects = dict.fromkeys(record.object for record in self.spec.records)
            self._descriptions = {name: self.target.describe(name) for name in objects}
        return self._descriptions

    # --- dry run --------------------------------------------------------------------------

    def dry_run(self, documents: Iterable[SourceDocument]) -> Plan:
        """What :meth:`sync` would do, without writing: one plan for all documents (for tests
        and small inputs; ``fieldline plan`` streams :meth:`dry_run_batches`)."""
        records: list[RecordPlan] = []
        write_backs: list[WriteBackChange] = []
        for batch_plan in self.dry_run_batches(documents):
            records.extend(batch_plan.records)
            write_backs.extend(batch_plan.write_backs)
        return Plan(tuple(records), tuple(write_backs))

    def dry_run_batches(self, documents: Iterable[SourceDocument]) -> Iterator[Plan]:
        """:meth:`dry_run` one batch at a time, each plan yielded as soon as it is made.

        Each batch is planned against the target as the earlier batches' writes would leave it
        (:class:`~fieldline.planning.overlay.PlannedWrites`), as :meth:`sync` sees it.
        """
        self.target.begin_run()
        planned = PlannedWrites(self.descriptions)
        for batch in _batches(documents, self.batch_size):
            batch_plan = self.plan_batch(batch, planned=planned)
            planned.add(batch_plan)
            yield batch_plan

    def plan_batch(
        self, documents: Sequence[SourceDocument], *, planned: PlannedWrites | None = None
    ) -> Plan:
        """Evaluate, look up every match key of the batch at once, and plan.

        ``planned``: writes of earlier batches of a dry run, laid over the lookup.
        """
        return self._plan_batch(documents, planned=planned)[0]

    def _plan_batch(
        self, documents: Sequence[SourceDocument], *, planned: PlannedWrites | None = None
    ) -> tuple[Plan, bool]:
        """:meth:`plan_batch`, and whether ``planned`` changed what the lookup found."""
        intents = evaluate(self.spec, documents, normalizers=self.normalizers)
        requests = lookup_requests(self.spec, intents, normalizers=self.normalizers)
        existing = self.target.lookup(requests) if requests else {}
        touched = False
        if planned:
            touched = planned.touches(requests, existing)
            if touched:
                existing = planned.over(requests, existing)
        batch_plan = self._checked(plan(self.spec, intents, existing, descriptions=self.descriptions))
        if not any(record.write_back for record in self.spec.records):
            return batch_plan, touched
        write_backs = plan_write_backs(self.spec, documents, batch_plan.records)
        return replace(batch_plan, write_backs=write_backs), touched

    def _checked(self, batch_plan: Plan) -> Plan:
        """The plan with every create and update the target's pre-write checks refuse marked
        ``invalid`` (each problem a reason), and the children of those too: ``plan`` shows what
        ``sync`` will refuse, and ``sync`` sends none of them."""
        check = getattr(self.target, "check", None)
        candidates = [
            record for record in batch_plan.records if record.action in (Action.CREATE, Action.UPDATE)
        ]
        if check is None or not candidates:
            return batch_plan
        specs = {record.name: record for record in self.spec.records}
        # Parents are not written yet: a placeholder id stands for each (ids are checked by the
        # target itself when written).
        placeholders = {
            (ref.record, ref.key): _PLACEHOLDER_ID for record in candidates for ref in record.refs
        }
        writes = [
            self._write_for(specs[record.record], record, resolve_refs(record, placeholders))
            for record in candidates
            if record.record in specs
        ]
        problems: dict[tuple[str, str], tuple[str, ...]] = {}
        for record, errors in zip(candidates, check(writes), strict=True):
            if errors:
                problems[(record.record, record.key)] = tuple(_problem_text(error) for error in errors)
        if not problems:
            return batch_plan
        checked: dict[tuple[str, str], RecordPlan] = {}
        for record_spec in self.spec.records:  # parents before children: an invalid parent's children
            for record in batch_plan.records:
                if record.record != record_spec.name:
                    continue
                slot = (record.record, record.key)
                reasons = problems.get(slot, ())
                broken = [
                    ref
                    for ref in record.refs
                    if checked.get((ref.record, ref.key), record).action is Action.INVALID
                ]
                if broken and not reasons:
                    reasons = (f"parent {broken[0].record} {broken[0].key} is invalid",)
                checked[slot] = (
                    replace(record, action=Action.INVALID, reasons=(*record.reasons, *reasons))
                    if reasons
                    else record
                )
        return replace(
            batch_plan, records=tuple(checked.get((r.record, r.key), r) for r in batch_plan.records)
        )

    # --- sync -----------------------------------------------------------------------------

    def sync(
        self,
        documents: Iterable[SourceDocument],
        *,
        on_batch: Callable[[RunReport], None] | None = None,
        on_planned: Callable[[], None] | None = None,
        keep_outcomes: bool = True,
    ) -> RunReport:
        """Plan and apply every document, batch by batch, until the end or a stop.

        Record-level failures are reported in the outcomes. When the target stops (API budget,
        daily limit) the report says so in ``stopped`` and no further document is read; so it
        does when reading the source stops on its own limit (a ``BudgetExhaustedError`` while
        iterating ``documents``, e.g. PassFort's chargeable limit), after syncing what was read.
        Transport failures raise the adapter's :class:`~fieldline.errors.AdapterError` (records
        of earlier batches are written; re-running is safe because planning is idempotent).

        When the target has a write window (:meth:`TargetAdapter.write_window`) and the spec
        writes nothing back, the creates and updates of several batches are gathered and
        applied together (:class:`~fieldline.sync.write_window.WriteWindow`); each batch's other
        records are reported as it is planned.

        ``keep_outcomes=False`` streams: outcomes go to ``on_batch`` (a run store) as they are
        settled and the report keeps only a bounded :class:`RunSummary`, so memory stays flat.
        ``on_planned`` is called after each batch is planned (for progress).
        """
        self.target.begin_run()
        report = RunReport() if keep_outcomes else RunReport.streaming()
        limit = self.write_window
        window = WriteWindow(limit, self.descriptions) if limit > 0 else None

        def settled(batch_report: RunReport) -> bool:
            """Record ``batch_report``; whether the run goes on."""
            report.extend(batch_report)
            if on_batch is not None:
                on_batch(batch_report)
            return batch_report.stopped is None

        iterator = iter(documents)
        try:
            while True:
                batch, read_stop = _read_batch(iterator, self.batch_size)
                if batch:
                    going = (
                        settled(self.sync_batch(batch))
                        if window is None
                        else self._into_window(batch, window, settled)
                    )
                    if on_planned is not None:
                        on_planned()
                    if not going:
                        break
                if read_stop is not None or len(batch) < self.batch_size:
                    if window is not None and len(window) and not settled(self._flush(window)):
                        break
                    if read_stop is not None:  # the source's own limit: what was read is synced
                        report.stopped = read_stop
                    break
        except FieldlineError as exc:
            # Reading or planning a later batch failed: the writes already planned are still
            # sent, as batch by batch they would have been, before the failure is raised.
            if window is not None and len(window):
                waiting = len(window)
                try:
                    settled(self._flush(window))
                except FieldlineError as also:
                    exc.add_note(f"the {waiting} writes planned before it were not sent either: {also}")
            raise
        return report

    @property
    def write_window(self) -> int:
        """How many writes :meth:`sync` gathers before applying them (0: none, each batch is
        applied as planned). A spec that writes values back applies batch by batch, so those
        values go back as soon as their records are written."""
        if self._write_window is not None:
            return self._write_window
        if self.source is not None and any(record.write_back for record in self.spec.records):
            return 0
        return max(0, int(self.target.write_window()))

    def _into_window(
        self,
        batch: Sequence[SourceDocument],
        window: WriteWindow,
        settled: Callable[[RunReport], bool],
    ) -> bool:
        """Plan ``batch`` against the target and the window's pending writes; add it to the
        window, or write the window first when the batch depends on it. Whether the run goes on."""
        try:
            batch_plan, touched = self._plan_batch(batch, planned=window.planned)
        except BudgetExhaustedError as exc:
            if len(window) and not settled(self._flush(window)):
                return False
            return settled(RunReport(stopped=exc.as_stop()))
        if touched or window.conflicts(batch_plan):
            # it matched or repeats a pending write: write them, then plan it as the target now is
            if len(window) and not settled(self._flush(window)):
                return False
            return settled(self.sync_batch(batch))
        keys = _document_keys(batch_plan)
        now = window.add(batch_plan)
        outcomes = [_unwritten_outcome(record, keys[(record.record, record.key)]) for record in now]
        if outcomes and not settled(RunReport(outcomes=outcomes)):
            return False
        return not window.full or settled(self._flush(window))

    def _flush(self, window: WriteWindow) -> RunReport:
        pending, ids, failed = window.take()
        return self.apply(pending, parent_ids=ids, parents_failed=failed)

    def sync_batch(self, documents: Sequence[SourceDocument]) -> RunReport:
        """Plan and apply one batch. A budget used up by its lookups stops it before any write."""
        try:
            batch_plan = self.plan_batch(documents)
        except BudgetExhaustedError as exc:
            return RunReport(stopped=exc.as_stop())
        report = self.apply(batch_plan)
        if report.stopped is None and any(record.waits_for is not None for record in batch_plan.records):
            report = self._after_waiting(documents, batch_plan, report)
        if batch_plan.write_backs and self.source is not None:
            report.write_backs = self.write_back(batch_plan.write_backs, report.outcomes)
        return report

    def write_back(
        self, changes: Sequence[WriteBackChange], outcomes: Sequence[RecordOutcome]
    ) -> list[WriteBackResult]:
        """Write back the values of the records written (or found unchanged), in one call to the
        source. It never undoes a target write: a failure is a result the caller retries."""
        assert self.source is not None
        done = {(outcome.record, outcome.key): outcome for outcome in outcomes if outcome.ok}
        ids = {slot: outcome.target_id for slot, outcome in done.items() if outcome.target_id is not None}
        sends = resolve_write_backs(changes, ids, set(done))
        if not sends:
            return []
        try:
            return list(self.source.write_back(sends))
        except FieldlineError as exc:  # a source breaking its contract must not lose the target writes
            return [
                WriteBackResult(
                    key=send.key,
                    path=send.path,
                    status=WriteBackStatus.FAILED,
                    error=str(exc),
                    retriable=isinstance(exc, TransientAdapterError | BudgetExhaustedError),
                )
                for send in sends
            ]

    def _after_waiting(
        self, documents: Sequence[SourceDocument], batch_plan: Plan, first: RunReport
    ) -> RunReport:
        """Plan again, now that the creates they waited for are written, the records that waited
        (and their children, skipped with them), and apply only those.

        Records of those documents that were written, or failed, in the first pass keep their
        outcome: nothing is sent twice.
        """
        outcomes = first.outcomes
        waiting = {record.document_key for record in batch_plan.records if record.waits_for is not None}
        again = [document for document in documents if document.key in waiting]
        retry = {
            (outcome.record, outcome.key)
            for outcome in outcomes
            if outcome.document_key in waiting and outcome.ok and outcome.action is Action.SKIP
        }
        try:
            second = self.plan_batch(again)
        except BudgetExhaustedError as exc:
            stop = exc.as_stop()
            return RunReport(
                outcomes=[
                    _not_sent(outcome, stop) if (outcome.record, outcome.key) in retry else outcome
                    for outcome in outcomes
                ],
                plans=first.plans,
                stopped=stop,
            )
        # the others stay in the plan as noops: their ids still resolve the children's refs
        second = Plan(
            tuple(
                record
                if (record.record, record.key) in retry
                else replace(record, action=Action.NOOP, changes=())
                for record in second.records
            )
        )
        applied = self.apply(second)
        redone = {(outcome.record, outcome.key): outcome for outcome in applied.outcomes}
        return RunReport(
            outcomes=[
                redone.get((outcome.record, outcome.key), outcome)
                if (outcome.record, outcome.key) in retry
                else outcome
                for outcome in outcomes
            ],
            plans=first.plans,
            stopped=applied.stopped,
        )

    def apply(
        self,
        batch_plan: Plan,
        *,
        parent_ids: Mapping[tuple[str, str], str] | None = None,
        parents_failed: Iterable[tuple[str, str]] = (),
    ) -> RunReport:
        """Execute a plan: one ``apply`` call per spec record, parents first.

        ``parent_ids`` and ``parents_failed``: parents settled elsewhere (a write window's) that
        records of the plan refer to: their ids, and those that failed.

        When the target stops, the rest of the plan is not sent: the report holds the outcomes so
        far, ``STOPPED`` for the records not sent, and the stop.
        """
        document_keys = _document_keys(batch_plan)
        ids: dict[tuple[str, str], str] = {
            **(parent_ids or {}),
            **{
                (record.record, record.key): record.target_id
                for record in batch_plan.records
                if record.target_id is not None
            },
        }
        failed = set(parents_failed)
        outcomes: dict[tuple[str, str], RecordOutcome] = {}
        for record_spec in self.spec.records:
            pending: list[tuple[RecordPlan, Write]] = []
            for record_plan in batch_plan.records:
                if record_plan.record != record_spec.name:
                    continue
                slot = (record_plan.record, record_plan.key)
                document_key = document_keys[slot]
                if record_plan.action not in (Action.CREATE, Action.UPDATE):
                    outcomes[slot] = _unwritten_outcome(record_plan, document_key)
                    if record_plan.action in (Action.ERROR, Action.INVALID):
                        failed.add(slot)
                    continue
                broken = [ref for ref in record_plan.refs if (ref.record, ref.key) in failed]
                if broken:
                    failed.add(slot)
                    outcomes[slot] = _failed_outcome(
                        record_plan,
                        document_key,
                        f"parent {broken[0].record} {broken[0].key} was not written",
                        stage=OutcomeStage.PARENT,
                        retriable=any(
                            outcomes[(ref.record, ref.key)].retriable
                            for ref in broken
                            if (ref.record, ref.key) in outcomes
                        ),
                    )
                    continue
                fields = resolve_refs(record_plan, ids)
                pending.append((record_plan, self._write_for(record_spec, record_plan, fields)))
            if not pending:
                continue
            applied = self.target.apply([write for _, write in pending])
            results = self._results_by_key(applied, [write for _, write in pending])
            for record_plan, write in pending:
                slot = (record_plan.record, record_plan.key)
                result = results.get(write.key)
                if result is None:
                    continue  # not sent: the target stopped first
                outcome = _applied_outcome(record_plan, document_keys[slot], write, result)
                outcomes[slot] = outcome
                if outcome.ok and outcome.target_id is not None:
                    ids[slot] = outcome.target_id
                else:
                    failed.add(slot)
            if applied.stopped is not None:
                return RunReport(
                    outcomes=_stopped_outcomes(batch_plan, document_keys, outcomes, applied.stopped),
                    plans=[batch_plan],
                    stopped=applied.stopped,
                )
        return RunReport(
            outcomes=[outcomes[(record.record, record.key)] for record in batch_plan.records],
            plans=[batch_plan],
        )

    def _results_by_key(self, applied: ApplyResult, writes: Sequence[Write]) -> dict[str, WriteResult]:
        """The target's results by write key, after checking it kept the ``apply`` contract."""
        sent = [write.key for write in writes]
        keys = [result.key for result in applied.results]
        answered = set(keys)
        if applied.stopped is None and len(keys) != len(sent):
            problem = f"returned {len(keys)} results for {len(sent)} writes"
        elif keys != [key for key in sent if key in answered]:
            problem = "returned results that are not its writes' keys in request order"
        else:
            return {result.key: result for result in applied.results}
        raise FieldlineError(
            f"target {self.target.name!r} {problem}",
            hint="the adapter breaks the apply() contract; report it to its author",
        )

    def _write_for(self, record_spec: RecordSpec, record_plan: RecordPlan, fields: dict[str, Any]) -> Write:
        key = f"{record_plan.record}:{record_plan.key}"
        if record_plan.action is Action.UPDATE:
            return Write(
                key=key,
                object=record_plan.object,
                operation=WriteOperation.UPDATE,
                fields=fields,
                target_id=record_plan.target_id,
            )
        external_id = self._external_id_field(record_spec, fields)
        if external_id is not None:
            # Upsert by external id makes a create safe to repeat after a crash or a race.
            return Write(
                key=key,
                object=record_plan.object,
                operation=WriteOperation.UPSERT,
                fields=fields,
                external_id_field=external_id,
            )
        return Write(key=key, object=record_plan.object, operation=WriteOperation.CREATE, fields=fields)

    def _external_id_field(self, record_spec: RecordSpec, fields: Mapping[str, Any]) -> str | None:
        description = self.descriptions.get(record_spec.object)
        if description is None:
            return None
        for rule in record_spec.match:
            if rule.normalize or is_blank(fields.get(rule.field)):
                continue
            field_description = description.field(rule.field)
            if field_description is not None and field_description.external_id:
                return rule.field
        return None


_PLACEHOLDER_ID = "000000000000000AAA"  # a well-formed id for a parent not written yet


def _problem_text(error: WriteError) -> str:
    text = f"{error.code}: {error.message}"
    return f"{text} (fields: {', '.join(error.fields)})" if error.fields else text


def _batches(documents: Iterable[SourceDocument], size: int) -> Iterator[list[SourceDocument]]:
    iterator = iter(documents)
    while batch := list(islice(iterator, size)):
        yield batch


def _read_batch(iterator: Iterator[SourceDocument], size: int) -> tuple[list[SourceDocument], Stop | None]:
    """Up to ``size`` documents, and the stop when the source ran out of budget while reading."""
    batch: list[SourceDocument] = []
    try:
        for document in iterator:
            batch.append(document)
            if len(batch) == size:
                break
    except BudgetExhaustedError as exc:
        return batch, exc.as_stop()
    return batch, None


def _document_keys(batch_plan: Plan) -> dict[tuple[str, str], str]:
    # Intent keys are the document key plus "[i]" per for_each level.
    return {
        (record.record, record.key): record.document_key or record.key.split("[", 1)[0]
        for record in batch_plan.records
    }


def _stopped_outcomes(
    batch_plan: Plan,
    document_keys: Mapping[tuple[str, str], str],
    outcomes: Mapping[tuple[str, str], RecordOutcome],
    stop: Stop,
) -> list[RecordOutcome]:
    """Every record's outcome when the target stopped mid-batch: what was settled, and
    ``STOPPED`` for every planned write not sent."""
    settled: list[RecordOutcome] = []
    for record in batch_plan.records:
        slot = (record.record, record.key)
        outcome = outcomes.get(slot) or _unwritten_outcome(record, document_keys[slot])
        if slot not in outcomes and record.action in (Action.CREATE, Action.UPDATE):
            outcome = _not_sent(outcome, stop)
        settled.append(outcome)
    return settled


def _not_sent(outcome: RecordOutcome, stop: Stop) -> RecordOutcome:
    return replace(
        outcome,
        written={},
        error=f"not sent: the run stopped ({stop.message})",
        retriable=True,
        stage=OutcomeStage.STOPPED,
    )


def _outcome(
    record_plan: RecordPlan,
    document_key: str,
    *,
    action: Action | None = None,
    target_id: str | None = None,
    written: Mapping[str, Any] | None = None,
) -> RecordOutcome:
    """The outcome of ``record_plan``: as planned, but for what the write did. A failure is
    this with its error set (``replace``: slower, but failures are few)."""
    return RecordOutcome(
        record=record_plan.record,
        key=record_plan.key,
        document_key=document_key,
        object=record_plan.object,
        action=record_plan.action if action is None else action,
        target_id=record_plan.target_id if target_id is None else target_id,
        written={} if written is None else written,
        version=record_plan.version,
        plan=record_plan,
    )


def _unwritten_outcome(record_plan: RecordPlan, document_key: str) -> RecordOutcome:
    outcome = _outcome(record_plan, document_key)
    if record_plan.action is Action.INVALID:  # every problem the pre-write checks found
        error = "; ".join(record_plan.reasons) or "refused by the target's pre-write checks"
        return replace(outcome, error=error, stage=OutcomeStage.PREFLIGHT)
    if record_plan.action is not Action.ERROR:
        return outcome
    error = "; ".join(record_plan.reasons) or "could not be planned"
    return replace(outcome, error=error, stage=OutcomeStage.PLAN)


def _failed_outcome(
    record_plan: RecordPlan, document_key: str, error: str, *, stage: OutcomeStage, retriable: bool
) -> RecordOutcome:
    return replace(_outcome(record_plan, document_key), error=error, retriable=retriable, stage=stage)


def _outcome_stage(error: WriteError | None) -> OutcomeStage:
    # compared by value: a third-party target may give the stage as a plain string
    if error is not None and error.stage == WriteErrorStage.PREFLIGHT:
        return OutcomeStage.PREFLIGHT
    return OutcomeStage.TARGET


def _applied_outcome(
    record_plan: RecordPlan, document_key: str, write: Write, result: WriteResult
) -> RecordOutcome:
    if result.ok:
        action = record_plan.action
        if write.operation is WriteOperation.UPSERT and not result.created:
            action = Action.UPDATE  # someone created it since we looked; upsert updated it
        return _outcome(
            record_plan,
            document_key,
            action=action,
            target_id=result.target_id or record_plan.target_id,
            written=write.fields,  # the write's own dict (built for it, never changed): no copy
        )
    error = result.error
    message = f"{error.code}: {error.message}" if error else "the target refused the write"
    if error is not None and error.fields:
        message += f" (fields: {', '.join(error.fields)})"
    return _failed_outcome(
        record_plan,
        document_key,
        message,
        stage=_outcome_stage(error),
        retriable=error.retriable if error else False,
    )
