"""Daily rollup of case events for efficiency statistics (效能统计).

Counting a year of two million cases by department on every request means scanning them all.
Instead each case event that a statistic counts adds to one row per level (department, window,
staff, item) and local day, in the transaction that appends the event (a ledger listener, like the
outbox). Completions also add to a histogram of handling days, from which the p90 is exact.

Every count is attributed to the Asia/Shanghai day of the event's ``occurred_at``:
- received: the case's first event (``case.submit``, or ``case.accept`` of a case not submitted online)
- accepted: ``case.accept`` and ``case.deemed_accepted``
- completed / early / on_time / overdue / handling days / suspended days: ``case.complete``, by the
  case clock's outcome (on_time counts every case not overdue, early ones included)
- over_legal_limit (超法定时限): ``case.complete`` of a case whose legal-limit clock finished past its
  deadline (行政许可法 art. 42; the days of 补正 and art. 45's procedures not counted)
- returned: ``case.reject``; supplement_requests: ``case.request_supplement``
- closed: a case that had been accepted ends (complete, reject, withdraw); with accepted it gives
  the cases in hand (办件) in a period.

``rebuild`` recomputes both tables from the ledger alone (``esv ledger replay`` calls it).
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Index, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from esupervision.db import select_among
from esupervision.models.clocks.calendar import WorkCalendar
from esupervision.models.cases.case import Case
from esupervision.models.clocks.clock import Clock, Outcome, local_date
from esupervision.models.ledger.ledger import LedgerEvent

NONE_ID = uuid.UUID(int=0)   # "no window / no staff", and the columns a level does not key on


class Level(StrEnum):
    """What a rollup row is keyed on besides center, department and day."""

    DEPARTMENT = "department"
    WINDOW = "window"
    STAFF = "staff"
    ITEM = "item"


METRICS = ("received", "accepted", "closed", "completed", "early", "on_time", "overdue", "over_legal_limit",
           "returned", "supplement_requests", "suspended_days", "handling_days")
COUNTED_KINDS = ("case.submit", "case.accept", "case.deemed_accepted", "case.complete", "case.reject",
                 "case.withdraw", "case.request_supplement")


class StatisticsDay(SQLModel, table=True):
    """Case counts of one level key and local day (``handling_days`` is a sum over completions)."""

    __tablename__ = "statistics_day"
    __table_args__ = (Index("ix_statistics_day_center", "level", "center_id", "day"),)

    level: str = Field(primary_key=True)
    department_id: uuid.UUID = Field(primary_key=True)
    day: date = Field(primary_key=True, sa_type=Date)
    center_id: uuid.UUID = Field(primary_key=True)
    window_id: uuid.UUID = Field(primary_key=True)
    staff_id: uuid.UUID = Field(primary_key=True)
    item_id: uuid.UUID = Field(primary_key=True)
    received: int = 0
    accepted: int = 0
    closed: int = 0
    completed: int = 0
    early: int = 0
    on_time: int = 0
    overdue: int = 0
    over_legal_limit: int = 0
    returned: int = 0
    supplement_requests: int = 0
    suspended_days: int = 0
    handling_days: int = 0


class StatisticsHandling(SQLModel, table=True):
    """How many cases of one level key completed on ``day`` after ``handling_days`` working days."""

    __tablename__ = "statistics_handling"

    level: str = Field(primary_key=True)
    department_id: uuid.UUID = Field(primary_key=True)
    day: date = Field(primary_key=True, sa_type=Date)
    center_id: uuid.UUID = Field(primary_key=True)
    window_id: uuid.UUID = Field(primary_key=True)
    staff_id: uuid.UUID = Field(primary_key=True)
    item_id: uuid.UUID = Field(primary_key=True)
    handling_days: int = Field(primary_key=True)
    count: int = 0


# (level, department, day, center, window, staff, item)
Key = tuple[str, uuid.UUID, date, uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]
_KEY_COLUMNS = ("level", "department_id", "day", "center_id", "window_id", "staff_id", "item_id")


@dataclass(frozen=True)
class CaseFacts:
    """What the rollup needs of a case (none of it changes once set)."""

    id: uuid.UUID
    center_id: uuid.UUID
    department_id: uuid.UUID
    window_id: uuid.UUID | None
    staff_id: uuid.UUID | None
    item_id: uuid.UUID
    submitted_at: datetime | None
    accepted_at: datetime | None
    clock_id: uuid.UUID | None
    legal_clock_id: uuid.UUID | None


@dataclass(frozen=True)
class ClockFacts:
    outcome: str | None
    paused_days: int


def level_keys(case: CaseFacts, day: date) -> list[Key]:
    """The four rollup rows an event of ``case`` on ``day`` counts in."""
    return _keys((case.department_id, day, case.center_id, case.window_id, case.staff_id, case.item_id))


def _keys(profile: tuple[Any, ...]) -> list[Key]:
    dept, day, center, window, staff, item = profile
    window = window or NONE_ID
    return [(_DEPARTMENT, dept, day, center, NONE_ID, NONE_ID, NONE_ID),
            (_WINDOW, dept, day, center, window, NONE_ID, NONE_ID),
            (_STAFF, dept, day, center, window, staff or NONE_ID, NONE_ID),
            (_ITEM, dept, day, center, window, NONE_ID, item)]


# Plain strings: an enum member's ``value`` is a descriptor call, and this runs per event.
_DEPARTMENT, _WINDOW, _STAFF, _ITEM = (level.value for level in Level)


def handling_days(calendar: WorkCalendar, accepted_at: datetime, completed_at: datetime,
                  paused_days: int) -> int:
    """Working days from acceptance to completion (days d with accept day < d <= completion day),
    less the days the case clock stood still (补正, 特别程序); never negative."""
    return max(0, calendar.working_days_between(local_date(accepted_at), local_date(completed_at))
               - paused_days)


def event_metrics(kind: str, case: CaseFacts, clock: ClockFacts | None, occurred_at: datetime,
                  calendar: WorkCalendar, legal: ClockFacts | None = None) -> tuple[dict[str, int], int | None]:
    """What one ledger event adds to its day's rows, and the handling days of a completion
    (``clock`` the case clock, ``legal`` its legal-limit clock)."""
    metrics: dict[str, int] = {}
    handled: int | None = None
    if kind == "case.submit" or (kind == "case.accept" and case.submitted_at is None):
        metrics["received"] = 1
    if kind in ("case.accept", "case.deemed_accepted"):
        metrics["accepted"] = 1
    if kind in ("case.complete", "case.reject", "case.withdraw") and case.accepted_at is not None:
        metrics["closed"] = 1
    if kind == "case.complete":
        metrics["completed"] = 1
        outcome = clock.outcome if clock else None
        if outcome == Outcome.OVERDUE.value:
            metrics["overdue"] = 1
        else:
            metrics["on_time"] = 1
            if outcome == Outcome.EARLY.value:
                metrics["early"] = 1
        if legal is not None and legal.outcome == Outcome.OVERDUE.value:
            metrics["over_legal_limit"] = 1
        paused = clock.paused_days if clock else 0
        metrics["suspended_days"] = paused
        if case.accepted_at is not None:
            handled = handling_days(calendar, case.accepted_at, occurred_at, paused)
            metrics["handling_days"] = handled
    elif kind == "case.reject":
        metrics["returned"] = 1
    elif kind == "case.request_supplement":
        metrics["supplement_requests"] = 1
    return metrics, handled


_INDEX = {name: i for i, name in enumerate(METRICS)}
# Above this many rows a write goes through COPY and one upsert (a large ingest batch, a rebuild).
BULK_ROWS = 500


class Deltas:
    """Additions to both tables, gathered over many events and written in one go.

    Events are summed first by what keys them (department, day, center, window, staff, item):
    the cases of a batch share a few of those, so the four level rows are built once per
    distinct one, not once per event."""

    def __init__(self) -> None:
        self._counts: dict[tuple[Any, ...], list[int]] = {}
        self._handled: Counter = Counter()

    def add(self, case: CaseFacts, day: date, metrics: dict[str, int], handled: int | None) -> None:
        profile = (case.department_id, day, case.center_id, case.window_id, case.staff_id, case.item_id)
        counts = self._counts.get(profile)
        if counts is None:
            counts = self._counts[profile] = [0] * len(METRICS)
        for name, value in metrics.items():
            counts[_INDEX[name]] += value
        if handled is not None:
            self._handled[(profile, handled)] += 1

    def __len__(self) -> int:
        """At most how many rows ``write`` would write."""
        return 4 * (len(self._counts) + len(self._handled))

    @property
    def days(self) -> dict[Key, list[int]]:
        """The day rows' additions, by key."""
        out: dict[Key, list[int]] = {}
        for profile, counts in self._counts.items():
            for key in _keys(profile):
                total = out.get(key)
                if total is None:
                    out[key] = list(counts)
                else:
                    for index, value in enumerate(counts):
                        total[index] += value
        return out

    @property
    def handling(self) -> Counter:
        """The histogram rows' additions, by (key, handling days)."""
        out: Counter = Counter()
        for (profile, handled), n in self._handled.items():
            for key in _keys(profile):
                out[(*key, handled)] += n
        return out

    def write(self, session: Session, *, bulk: bool = False) -> None:
        """Add to the stored rows, in key order (two writers never wait on each other in a cycle).
        On PostgreSQL a rebuild (``bulk``) or a large batch copies into a staging table and adds it
        in one statement; otherwise multi-row upserts."""
        day_rows = [(*key, *counts) for key, counts in self.days.items() if any(counts)]
        hist_rows = [(*key, n) for key, n in self.handling.items() if n]
        many = len(day_rows) + len(hist_rows) > BULK_ROWS
        if (bulk or many) and session.get_bind().dialect.name == "postgresql":
            _bulk_add(session, StatisticsDay.__table__, [*_KEY_COLUMNS, *METRICS], day_rows)  # type: ignore[attr-defined]
            _bulk_add(session, StatisticsHandling.__table__,  # type: ignore[attr-defined]
                      [*_KEY_COLUMNS, "handling_days", "count"], hist_rows)
            return
        add_days, add_handling = _upserts(session.get_bind().dialect.name)
        names = [*_KEY_COLUMNS, *METRICS]
        values = [dict(zip(names, row)) for row in sorted(day_rows)]
        for start in range(0, len(values), 1000):
            session.execute(add_days, values[start:start + 1000])
        names = [*_KEY_COLUMNS, "handling_days", "count"]
        values = [dict(zip(names, row)) for row in sorted(hist_rows)]
        for start in range(0, len(values), 1000):
            session.execute(add_handling, values[start:start + 1000])


@lru_cache
def _upserts(dialect: str) -> tuple[Any, Any]:
    """The day rows' and the histogram's add-on-conflict statements, built once per dialect: every
    transaction that records a case event runs them, and building them (an expression per
    metric) cost more than running them for a few rows."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = StatisticsDay.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    days = statement.on_conflict_do_update(
        index_elements=list(_KEY_COLUMNS), set_={m: table.c[m] + statement.excluded[m] for m in METRICS})
    table = StatisticsHandling.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    handling = statement.on_conflict_do_update(
        index_elements=[*_KEY_COLUMNS, "handling_days"],
        set_={"count": table.c.count + statement.excluded["count"]})
    return days, handling


def _bulk_add(session: Session, table: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY ``rows`` into a staging copy of ``table`` and add them to it in one statement."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    added = [c for c in columns if c not in keys]
    stage = f"{table.name}_stage"
    connection = session.connection()
    connection.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name}) ON COMMIT DROP")
    connection.exec_driver_sql(f"TRUNCATE {stage}")
    names = ", ".join(columns)
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
            f"COPY {stage} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    updates = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in added)
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage} ORDER BY {', '.join(keys)} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")


def _case_facts(session: Session, case_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, CaseFacts]:
    ids = list(case_ids)
    out: dict[uuid.UUID, CaseFacts] = {}
    table = Case.__table__  # type: ignore[attr-defined]
    columns = [table.c[n] for n in ("id", "center_id", "department_id", "window_id", "staff_id", "item_id",
                                    "submitted_at", "accepted_at", "clock_id", "legal_clock_id")]
    for start in range(0, len(ids), 5000):
        for row in select_among(session, columns, table.c.id, ids[start:start + 5000]):
            out[row[0]] = CaseFacts(*row)
    return out


def _clock_facts(session: Session, clock_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ClockFacts]:
    ids = list(clock_ids)
    out: dict[uuid.UUID, ClockFacts] = {}
    table = Clock.__table__  # type: ignore[attr-defined]
    columns = [table.c.id, table.c.outcome, table.c.paused_days]
    for start in range(0, len(ids), 5000):
        for cid, outcome, paused in select_among(session, columns, table.c.id, ids[start:start + 5000]):
            out[cid] = ClockFacts(outcome, paused)
    return out


def _add_events(session: Session, deltas: Deltas, events: list[tuple[str, uuid.UUID, datetime]],
                calendar_of: Any) -> None:
    """Fold (kind, case id, occurred_at) triples into ``deltas``, reading the cases they name."""
    cases = _case_facts(session, {e[1] for e in events})
    clocks = _clock_facts(session, {clock_id for e in events if e[0] == "case.complete" and e[1] in cases
                                    for clock_id in (cases[e[1]].clock_id, cases[e[1]].legal_clock_id) if clock_id})
    for kind, case_id, occurred_at in events:
        case = cases.get(case_id)
        if case is None:
            continue
        clock = clocks.get(case.clock_id) if case.clock_id else None
        legal = clocks.get(case.legal_clock_id) if case.legal_clock_id else None
        metrics, handled = event_metrics(kind, case, clock, occurred_at, calendar_of(case.center_id), legal)
        if metrics:
            deltas.add(case, local_date(occurred_at), metrics, handled)


def on_events(tx: Any, events: list[Any]) -> None:
    """The transaction listener: add the case events this flush wrote to the rollup."""
    counted = [(e.kind, e.subject_id, e.occurred_at) for e in events
               if e.subject_type == "case" and e.kind in COUNTED_KINDS]
    if not counted:
        return
    deltas = Deltas()
    _add_events(tx.session, deltas, counted, tx.calendar)
    deltas.write(tx.session)


def rebuild(session: Session, chunk: int = 20000, flush_keys: int = 300_000) -> int:
    """Recompute the rollup from the ledger's case events; returns the number of day rows.

    Deltas are written whenever ``flush_keys`` rows are pending (the ledger is in about time
    order, so each row is written about once) to bound memory on a large ledger."""
    from esupervision.models.ledger.transaction import Transaction

    session.execute(delete(StatisticsHandling))
    session.execute(delete(StatisticsDay))
    tx = Transaction(session)   # only for its per-center calendars
    deltas = Deltas()
    last = 0
    while True:
        rows = session.execute(
            select(LedgerEvent.id, LedgerEvent.kind, LedgerEvent.subject_id, LedgerEvent.occurred_at)
            .where(LedgerEvent.id > last, LedgerEvent.subject_type == "case",
                   LedgerEvent.kind.in_(COUNTED_KINDS))  # type: ignore[attr-defined]
            .order_by(LedgerEvent.id).limit(chunk)).all()
        if not rows:
            break
        _add_events(session, deltas, [(r[1], r[2], r[3]) for r in rows], tx.calendar)
        last = rows[-1][0]
        if len(deltas) > flush_keys:
            deltas.write(session, bulk=True)
            deltas = Deltas()
    deltas.write(session, bulk=True)
    return session.scalar(select(func.count()).select_from(StatisticsDay)) or 0


def install() -> None:
    """Keep the rollup with every transaction's ledger events (idempotent)."""
    from esupervision.models.ledger.transaction import add_event_listener
    add_event_listener(on_events)


install()
