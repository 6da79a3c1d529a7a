"""The one way in for every change of a case: ``ingest`` (and ``handle`` for one event) checks the
transition, moves the clocks, updates the projection (cases, steps, clocks) and appends the
ledger event, in the caller's transaction. GraphQL mutations, department-system reports, the
importer, the demo and the scheduler all come through here.

A batch works on an in-memory working set: the cases it names, their open clocks and running
steps are read in a few queries, each event is applied (or refused and undone) in memory, and
everything is written at the transaction's flush in multi-row statements. That is what lets a
department system report thousands of events a second.
"""
from __future__ import annotations

import dataclasses
import gc
import operator
import re
import uuid
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import compress
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

from esupervision.db import among, insert_rows, select_among, update_rows
from esupervision.models.clocks import tally
from esupervision.models.base import UTCDateTime, local_time, utc
from esupervision.models.cases.case import (ACTION_LABELS, ALLOWED, BEFORE_ACCEPTANCE, FINAL, STATUS_LABELS, Case,
                                            CaseRecord, CaseStatus, Step, StepRecord, StepStatus, SuspendKind)
from esupervision.models.catalogue.catalogue import (ACCEPTANCE_DAYS, Center, Department, Item, ItemMaterial, ItemStep,
                                                     Staff, Window)
from esupervision.models.clocks.clock import (Basis, Clock, ClockRecord, ClockState, ClockStateError,
                                              SubjectType, WarningRule, extend_clock, finish_clock, pause_clock,
                                              resume_clock, start_clock)
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent, format_instant, row_fields
from esupervision.models.cases.report import CaseAction, ReportedEvent
from esupervision.models.ledger.transaction import Transaction

# A reporter's clock may run a little ahead of ours; beyond this an event is "in the future".
FUTURE_TOLERANCE = timedelta(minutes=5)
OPEN_CLOCK = (ClockState.RUNNING.value, ClockState.PAUSED.value)
_NONE = object()   # "not remembered yet", where None is a remembered answer


@dataclass(frozen=True)
class Outcome:
    """What became of one reported event."""

    source_event_id: str
    status: str                 # accepted / duplicate / refused
    ledger_id: int | None = None
    late: bool = False
    code: str | None = None
    message: str | None = None
    event: LedgerEvent | None = None   # the ledger event written (its id is set at flush)

    def resolved(self) -> "Outcome":
        """The outcome with its ledger id, once the transaction has flushed."""
        if self.ledger_id is None and self.event is not None:
            return Outcome(self.source_event_id, self.status, self.event.id, self.late, self.code,
                           self.message)
        return self


def row_change(row: SQLModel) -> dict[str, Any]:
    """A projection row as the ledger keeps it: table, id and every column value (the values
    as the row holds them: ``Ledger.append`` encodes them, and must be given them unchanged)."""
    return {"table": row.__tablename__, "id": str(row.id), "values": row_fields(row)}  # type: ignore[attr-defined]


def _refuse(code: ErrorCode, message: str, ev: ReportedEvent) -> DomainError:
    return DomainError(code, message, case=ev.case_number, event=ev.source_event_id)


def find_case(tx: Transaction, number: str) -> Case | None:
    return tx.session.scalars(select(Case).where(Case.number == number)).first()


# ----------------------------------------------------------------------------- catalogue cache

def _center(tx: Transaction, code: str) -> Center:
    key = ("center", code)
    if key not in tx.cache:
        tx.cache[key] = tx.session.scalars(select(Center).where(Center.code == code)).first()
    center = tx.cache[key]
    if center is None:
        raise DomainError(ErrorCode.CENTER_NOT_FOUND, f"中心 {code} 不存在", center=code)
    return center


def _item(tx: Transaction, center_id: uuid.UUID, code: str) -> Item | None:
    key = ("item", center_id, code)
    if key not in tx.cache:
        tx.cache[key] = tx.session.scalars(select(Item).where(Item.center_id == center_id,
                                                              Item.code == code)).first()
    return tx.cache[key]


def _item_by_id(tx: Transaction, item_id: uuid.UUID) -> Item:
    key = ("item_id", item_id)
    if key not in tx.cache:
        tx.cache[key] = tx.session.get(Item, item_id)
    return tx.cache[key]


def _item_steps(tx: Transaction, item: Item) -> list[ItemStep]:
    key = ("item_steps", item.id)
    if key not in tx.cache:
        steps = list(tx.session.scalars(select(ItemStep).where(ItemStep.item_id == item.id)
                                        .order_by(ItemStep.seq)))
        tx.cache[key] = steps or [ItemStep(item_id=item.id, seq=1, name="办理", limit_days=item.committed_days)]
    return tx.cache[key]


@dataclass(frozen=True)
class _Plan:
    """How an item's cases run, read once per transaction: deadline basis, warning rule, and
    the steps in groups of one ``seq`` (department_id, name, limit_days each)."""

    basis: Basis
    rule: WarningRule
    groups: tuple[tuple[int, tuple[tuple[uuid.UUID | None, str, int], ...]], ...]


def _plan(tx: Transaction, item: Item) -> _Plan:
    key = ("plan", item.id)
    plan = tx.cache.get(key)
    if plan is None:
        groups: dict[int, list[tuple[uuid.UUID | None, str, int]]] = {}
        for spec in _item_steps(tx, item):
            groups.setdefault(spec.seq, []).append((spec.department_id, spec.name, spec.limit_days))
        plan = tx.cache[key] = _Plan(Basis(item.basis), item.warning_rule,
                                     tuple((seq, tuple(specs)) for seq, specs in groups.items()))
    return plan


def _by_code(tx: Transaction, model: type[SQLModel], center_id: uuid.UUID, code: str) -> Any:
    key = (model.__tablename__, center_id, code)  # type: ignore[attr-defined]
    if key not in tx.cache:
        tx.cache[key] = tx.session.scalars(select(model).where(
            model.center_id == center_id, model.code == code)).first()  # type: ignore[attr-defined]
    return tx.cache[key]


# ----------------------------------------------------------------------------- working set

class CaseSet:
    """Cases of one batch with their open clocks and running steps, detached from the session.

    Touched rows are kept in ``dirty`` and written by ``write``: rows new to the database in one
    COPY per table, the others as the columns that changed (one UPDATE per set of columns).
    """

    def __init__(self, tx: Transaction) -> None:
        # No strong reference back to the transaction (whose cache holds this set): without the
        # cycle, the whole working set is freed by reference counting when the transaction ends.
        self.owner = weakref.ref(tx)
        self.session = tx.session
        self.cases: dict[str, Case | None] = {}
        self.clocks: dict[uuid.UUID, Clock] = {}
        self.running: dict[uuid.UUID, list[Step]] = {}
        # Keyed by id(row): the set holds one object per row, and an int hashes faster than a UUID.
        self.dirty: dict[int, Any] = {}
        # The columns each dirty row changed since it was read or written, and the ids of the
        # rows the database already holds (the others are inserted whole).
        self.changed: dict[int, set[str]] = {}
        self.stored: set[uuid.UUID] = set()
        self.instants = _Instants()
        self.late_after = timedelta(hours=tx.settings.late_report_hours)
        # Each loaded clock's light-tally contribution as stored, to write the tally's deltas.
        self.counted: dict[uuid.UUID, Any] = {}
        self._contributions: dict[tuple[Any, ...], Any] = {}
        tx.on_flush(self.write)

    def load(self, numbers: set[str]) -> None:
        """Read (and lock, on PostgreSQL) the cases named that are not loaded yet."""
        missing = [n for n in numbers if n not in self.cases]
        if not missing:
            return
        session = self.session
        session.flush()
        found: list[Any] = []
        for start in range(0, len(missing), 1000):
            found += _read(session, CaseRecord, Case.__table__.c.number, missing[start:start + 1000],  # type: ignore[attr-defined]
                           lock=True)
        for number in missing:
            self.cases[number] = None
        for case in found:
            self.cases[case.number] = case
            self.running[case.id] = []
            self.stored.add(case.id)
        if not found:
            return
        steps = _read(session, StepRecord, Step.__table__.c.case_id, [c.id for c in found],  # type: ignore[attr-defined]
                      status=(StepStatus.RUNNING.value,), order_by="seq")
        for step in steps:
            self.running[step.case_id].append(step)
            self.stored.add(step.id)
        clock_ids = [i for c in found for i in (c.clock_id, c.acceptance_clock_id, c.legal_clock_id) if i]
        clock_ids += [s.clock_id for s in steps if s.clock_id]
        for clock in _read(session, ClockRecord, Clock.__table__.c.id, clock_ids, state=OPEN_CLOCK):  # type: ignore[attr-defined]
            self.clocks[clock.id] = clock
            self.counted[clock.id] = self.contribution(clock)
            self.stored.add(clock.id)

    def contribution(self, clock: Any) -> Any:
        """``tally.contribution``, computed once per distinct (state, subject type, department,
        yellow, red): the clocks of a batch share a few deadlines."""
        key = (clock.state, clock.subject_type, clock.department_id, clock.yellow_at, clock.red_at)
        found = self._contributions.get(key, _NONE)
        if found is _NONE:
            found = self._contributions[key] = tally.contribution(clock)
        return found

    def write(self) -> None:
        """Write every touched row: clocks, then cases, then steps."""
        if not self.dirty:
            return
        new: dict[str, list[Any]] = {}
        changed: dict[tuple[str, frozenset[str]], list[Any]] = {}
        for key, row in self.dirty.items():
            if row.id not in self.stored:
                new.setdefault(row.__tablename__, []).append(row)
            elif self.changed.get(key):
                changed.setdefault((row.__tablename__, frozenset(self.changed[key])), []).append(row)
        self.dirty, self.changed = {}, {}
        session = self.session
        # Pending ORM changes go first: ``expire_all`` below would drop them.
        session.flush()
        clocks = new.get("clock", []) + [r for (t, _), rows in changed.items() if t == "clock" for r in rows]
        # Contributions are shared tuples (see ``contribution``): count the clocks per (before,
        # after) pair by identity, then move the tally once per pair, not once per clock (their
        # keys hash ids and dates, in Python, on every use).
        moves: Counter = Counter()
        shapes: dict[int, Any] = {}
        counted = self.counted
        for clock in clocks:
            after = self.contribution(clock)
            before = counted.get(clock.id)
            counted[clock.id] = after
            if before is not after:
                shapes[id(before)], shapes[id(after)] = before, after
                moves[id(before), id(after)] += 1
        deltas: Counter = Counter()
        for (before_id, after_id), n in moves.items():
            before, after = shapes[before_id], shapes[after_id]
            if before != after:   # as ``tally.add_change``, n times
                for key in before or ():
                    deltas[key] -= n
                for key in after or ():
                    deltas[key] += n
        self.owner().count_lights(deltas)
        for model in (Clock, Case, Step):
            table = model.__table__  # type: ignore[attr-defined]
            rows = new.get(table.name, [])
            insert_rows(session, table, rows)
            self.stored.update(r.id for r in rows)
            for (name, columns), group in changed.items():
                if name == table.name:
                    update_rows(session, table, columns, group)
        # ORM copies of these rows (if a caller holds any) are stale now.
        session.expire_all()


def _read(session: Any, record: type, column: Any, values: list[Any], *, lock: bool = False,
          order_by: str | None = None, **also: tuple[Any, ...]) -> list[Any]:
    """Whole rows of ``column``'s table whose ``column`` is one of ``values`` (see
    ``select_among``), as ``record`` objects."""
    table = column.table
    rows = select_among(session, list(table.columns), column, values, lock=lock,
                        order_by=table.c[order_by] if order_by else None, **also)
    return list(map(_maker(record, tuple(c.key for c in table.columns)), rows))


_MAKERS: dict[tuple[type, tuple[str, ...]], Any] = {}


def _maker(record: type, keys: tuple[str, ...]) -> Any:
    """A function building a ``record`` from a row of ``keys`` (every field of the record): one
    unpacking assignment instead of the dataclass ``__init__`` by keywords, seven times faster
    on the thousands of rows a batch reads. (Generated once per record class, as dataclasses
    generate their ``__init__``.)"""
    made = _MAKERS.get((record, keys))
    if made is None:
        if set(keys) != {f.name for f in dataclasses.fields(record)}:
            raise ValueError(f"{record.__name__}: a row must give every field")
        names: dict[str, Any] = {"new": object.__new__, "record": record}
        exec(f"def make(row):\n    r = new(record)\n    {', '.join('r.' + k for k in keys)}, = row\n"
             f"    return r\n", names)
        made = _MAKERS[(record, keys)] = names["make"]
    return made


class _Columns:
    """The columns of a projection table, read off a row in one call (``operator.attrgetter``)."""

    def __init__(self, table: Any) -> None:
        self.keys: tuple[str, ...] = tuple(c.key for c in table.columns)
        self.indexes = range(len(self.keys))
        self.values = operator.attrgetter(*self.keys)
        self.instants = tuple(i for i, c in enumerate(table.columns) if isinstance(c.type, UTCDateTime))


_COLUMNS = {model.__tablename__: _Columns(model.__table__)  # type: ignore[attr-defined]
            for model in (Case, Step, Clock)}
_ORDER = {"clock": 0, "case": 1, "step": 2}


class _Instants:
    """Instants in their canonical text, each formatted once: a batch repeats the same few (the
    day's deadlines, an event's instant in every row it writes).

    The ledger encodes every other value itself (ids, numbers, texts) in the same canonical
    form ``json_value`` gives; only instants need our formatting, and that is the costly part."""

    def __init__(self) -> None:
        self._text: dict[datetime, str] = {}

    def __call__(self, value: Any) -> Any:
        if value.__class__ is not datetime:
            return value
        text = self._text.get(value)
        if text is None:
            text = self._text[value] = format_instant(value)
        return text

    def row(self, row: Any) -> dict[str, Any]:
        """Every column of a working-set row (in the ledger it reads as ``row_values`` gives it)."""
        columns = _COLUMNS[row.__tablename__]
        values = list(columns.values(row))
        texts = self._text
        for i in columns.instants:   # ``self(value)``, inline: a batch writes tens of thousands
            value = values[i]
            if value.__class__ is datetime:
                text = texts.get(value)
                if text is None:
                    text = texts[value] = format_instant(value)
                values[i] = text
        return dict(zip(columns.keys, values))


class _Work:
    """One event's changes: new and changed rows, and how to undo them if the event is refused."""

    def __init__(self, cases: CaseSet) -> None:
        self.cases = cases
        self.touched: dict[int, Any] = {}
        self._saved: dict[int, tuple[SQLModel, tuple[Any, ...]]] = {}
        self._saved_running: dict[uuid.UUID, list[Step]] = {}

    def keep(self, *rows: SQLModel) -> None:
        """Remember rows' values before they change, so a refusal can put them back."""
        for row in rows:
            if id(row) not in self._saved:
                self._saved[id(row)] = (row, _COLUMNS[row.__tablename__].values(row))  # type: ignore[attr-defined]

    def running(self, case: Case) -> list[Step]:
        if case.id not in self._saved_running:
            self._saved_running[case.id] = list(self.cases.running.get(case.id, []))
        return self.cases.running.setdefault(case.id, [])

    def touch(self, *rows: SQLModel) -> None:
        for row in rows:
            self.touched[id(row)] = row

    def clock(self, clock_id: uuid.UUID | None) -> Clock | None:
        clock = self.cases.clocks.get(clock_id) if clock_id else None
        if clock is not None:
            self.keep(clock)
        return clock

    def open_clocks(self, case: Case) -> list[Clock]:
        """The case's own clock (or its acceptance clock), its legal-limit clock and its running
        steps' clocks: 补正 and the special procedures stop them all, its end finishes them all."""
        ids = [case.clock_id, case.acceptance_clock_id, case.legal_clock_id]
        ids += [s.clock_id for s in self.running(case)]
        clocks = [self.clock(i) for i in ids]
        return [c for c in clocks if c is not None and c.state in OPEN_CLOCK]

    def commit(self) -> list[dict[str, Any]]:
        """Hand the rows to the working set; returns the ledger's record of them: new rows in
        full, changed rows as the columns that changed (replay applies them in order)."""
        for key, row in self.touched.items():
            self.cases.dirty[key] = row
            if row.__tablename__ == "clock":  # type: ignore[attr-defined]
                if row.state in OPEN_CLOCK:
                    self.cases.clocks[row.id] = row
                else:
                    self.cases.clocks.pop(row.id, None)
        instant = self.cases.instants
        changes = []
        for row in sorted(self.touched.values(), key=lambda r: _ORDER[r.__tablename__]):
            table = row.__tablename__  # type: ignore[attr-defined]
            saved = self._saved.get(id(row))
            if saved is None:
                changes.append({"table": table, "id": row.id, "values": instant.row(row)})
                continue
            columns = _COLUMNS[table]
            after = columns.values(row)
            if after == saved[1]:
                continue
            # Most columns hold the very object they held before: find the others by identity
            # in C (``map``/``compress``), then compare only those by value.
            before = saved[1]
            changed = {}
            for i in compress(columns.indexes, map(operator.is_not, before, after)):
                value = after[i]
                if value != before[i]:
                    changed[columns.keys[i]] = instant(value) if value.__class__ is datetime else value
            if changed:
                changes.append({"table": table, "id": row.id, "set": changed})
                self.cases.changed.setdefault(id(row), set()).update(changed)
        return changes

    def undo(self) -> None:
        for row, values in self._saved.values():
            for key, value in zip(_COLUMNS[row.__tablename__].keys, values, strict=True):  # type: ignore[attr-defined]
                setattr(row, key, value)
        for case_id, steps in self._saved_running.items():
            self.cases.running[case_id] = steps


# ----------------------------------------------------------------------------- entry points

def ingest(tx: Transaction, events: list[ReportedEvent], *, source: str) -> list[Outcome]:
    """A batch from a department system: each event applied or refused on its own, answered per
    event; what was accepted stays accepted when a later one is refused, and a repeat of a
    ``(source, source_event_id)`` already recorded is a no-op answered ``duplicate``."""
    with _collector_paused():
        return _ingest(tx, events, source)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during a batch. Its working set is tens of thousands of
    tracked objects (records, ids, documents) alive until the flush, so each collection would
    walk them all for nothing; they form no cycle and go by reference counting afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _ingest(tx: Transaction, events: list[ReportedEvent], source: str) -> list[Outcome]:
    cases = _case_set(tx)
    cases.load({ev.case_number for ev in events})
    ids = [ev.source_event_id for ev in events]
    seen: dict[str, Outcome] = {}
    for start in range(0, len(ids), 1000):
        for event_id, ledger_id, late in tx.session.execute(
                select(LedgerEvent.source_event_id, LedgerEvent.id, LedgerEvent.late).where(
                    LedgerEvent.source == source,
                    among(tx.session, LedgerEvent.source_event_id, ids[start:start + 1000]))):  # type: ignore[union-attr]
            seen[event_id] = Outcome(event_id, "duplicate", ledger_id=ledger_id, late=late)
    outcomes: list[Outcome] = []
    for ev in events:
        previous = seen.get(ev.source_event_id)
        if previous is not None:
            outcomes.append(Outcome(ev.source_event_id, "duplicate", previous.ledger_id, previous.late,
                                    event=previous.event))
            continue
        try:
            outcome = _handle(tx, cases, ev, source)
        except DomainError as exc:
            outcomes.append(Outcome(ev.source_event_id, "refused", code=str(exc.code), message=exc.message))
            continue
        seen[ev.source_event_id] = outcome
        outcomes.append(outcome)
    if any(o.event is not None for o in outcomes):
        tx.flush()
    return [o.resolved() for o in outcomes]


def handle(tx: Transaction, ev: ReportedEvent, *, source: str) -> Outcome:
    """Apply one reported event, or raise the DomainError that refuses it (changing nothing)."""
    outcome = ingest(tx, [ev], source=source)[0]
    if outcome.status == "refused":
        raise DomainError(ErrorCode(outcome.code), outcome.message or "", case=ev.case_number,
                          event=ev.source_event_id)
    return outcome


def _case_set(tx: Transaction) -> CaseSet:
    # One working set per transaction: a second batch in it sees the first one's changes.
    cases = tx.cache.get("case_set")
    if cases is None or cases.owner() is not tx:
        cases = tx.cache["case_set"] = CaseSet(tx)
    elif not cases.dirty:
        tx.on_flush(cases.write)
    return cases


def _handle(tx: Transaction, cases: CaseSet, ev: ReportedEvent, source: str) -> Outcome:
    occurred = utc(ev.occurred_at)
    if occurred > tx.now + FUTURE_TOLERANCE:
        raise _refuse(ErrorCode.EVENT_IN_FUTURE,
                      f"事件时间 {local_time(occurred, tx.settings.timezone)} 晚于当前时间，不予记录 (event claims to be in the future)", ev)
    case = cases.cases.get(ev.case_number)
    status = CaseStatus(case.status) if case else None
    if case is not None:
        if occurred < case.first_event_at:
            raise _refuse(ErrorCode.EVENT_BEFORE_CASE,
                          f"事件时间早于办件 {case.number} 的开始时间 (event before the case began)", ev)
        if ev.action is not CaseAction.STEP and occurred < case.last_event_at:
            raise _refuse(ErrorCode.EVENT_OUT_OF_ORDER,
                          f"事件时间早于办件 {case.number} 的上一状态变化，顺序错误 (event out of order)", ev)
    if status not in ALLOWED[ev.action]:
        raise _transition_error(ev, case, status)
    work = _Work(cases)
    created = case is None
    if case is None:
        case = _new_case(tx, ev, occurred)
    else:
        work.keep(case)
    try:
        data = _apply(tx, work, case, ev, occurred, historical=source.startswith(HISTORY_SOURCE))
    except (DomainError, ClockStateError):
        work.undo()
        raise
    if ev.action is not CaseAction.STEP:
        case.last_event_at = max(case.last_event_at, occurred)
    late = (tx.now - occurred) > cases.late_after
    case.reported_late = case.reported_late or late
    work.touch(case)
    if created:
        cases.cases[case.number] = case
    event = tx.ledger.append(
        center_id=case.center_id, kind=f"case.{ev.action.value}", subject_type="case",
        subject_id=case.id, occurred_at=occurred, recorded_at=tx.now,
        data={"number": case.number, **data}, changes=work.commit(), actor=tx.actor,
        source=source, source_event_id=ev.source_event_id, late=late)
    tx.announce("case.event", {"number": case.number, "kind": event.kind,
                               "center_id": str(case.center_id), "status": case.status}, event)
    return Outcome(ev.source_event_id, "accepted", late=late, event=event)


def _transition_error(ev: ReportedEvent, case: Case | None, status: CaseStatus | None) -> DomainError:
    if case is None:
        return _refuse(ErrorCode.CASE_NOT_FOUND, f"办件 {ev.case_number} 不存在 (no such case)", ev)
    if status is CaseStatus.SUPPLEMENT and ev.action is CaseAction.REQUEST_SUPPLEMENT \
            or status is CaseStatus.SUSPENDED and ev.action is CaseAction.SUSPEND:
        return _refuse(ErrorCode.CLOCK_ALREADY_PAUSED, f"办件 {case.number} 已在暂停计时中 (clock already paused)", ev)
    if ev.action in (CaseAction.RESUME, CaseAction.SUPPLEMENT_RECEIVED):
        return _refuse(ErrorCode.CLOCK_NOT_PAUSED,
                       f"办件 {case.number} 当前{_status(case)}，未暂停计时，不能恢复 (clock is not paused)", ev)
    if ev.action is CaseAction.SUBMIT or (ev.action is CaseAction.ACCEPT and status not in BEFORE_ACCEPTANCE):
        if status is not None and status not in FINAL:
            return _refuse(ErrorCode.CASE_EXISTS, f"办件编号 {case.number} 已存在 (case exists)", ev)
    if status in FINAL:
        return _refuse(ErrorCode.CASE_FINISHED,
                       f"办件 {case.number} 已结束（{_status(case)}），不能再{ACTION_LABELS[ev.action]}", ev)
    if ev.action in (CaseAction.ADVANCE, CaseAction.COMPLETE, CaseAction.SUSPEND):
        return _refuse(ErrorCode.CASE_NOT_RUNNING,
                       f"办件 {case.number} 当前状态为{_status(case)}，不在办理中 (case not running)", ev)
    return _refuse(ErrorCode.INVALID_TRANSITION,
                   f"办件 {case.number} 当前状态为{_status(case)}，不能{ACTION_LABELS[ev.action]}", ev)


def _status(case: Case) -> str:
    """A case's status as people read it (待预审, 办理中 …), never the code name."""
    return STATUS_LABELS[CaseStatus(case.status)]


def _new_case(tx: Transaction, ev: ReportedEvent, occurred: datetime) -> Case:
    if not ev.center_code or not ev.item_code:
        raise _refuse(ErrorCode.INVALID_EVENT, "新办件需要中心编码和事项编码 (center_code and item_code required)", ev)
    center = _center(tx, ev.center_code)
    item = _item(tx, center.id, ev.item_code)
    if item is None:
        raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"事项 {ev.item_code} 不存在", item=ev.item_code,
                          case=ev.case_number)
    department_id = item.department_id
    if ev.department_code:
        dept = _by_code(tx, Department, center.id, ev.department_code)
        if dept is None:
            raise DomainError(ErrorCode.DEPARTMENT_NOT_FOUND, f"部门 {ev.department_code} 不存在",
                              case=ev.case_number, department=ev.department_code)
        department_id = dept.id
    window_id = staff_id = None
    if ev.window_code:
        window = _by_code(tx, Window, center.id, ev.window_code)
        if window is None:
            raise DomainError(ErrorCode.WINDOW_NOT_FOUND, f"窗口 {ev.window_code} 不存在",
                              case=ev.case_number, window=ev.window_code)
        window_id = window.id
    if ev.staff_code:
        staff = _by_code(tx, Staff, center.id, ev.staff_code)
        staff_id = staff.id if staff else None   # an unknown handler is kept in the event data
        window_id = window_id or (staff.window_id if staff else None)
    attrs = ev.attributes
    return CaseRecord(number=ev.case_number, center_id=center.id, department_id=department_id,
                item_id=item.id, window_id=window_id, staff_id=staff_id,
                applicant_name=ev.applicant_name, applicant_id_number=attrs.get("applicant_id_number"),
                applicant_phone=attrs.get("applicant_phone"),
                channel=ev.channel or ("online" if ev.action is CaseAction.SUBMIT else "window"),
                status=CaseStatus.SUBMITTED.value, first_event_at=occurred, last_event_at=occurred)


def _clock_op(ev: ReportedEvent, fn, *args, **kwargs) -> Any:  # noqa: ANN001
    try:
        return fn(*args, **kwargs)
    except ClockStateError as exc:
        code = {"CLOCK_ALREADY_PAUSED": ErrorCode.CLOCK_ALREADY_PAUSED,
                "CLOCK_NOT_PAUSED": ErrorCode.CLOCK_NOT_PAUSED}.get(exc.reason, ErrorCode.INVALID_TRANSITION)
        raise _refuse(code, f"计时状态不允许该操作 ({exc.reason})", ev) from exc


# Attributes a reported event may carry to say a rule moved it from what its source logged.
SOURCE_ORIGINAL_KEYS = ("adjustment", "logged_at", "end_given", "unpaired")


def _apply(tx: Transaction, work: _Work, case: Case, ev: ReportedEvent, at: datetime, *,
           historical: bool = False) -> dict[str, Any]:
    action, attrs = ev.action, ev.attributes
    data: dict[str, Any] = {"action": action.value}
    if ev.step_name:
        data["step"] = ev.step_name
    if ev.staff_code:
        data["staff"] = ev.staff_code
    # What an importer's rule changed, and the value the source gave, stay in the case's history.
    data.update({key: attrs[key] for key in SOURCE_ORIGINAL_KEYS if attrs.get(key) not in (None, "")})

    if action is CaseAction.SUBMIT:
        case.submitted_at = at
        clock = start_clock(tx.calendar(case.center_id), center_id=case.center_id,
                            subject_type=SubjectType.ACCEPTANCE, subject_id=case.id, started_at=at,
                            limit_days=ACCEPTANCE_DAYS, basis=Basis.WORKING,
                            department_id=case.department_id, window_id=case.window_id)
        case.acceptance_clock_id = clock.id
        work.touch(clock)
    elif action is CaseAction.PREREVIEW_PASS:
        case.status = CaseStatus.PREREVIEWED.value
    elif action is CaseAction.PREREVIEW_FAIL:
        case.status, case.reason = CaseStatus.PREREVIEW_FAILED.value, attrs.get("reason")
        case.completed_at = at
        _finish_all(tx, work, case, at)
        data["reason"] = case.reason
    elif action is CaseAction.ACCEPT:
        data.update(_accept(tx, work, case, at=at, due_at=attrs.get("due_at"), deemed=False))
    elif action is CaseAction.ADVANCE:
        data.update(_advance(tx, work, case, ev, at))
    elif action is CaseAction.STEP:
        data["activity"] = attrs.get("activity", ev.step_name)
    elif action in (CaseAction.REQUEST_SUPPLEMENT, CaseAction.SUSPEND):
        kind = "supplement"
        if action is CaseAction.REQUEST_SUPPLEMENT:
            data.update(_supplement_notice(tx, case, ev, historical=historical))
        if action is CaseAction.SUSPEND:
            kind = str(attrs.get("kind", ""))
            if kind not in {k.value for k in SuspendKind}:
                raise _refuse(ErrorCode.INVALID_SUSPEND_KIND,
                              f"特别程序种类 {kind!r} 不在法定范围内（听证、招标、拍卖、检验、检测、检疫、鉴定、专家评审、公示）", ev)
        for clock in work.open_clocks(case):
            _clock_op(ev, pause_clock, clock, at=at, kind=kind)
            work.touch(clock)
        case.status_before_pause = case.status
        case.status = (CaseStatus.SUPPLEMENT if action is CaseAction.REQUEST_SUPPLEMENT
                       else CaseStatus.SUSPENDED).value
        data["kind"] = kind
        if attrs.get("reason") and "reason" not in data:
            data["reason"] = attrs["reason"]
    elif action in (CaseAction.SUPPLEMENT_RECEIVED, CaseAction.RESUME):
        given_back = 0
        calendar = tx.calendar(case.center_id)
        for clock in work.open_clocks(case):
            days = _clock_op(ev, resume_clock, clock, calendar, at=at)
            if clock.subject_type in (SubjectType.CASE, SubjectType.ACCEPTANCE):
                given_back = days
            work.touch(clock)
        case.status = case.status_before_pause or CaseStatus.ACCEPTED.value
        case.status_before_pause = None
        data["days_not_counted"] = given_back
    elif action is CaseAction.EXTEND:
        data.update(_extend(tx, work, case, ev))
    elif action is CaseAction.COMPLETE:
        result = str(attrs.get("result", "approved"))
        if result not in ("approved", "denied"):
            raise _refuse(ErrorCode.INVALID_EVENT, f"办结结果 {result!r} 应为 approved 或 denied", ev)
        case.status, case.result, case.completed_at = CaseStatus.COMPLETED.value, result, at
        case.reason = attrs.get("reason")
        _finish_all(tx, work, case, at)
        data["result"] = result
    elif action is CaseAction.REJECT:
        case.status, case.reason, case.completed_at = CaseStatus.REJECTED.value, attrs.get("reason"), at
        _finish_all(tx, work, case, at)
        data["reason"] = case.reason
    elif action is CaseAction.WITHDRAW:
        case.status, case.completed_at = CaseStatus.WITHDRAWN.value, at
        _finish_all(tx, work, case, at, cancelled=True)
    return data


# Reports from these sources are histories of what happened elsewhere (``esv import``): kept as
# the log has them, although an old log names no material of a 补正.
HISTORY_SOURCE = "import:"
_MATERIAL_SEPARATORS = re.compile(r"[、,，;；\n]+")


def _supplement_notice(tx: Transaction, case: Case, ev: ReportedEvent, *, historical: bool) -> dict[str, Any]:
    """What a 补正 must tell the applicant at once (行政许可法 第三十二条 第一款 第四项: 一次性告知):
    every missing material (``missing_materials``: names of the item's materials in the catalogue,
    or free text; a list, or one text separated by 、) and the reason. Without either it stops no
    clock: refused with ``SUPPLEMENT_INCOMPLETE``."""
    raw = ev.attributes.get("missing_materials")
    parts = _MATERIAL_SEPARATORS.split(raw) if isinstance(raw, str) else raw if isinstance(raw, (list, tuple)) else []
    materials = list(dict.fromkeys(str(p).strip() for p in parts if p is not None and str(p).strip()))
    reason = str(ev.attributes.get("reason") or "").strip()
    if historical and not (materials and reason):
        return {"missing_materials": materials, "reason": reason or None, "historical": True}
    if not materials:
        raise _refuse(ErrorCode.SUPPLEMENT_INCOMPLETE,
                      f"补正告知须一次性列明需要补正的全部材料（行政许可法第三十二条），办件 {case.number} 的补正未列明任何材料"
                      " (missing_materials required)", ev)
    if not reason:
        raise _refuse(ErrorCode.SUPPLEMENT_INCOMPLETE,
                      f"补正告知须说明需要补正的原因（行政许可法第三十二条），办件 {case.number} 的补正未说明原因"
                      " (reason required)", ev)
    known = set(_item_materials(tx, case.item_id))
    return {"missing_materials": materials, "reason": reason,
            "other_materials": [m for m in materials if m not in known]}


def _item_materials(tx: Transaction, item_id: uuid.UUID) -> list[str]:
    key = ("item_materials", item_id)
    if key not in tx.cache:
        tx.cache[key] = list(tx.session.scalars(select(ItemMaterial.name).where(ItemMaterial.item_id == item_id)))
    return tx.cache[key]


def _accept(tx: Transaction, work: _Work, case: Case, *, at: datetime,
            due_at: str | datetime | None, deemed: bool) -> dict[str, Any]:
    """受理: start the case clock on the item's committed limit, the legal-limit clock on its
    legal limit (法定时限, 行政许可法 art. 42) and the first steps."""
    calendar = tx.calendar(case.center_id)
    item = _item_by_id(tx, case.item_id)
    acceptance = work.clock(case.acceptance_clock_id)
    if acceptance is not None and acceptance.state in OPEN_CLOCK:
        finish_clock(acceptance, calendar, at=at)
        work.touch(acceptance)
    # art. 32: deemed acceptance counts from the day the submission was received.
    start = case.submitted_at if deemed and case.submitted_at else at
    fixed = datetime.fromisoformat(due_at) if isinstance(due_at, str) else due_at
    plan = _plan(tx, item)
    clock = start_clock(calendar, center_id=case.center_id, subject_type=SubjectType.CASE,
                        subject_id=case.id, started_at=start, limit_days=item.committed_days,
                        basis=plan.basis, rule=plan.rule,
                        department_id=case.department_id, window_id=case.window_id, due_at=fixed)
    # The legal limit always counts on the calendar, whatever deadline a department system fixes.
    legal = start_clock(calendar, center_id=case.center_id, subject_type=SubjectType.LEGAL_LIMIT,
                        subject_id=case.id, started_at=start, limit_days=item.legal_days,
                        basis=plan.basis, rule=plan.rule,
                        department_id=case.department_id, window_id=case.window_id)
    work.touch(clock, legal)
    case.clock_id, case.legal_clock_id = clock.id, legal.id
    case.accepted_at, case.deemed_accepted = start, deemed
    case.status = CaseStatus.ACCEPTED.value
    first_seq = _start_step_group(tx, work, case, item, after_seq=0, at=start)
    return {"due_at": clock.due_at, "provisional": clock.provisional, "deemed": deemed,
            "committed_days": item.committed_days, "legal_days": item.legal_days,
            "legal_due_at": legal.due_at, "steps_from": first_seq}


def _start_step_group(tx: Transaction, work: _Work, case: Case, item: Item, *, after_seq: int,
                      at: datetime) -> int | None:
    """Start every step of the next group after ``after_seq``; returns its seq (None: no more)."""
    plan = _plan(tx, item)
    group = next(((seq, specs) for seq, specs in plan.groups if seq > after_seq), None)
    if group is None:
        return None
    seq, specs = group
    calendar = tx.calendar(case.center_id)
    running = work.running(case)
    for department_id, name, limit_days in specs:
        step = StepRecord(case_id=case.id, center_id=case.center_id,
                          department_id=department_id or case.department_id, seq=seq, name=name,
                          limit_days=limit_days, started_at=at)
        clock = start_clock(calendar, center_id=case.center_id, subject_type=SubjectType.STEP,
                            subject_id=step.id, started_at=at, limit_days=limit_days,
                            basis=plan.basis, rule=plan.rule,
                            department_id=step.department_id, window_id=case.window_id)
        step.clock_id = clock.id
        running.append(step)
        work.touch(clock, step)
    return seq


def _advance(tx: Transaction, work: _Work, case: Case, ev: ReportedEvent, at: datetime) -> dict[str, Any]:
    running = work.running(case)
    candidates = list(running)
    if ev.department_code:
        dept = _by_code(tx, Department, case.center_id, ev.department_code)
        candidates = [s for s in candidates if dept is not None and s.department_id == dept.id]
    if ev.step_name:
        candidates = [s for s in candidates if s.name == ev.step_name] or candidates
    if not candidates:
        raise _refuse(ErrorCode.STEP_NOT_RUNNING, f"办件 {case.number} 没有可办结的在办环节 (no running step)", ev)
    if len(candidates) > 1:
        raise _refuse(ErrorCode.INVALID_EVENT,
                      f"办件 {case.number} 有 {len(candidates)} 个并联环节在办，请指明部门 (department_code required)", ev)
    step = candidates[0]
    work.keep(step)
    clock = work.clock(step.clock_id)
    if clock is not None:
        finish_clock(clock, tx.calendar(case.center_id), at=at)
        work.touch(clock)
    step.status, step.finished_at = StepStatus.DONE.value, at
    if ev.staff_code:
        staff = _by_code(tx, Staff, case.center_id, ev.staff_code)
        step.staff_id = staff.id if staff else step.staff_id
    work.touch(step)
    running.remove(step)
    next_seq = None
    if not running:
        next_seq = _start_step_group(tx, work, case, _item_by_id(tx, case.item_id), after_seq=step.seq, at=at)
    return {"step": step.name, "step_outcome": clock.outcome if clock else None, "next_seq": next_seq}


def _extend(tx: Transaction, work: _Work, case: Case, ev: ReportedEvent) -> dict[str, Any]:
    attrs = ev.attributes
    approved_by = attrs.get("approved_by")
    if not approved_by:
        raise _refuse(ErrorCode.EXTENSION_NOT_APPROVED, "延期须经负责人批准，请注明批准人 (approved_by required)", ev)
    try:
        days = int(attrs.get("days", 0))
    except (TypeError, ValueError):
        days = 0
    if days < 1:
        raise _refuse(ErrorCode.INVALID_DAY_LIMIT, f"延期天数 {attrs.get('days')!r} 不合理", ev)
    if case.extension_days:
        raise _refuse(ErrorCode.EXTENSION_ALREADY_GRANTED,
                      f"办件 {case.number} 已延期 {case.extension_days} 天，法定只可延期一次 (art. 42)", ev)
    item = _item_by_id(tx, case.item_id)
    cap = item.legal_days + item.extension_days
    if item.committed_days + days > cap:
        raise _refuse(ErrorCode.EXTENSION_EXCEEDS_LIMIT,
                      f"延期 {days} 天后时限 {item.committed_days + days} 天超过法定时限 {item.legal_days} 天"
                      f"加可延长 {item.extension_days} 天", ev)
    clock = work.clock(case.clock_id)
    if clock is None:
        raise _refuse(ErrorCode.CASE_NOT_RUNNING, f"办件 {case.number} 尚未受理，无法延期", ev)
    _clock_op(ev, extend_clock, clock, tx.calendar(case.center_id), days=days)
    case.extension_days, case.extension_approved_by = days, str(approved_by)
    work.touch(clock)
    data = {"days": days, "approved_by": approved_by, "due_at": clock.due_at}
    # Art. 42: the approval extends the legal limit too, by the days approved, at most by the
    # item's statutory extension (10 working days; joint approvals 15).
    legal = work.clock(case.legal_clock_id)
    if legal is not None and legal.state in OPEN_CLOCK:
        legal_days = min(days, item.extension_days)
        _clock_op(ev, extend_clock, legal, tx.calendar(case.center_id), days=legal_days)
        work.touch(legal)
        data.update(legal_days=legal_days, legal_due_at=legal.due_at)
    return data


def _finish_all(tx: Transaction, work: _Work, case: Case, at: datetime, cancelled: bool = False) -> None:
    calendar = tx.calendar(case.center_id)
    clocks = work.open_clocks(case)
    running = work.running(case)
    for step in running:
        work.keep(step)
        step.status = (StepStatus.CANCELLED if cancelled else StepStatus.DONE).value
        step.finished_at = at
        work.touch(step)
    running.clear()
    for clock in clocks:
        finish_clock(clock, calendar, at=at, cancelled=cancelled)
        work.touch(clock)


def deem_accepted(tx: Transaction, number: str) -> LedgerEvent | None:
    """Art. 32: an online submission unanswered within 5 working days counts as accepted on the
    day it was received; called when its acceptance clock runs out. None if no longer waiting."""
    cases = _case_set(tx)
    cases.load({number})
    case = cases.cases.get(number)
    if case is None or case.status not in BEFORE_ACCEPTANCE:
        return None
    work = _Work(cases)
    work.keep(case)
    acceptance = work.clock(case.acceptance_clock_id)
    at = acceptance.red_at if acceptance and acceptance.red_at else tx.now
    data = _accept(tx, work, case, at=at, due_at=None, deemed=True)
    case.last_event_at = max(case.last_event_at, at)
    work.touch(case)
    event = tx.ledger.append(center_id=case.center_id, kind="case.deemed_accepted", subject_type="case",
                             subject_id=case.id, occurred_at=at, recorded_at=tx.now,
                             data={"number": case.number, **data}, changes=work.commit(),
                             actor="system:art32")
    tx.announce("case.event", {"number": case.number, "kind": event.kind,
                               "center_id": str(case.center_id), "status": case.status}, event)
    return event
