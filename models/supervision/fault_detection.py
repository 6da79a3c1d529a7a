"""Faults derived from the ledger, in the transaction of the events that show them.

``derive(tx, events)`` reads a run of ledger events (and the projection rows they name) and
writes the faults they show, once per kind and subject:

- a case overdue (its clock turned red, or it finished past its deadline);
- a case over its legal limit (法定时限, 行政许可法 art. 42: its legal-limit clock turned red, or it
  was completed past the legal deadline), once per case;
- a step over its own limit (counts even when the case as a whole is on time);
- a supervision order unanswered (``order.escalated``);
- a missing step (a case completed without one of its item's steps);
- a late or back-dated report (recorded more than ``late_report_hours`` after it claims to have
  happened; not for history brought in by ``esv import``);
- a refusal without a stated reason (rejected, pre-review failed or denied with no reason);
- a case not handled through the system (first recorded only once it was already finished);
- a tender breach (a tender's statutory deadline run out, or a statutory floor ended before its
  earliest lawful end: the article is the evidence).

It runs as a transaction listener, so every flush that writes such events writes their faults
too; ``derive_all`` runs the same function over the whole ledger (imported history) and gives
the same faults. Each fault cites its ledger events.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import SQLModel

from esupervision.db import among, select_among
from esupervision.models.supervision.accountability import FAULT_LABELS, Fault, FaultDraft, FaultKind, add_derived_faults
from esupervision.models.cases.case import Case, Step
from esupervision.models.catalogue.catalogue import ItemStep
from esupervision.models.clocks.clock import Clock
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.ledger.transaction import Transaction, add_event_listener

# Tender periods the law sets as a maximum (deadlines): running past them is a breach. The
# floors (sale, bidding, publicity …) are breached by ending early (``floor_breach`` on their
# stage row); the evaluation has no statutory length (条例 48), so its committed time is no law.
TENDER_MAXIMUM_KINDS = frozenset({"publish_candidates", "contract", "report", "bond_return",
                                  "objection", "complaint_accept", "complaint_decide"})
FINISHING = frozenset({"case.complete", "case.reject", "case.prereview_fail"})
REFUSALS = frozenset({"case.reject", "case.prereview_fail"})
OWN_KINDS = ("fault.", "accountability.", "appeal.")


# Only the columns the drafts read: a batch names thousands of cases, steps and clocks.
_CASE_COLUMNS = ("id", "number", "center_id", "department_id", "window_id", "staff_id", "item_id",
                 "clock_id", "legal_clock_id", "result", "reason")
_STEP_COLUMNS = ("id", "case_id", "department_id", "seq", "name", "limit_days", "staff_id", "clock_id")
_CLOCK_COLUMNS = ("id", "due_at", "outcome", "outcome_days", "limit_days", "extended_days")


class _Facts:
    """The projection rows a run of events names, read in a few queries (one parameter each:
    ``among`` sends the ids as one array on PostgreSQL)."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.cases: dict[uuid.UUID, Any] = {}
        self.steps: dict[uuid.UUID, Any] = {}
        self.clocks: dict[uuid.UUID, Any] = {}

    def _read(self, table: Any, names: tuple[str, ...], column: Any, values: list[Any],
              into: dict[uuid.UUID, Any]) -> None:
        session = self.tx.session
        columns = [table.c[n] for n in names]
        for start in range(0, len(values), 5000):
            for row in select_among(session, columns, column, values[start:start + 5000]):
                into[row[0]] = dict(zip(names, row))

    def load_cases(self, ids: set[uuid.UUID]) -> None:
        table = Case.__table__  # type: ignore[attr-defined]
        self._read(table, _CASE_COLUMNS, table.c.id, list(ids - set(self.cases)), self.cases)

    def load_steps(self, *, ids: set[uuid.UUID] = frozenset(), case_ids: set[uuid.UUID] = frozenset()) -> None:
        table = Step.__table__  # type: ignore[attr-defined]
        for column, values in ((table.c.id, list(ids - set(self.steps))), (table.c.case_id, list(case_ids))):
            self._read(table, _STEP_COLUMNS, column, values, self.steps)
        self.load_cases({s["case_id"] for s in self.steps.values()})

    def load_clocks(self, ids: set[uuid.UUID]) -> None:
        table = Clock.__table__  # type: ignore[attr-defined]
        missing = [i for i in ids - set(self.clocks) if i is not None]
        self._read(table, _CLOCK_COLUMNS, table.c.id, missing, self.clocks)

    def case_draft(self, kind: FaultKind, case_id: uuid.UUID, event: Any, description: str, *,
                   subject_type: str = "case", subject_id: uuid.UUID | None = None, at: Any = None,
                   event_ids: Sequence[int] = (), evidence: dict[str, Any] | None = None) -> FaultDraft | None:
        case = self.cases.get(case_id)
        if case is None:
            return None
        return FaultDraft(kind=kind, subject_type=subject_type, subject_id=subject_id or case_id,
                          center_id=case["center_id"], occurred_at=at or event.occurred_at,
                          description=f"办件 {case['number']}：{description}",
                          event_ids=sorted({event.id, *event_ids}), department_id=case["department_id"],
                          window_id=case["window_id"], staff_id=case["staff_id"], case_id=case_id,
                          item_id=case["item_id"], evidence={"number": case["number"], **(evidence or {})})

    def legal_draft(self, case_id: uuid.UUID, event: Any, what: str,
                    evidence: dict[str, Any]) -> FaultDraft | None:
        """A case past its legal limit (行政许可法 art. 42; art. 45's procedures not counted)."""
        case = self.cases.get(case_id)
        clock = self.clocks.get(case["legal_clock_id"]) if case else None
        if clock is not None:
            evidence = {**evidence, "legal_days": clock["limit_days"] + clock["extended_days"],
                        "legal_due_at": clock["due_at"].isoformat() if clock["due_at"] else None}
        return self.case_draft(FaultKind.LEGAL_LIMIT_EXCEEDED, case_id, event, what, evidence=evidence)

    def step_draft(self, step_id: uuid.UUID, event: Any) -> FaultDraft | None:
        step = self.steps.get(step_id)
        case = self.cases.get(step["case_id"]) if step else None
        if step is None or case is None:
            return None
        clock = self.clocks.get(step["clock_id"])
        own = step["department_id"] == case["department_id"]
        evidence = {"number": case["number"], "step": step["name"], "limit_days": step["limit_days"]}
        if clock is not None:
            evidence["due_at"] = clock["due_at"].isoformat() if clock["due_at"] else None
            if clock["outcome_days"] is not None and clock["outcome"] == "overdue":
                evidence["days_late"] = clock["outcome_days"]
        return FaultDraft(kind=FaultKind.STEP_OVERDUE, subject_type="step", subject_id=step_id,
                          center_id=case["center_id"], occurred_at=event.occurred_at,
                          description=f"办件 {case['number']} 的环节「{step['name']}」超过本环节时限 "
                                      f"{step['limit_days']} 个工作日",
                          event_ids=[event.id], department_id=step["department_id"],
                          window_id=case["window_id"] if own else None,
                          staff_id=step["staff_id"] or (case["staff_id"] if own else None), case_id=case["id"],
                          item_id=case["item_id"], evidence=evidence)


def derive(tx: Transaction, events: Sequence[Any]) -> list[Any]:
    """Write the faults ``events`` show (each once per kind and subject); returns the new ones."""
    drafts = detect(tx, events)
    return add_derived_faults(tx, drafts) if drafts else []


def detect(tx: Transaction, events: Sequence[Any]) -> list[FaultDraft]:
    """The faults ``events`` show, as drafts (nothing written)."""
    late_after = timedelta(hours=tx.settings.late_report_hours)
    case_ids: set[uuid.UUID] = set()
    step_ids: set[uuid.UUID] = set()
    finished: list[Any] = []
    advanced: list[tuple[Any, uuid.UUID]] = []
    late: list[Any] = []
    red_cases: list[Any] = []
    red_legal: list[Any] = []
    red_steps: list[Any] = []
    tender_clock_events: list[tuple[Any, uuid.UUID]] = []
    orders: list[Any] = []
    for event in events:
        kind = event.kind
        if kind.startswith("case."):
            if not imported(event) and event.recorded_at - event.occurred_at > late_after:
                late.append(event)
            if kind in FINISHING:
                finished.append(event)
                case_ids.add(event.subject_id)
            elif kind == "case.advance" and event.data.get("step_outcome") == "overdue":
                step_id = _finished_step(event)
                if step_id is not None:
                    advanced.append((event, step_id))
                    step_ids.add(step_id)
        elif kind == "light.red":
            if event.subject_type == "case":
                red_cases.append(event)
                case_ids.add(event.subject_id)
            elif event.subject_type == "legal_limit":   # the subject is the case
                red_legal.append(event)
                case_ids.add(event.subject_id)
            elif event.subject_type == "step":
                red_steps.append(event)
                step_ids.add(event.subject_id)
            elif event.subject_type == "tender_stage":
                tender_clock_events.append((event, uuid.UUID(event.data["clock_id"])))
        elif kind == "order.escalated" and event.subject_type == "order":
            orders.append(event)
        elif kind.startswith("tender.") and kind != "tender.red_flag":
            for change in event.changes:
                values = change.get("set", change.get("values", {}))
                if change.get("table") == "clock" and values.get("outcome") == "overdue":
                    tender_clock_events.append((event, uuid.UUID(change["id"])))
                elif change.get("table") == "tender_stage" and values.get("outcome") == "floor_breach":
                    tender_clock_events.append((event, uuid.UUID(change["id"])))
    late = _unrecorded_late(tx, late)
    case_ids.update(e.subject_id for e in late)
    if not (late or finished or advanced or red_cases or red_legal or red_steps or tender_clock_events or orders):
        return []
    facts = _Facts(tx)
    facts.load_cases(case_ids)
    finished_cases = {e.subject_id for e in finished if e.kind == "case.complete"}
    facts.load_steps(ids=step_ids, case_ids=finished_cases)
    # Clocks are read only where a draft looks at them: completed cases' own and legal-limit
    # clocks, the legal-limit clocks turned red, and steps'.
    facts.load_clocks({facts.cases[i][name] for i in finished_cases if i in facts.cases
                       for name in ("clock_id", "legal_clock_id")}
                      | {facts.cases[e.subject_id]["legal_clock_id"] for e in red_legal if e.subject_id in facts.cases}
                      | {s["clock_id"] for s in facts.steps.values()})
    drafts: list[FaultDraft | None] = []
    for event in red_cases:
        drafts.append(facts.case_draft(FaultKind.CASE_OVERDUE, event.subject_id, event,
                                       "超过承诺时限未办结（亮红灯）", evidence={"light": "red"}))
    for event in red_legal:
        drafts.append(facts.legal_draft(event.subject_id, event, "超过法定时限未办结（法定时限亮红灯）",
                                        {"light": "red"}))
    for event in red_steps:
        drafts.append(facts.step_draft(event.subject_id, event))
    for event, step_id in advanced:
        drafts.append(facts.step_draft(step_id, event))
    for event in late:
        hours = round((event.recorded_at - event.occurred_at).total_seconds() / 3600, 1)
        drafts.append(facts.case_draft(
            FaultKind.LATE_REPORT, event.subject_id, event,
            f"「{event.kind}」事件发生后 {hours} 小时才报送（超过 {tx.settings.late_report_hours:g} 小时）",
            at=event.recorded_at, evidence={"occurred_at": event.occurred_at.isoformat(),
                                           "recorded_at": event.recorded_at.isoformat(), "hours": hours}))
    drafts += _finishing(tx, facts, finished)
    drafts += _orders(tx, orders)
    drafts += _tender(tx, tender_clock_events)
    return [d for d in drafts if d is not None]


def _unrecorded_late(tx: Transaction, late: list[Any]) -> list[Any]:
    """The first late event of each case whose late report is not on record yet: a department
    that reports late usually does so for every event of a case, and a fault is written once per
    case (``add_derived_faults`` would drop the others; they need no facts read or drafts made)."""
    if not late:
        return late
    prefix = f"{FaultKind.LATE_REPORT.value}:"
    first: dict[str, Any] = {}
    for event in late:
        first.setdefault(f"{prefix}{event.subject_id}", event)
    keys = list(first)
    session, key_column = tx.session, Fault.__table__.c.key  # type: ignore[attr-defined]
    for start in range(0, len(keys), 5000):
        for (key,) in select_among(session, [key_column], key_column, keys[start:start + 5000]):
            first.pop(key, None)
    return list(first.values())


def imported(event: Any) -> bool:
    """An event brought in by ``esv import`` (history moved from an older system) was never a
    report: its lateness and after-the-fact entry are the migration's, not a department's."""
    return (event.source or "").startswith("import:")


def _finished_step(event: Any) -> uuid.UUID | None:
    for change in event.changes:
        if change.get("table") == "step" and change.get("set", {}).get("status") == "done":
            return uuid.UUID(change["id"])
    return None


def _finishing(tx: Transaction, facts: _Facts, events: list[Any]) -> list[FaultDraft | None]:
    """Faults shown by a case's end: refused without reason, overdue, steps over their limits,
    steps missing, and the whole case entered only after it was finished."""
    drafts: list[FaultDraft | None] = []
    if not events:
        return drafts
    ids = [e.subject_id for e in events]
    first_recorded: dict[uuid.UUID, tuple[Any, int]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        first = select(LedgerEvent.subject_id, func.min(LedgerEvent.id).label("first_id")).where(
            among(tx.session, LedgerEvent.subject_id, chunk), LedgerEvent.kind.like("case.%")).group_by(
            LedgerEvent.subject_id).subquery()
        for subject_id, recorded_at, event_id in tx.session.execute(
                select(LedgerEvent.subject_id, LedgerEvent.recorded_at, LedgerEvent.id).join(
                    first, LedgerEvent.id == first.c.first_id)):
            first_recorded[subject_id] = (recorded_at, event_id)
    steps_of: dict[uuid.UUID, list[Any]] = {}
    for step in facts.steps.values():
        steps_of.setdefault(step["case_id"], []).append(step)
    for event in events:
        case = facts.cases.get(event.subject_id)
        if case is None:
            continue
        denied = event.kind == "case.complete" and case["result"] == "denied"
        if (event.kind in REFUSALS or denied) and not (case["reason"] or "").strip():
            what = "不予许可" if denied else ("预审不通过" if event.kind == "case.prereview_fail" else "退件（不予受理）")
            drafts.append(facts.case_draft(FaultKind.REFUSAL_WITHOUT_REASON, case["id"], event,
                                           f"{what}未说明理由", evidence={"action": event.kind}))
        recorded = first_recorded.get(case["id"])
        if (recorded is not None and recorded[0] >= event.occurred_at and event.kind != "case.prereview_fail"
                and not imported(event)):
            drafts.append(facts.case_draft(
                FaultKind.NOT_THROUGH_SYSTEM, case["id"], event,
                "办件在办结后才录入系统，未经系统实时办理", at=recorded[0], event_ids=[recorded[1]],
                evidence={"first_recorded_at": recorded[0].isoformat(), "finished_at": event.occurred_at.isoformat()}))
        if event.kind != "case.complete":
            continue
        clock = facts.clocks.get(case["clock_id"])
        if clock is not None and clock["outcome"] == "overdue":
            drafts.append(facts.case_draft(FaultKind.CASE_OVERDUE, case["id"], event,
                                           f"超期 {clock['outcome_days']} 个工作日办结",
                                           evidence={"days_late": clock["outcome_days"]}))
        # Past the legal limit: the fault its red announcement gave, or (reported late, say) this one.
        legal = facts.clocks.get(case["legal_clock_id"])
        if legal is not None and legal["outcome"] == "overdue":
            drafts.append(facts.legal_draft(case["id"], event,
                                            f"超过法定时限 {legal['outcome_days']} 个工作日办结",
                                            {"days_late": legal["outcome_days"]}))
        steps = steps_of.get(case["id"], [])
        for step in steps:
            step_clock = facts.clocks.get(step["clock_id"])
            if step_clock is not None and step_clock["outcome"] == "overdue":
                drafts.append(facts.step_draft(step["id"], event))
        missing = _missing_steps(tx, case, steps)
        if missing:
            drafts.append(facts.case_draft(FaultKind.MISSING_STEP, case["id"], event,
                                           "办结时缺少环节：" + "、".join(missing), evidence={"missing": missing}))
    return drafts


def _missing_steps(tx: Transaction, case: Any, steps: list[Any]) -> list[str]:
    key = ("fault_item_steps", case["item_id"])
    if key not in tx.cache:
        tx.cache[key] = [(s.seq, s.department_id, s.name) for s in tx.session.scalars(
            select(ItemStep).where(ItemStep.item_id == case["item_id"]).order_by(ItemStep.seq))]
    done = {(s["seq"], s["department_id"]) for s in steps}
    return [name for seq, department_id, name in tx.cache[key]
            if (seq, department_id or case["department_id"]) not in done]


def _orders(tx: Transaction, events: list[Any]) -> list[FaultDraft | None]:
    """An order escalated for want of a reply: a fault of its addressee."""
    table = SQLModel.metadata.tables.get("supervision_order")
    if not events or table is None:
        return []
    rows = {r["id"]: r for r in tx.session.execute(select(table).where(
        table.c.id.in_([e.subject_id for e in events]))).mappings()}
    drafts: list[FaultDraft | None] = []
    for event in sorted(events, key=lambda e: e.id):
        order = rows.get(event.subject_id)
        if order is None:
            continue
        drafts.append(FaultDraft(
            kind=FaultKind.ORDER_UNANSWERED, subject_type="order", subject_id=order["id"],
            center_id=order["center_id"], occurred_at=event.occurred_at,
            description=f"督办单 {order.get('number')} 逾期未反馈（{order.get('target_label') or ''}）",
            event_ids=[event.id], department_id=order.get("department_id"), window_id=order.get("window_id"),
            staff_id=order.get("staff_id"), case_id=order.get("case_id"), item_id=order.get("item_id"),
            evidence={"order": order.get("number"), "level": event.data.get("level")}))
    return drafts


def _tender(tx: Transaction, found: list[tuple[Any, uuid.UUID]]) -> list[FaultDraft | None]:
    """A tender's statutory deadline run out, or a floor ended before its earliest lawful end
    (``found`` names a stage's clock or, for a floor, the stage): a fault citing its article."""
    if not found:
        return []
    from sqlalchemy import or_

    from esupervision.models.tenders.tender import Tender, TenderStageRow
    from esupervision.models.tenders.rules import rule as tender_rule

    ids = list({found_id for _, found_id in found})
    stages: dict[uuid.UUID, tuple[Any, Any]] = {}
    for row, tender in tx.session.execute(
            select(TenderStageRow, Tender).join(Tender, Tender.id == TenderStageRow.tender_id)
            .where(or_(TenderStageRow.clock_id.in_(ids), TenderStageRow.id.in_(ids)))):  # type: ignore[union-attr]
        stages[row.id] = (row, tender)
        if row.clock_id is not None:
            stages[row.clock_id] = (row, tender)
    drafts: list[FaultDraft | None] = []
    for event, found_id in found:
        pair = stages.get(found_id)
        if pair is None:
            continue
        stage, tender = pair
        rule = tender_rule(stage.rule)
        evidence = {"tender": tender.code, "stage": stage.name, "rule": rule.code, "article": rule.article,
                    "text": rule.text, "days": rule.days}
        if stage.outcome == "floor_breach":
            description = f"招标项目 {tender.code}「{stage.name}」未满法定最短期限即结束（{rule.article}）"
            evidence.update(kind="floor", earliest_end=stage.earliest_end.isoformat() if stage.earliest_end else None,
                            ended_at=stage.finished_at.isoformat() if stage.finished_at else event.occurred_at.isoformat())
        elif stage.kind in TENDER_MAXIMUM_KINDS and found_id == stage.clock_id:
            description = f"招标项目 {tender.code}「{stage.name}」超过法定期限（{rule.article}）"
            evidence.update(kind="deadline")
        else:
            continue
        drafts.append(FaultDraft(
            kind=FaultKind.TENDER_BREACH, subject_type="tender_stage", subject_id=stage.id,
            center_id=tender.center_id, occurred_at=event.occurred_at, description=description,
            event_ids=[event.id], department_id=tender.authority_department_id, evidence=evidence))
    return drafts


def derive_all(tx: Transaction, *, chunk: int = 5000) -> int:
    """Run the derivation over the whole ledger in order (imported history); faults already on
    record are kept, so running it twice, or after live derivation, adds nothing. Returns how
    many faults it wrote."""
    written = 0
    last_id = 0
    while True:
        tx.session.flush()
        batch = list(tx.session.scalars(select(LedgerEvent).where(LedgerEvent.id > last_id)
                                        .order_by(LedgerEvent.id).limit(chunk)))
        if not batch:
            break
        last_id = batch[-1].id or last_id
        written += len(derive(tx, [e for e in batch if not e.kind.startswith(OWN_KINDS)]))
        tx.flush()
    return written


def _listener(tx: Transaction, events: list[Any]) -> None:
    """Derive the faults a flush's events show, in their transaction."""
    relevant = [e for e in events if not e.kind.startswith(OWN_KINDS)]
    if relevant and derive(tx, relevant):
        tx.flush()   # the faults' own ledger events, in this same transaction


def install() -> None:
    """Derive faults from every transaction's ledger events (idempotent)."""
    add_event_listener(_listener)


install()
