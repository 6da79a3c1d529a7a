"""The light-transition scheduler: announces each light change when it falls due.

It never scans clocks: it asks the index for the earliest ``next_announce_at``, sleeps until then
(at most ``max_sleep``, so clocks added meanwhile are seen), and claims due rows with
``FOR UPDATE SKIP LOCKED`` so several schedulers can share the work on PostgreSQL.

A midnight brings tens of thousands of transitions at one instant, more than a pass can write in
a second. So on PostgreSQL the scheduler prepares each instant's pass ahead of it
(``announce_at``): a little before the instant it claims the clocks due then, writes their
ledger events, clock marks, the handlers' changes and the outbox in one transaction whose ``now``
is the instant, and commits that transaction once the instant has come. Nothing is visible or
published before the instant; the events' ``occurred_at`` is each due instant and
``recorded_at`` the instant the pass commits at. How far ahead is learned from the passes before
(the count due at the instant × the measured cost of one announcement), bounded by ``max_lead``.
Handlers run with ``tx.now`` = the instant, which may still be seconds ahead of the wall clock
while they run; and the center's chain head stays locked from the pass's first ledger event to
its commit (other writers of that center wait that long).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine

from esupervision.models.clocks import timesource
from esupervision.models.cases.case import Case, Step
from esupervision.models.counties.link import CountyChain
from esupervision.models.cases.casework import deem_accepted
from esupervision.models.clocks.clock import (Clock, ClockRecord, SubjectType, light_name_at,
                                              next_announcement)
from esupervision.models.ledger.ledger import json_value
from esupervision.models.clocks.transitions import Transition, handlers_for, on_transition  # noqa: F401
from esupervision.models.ledger.transaction import Transaction, transaction

log = logging.getLogger(__name__)
LIGHT_LABELS = {"white": "白灯", "yellow": "黄灯", "red": "红灯"}


def _deem_accepted(tx: Transaction, transitions: list[Transition]) -> None:
    """An acceptance clock running out makes its case accepted by law (art. 32)."""
    for change in transitions:
        if change.light == "red" and change.number is not None:
            deem_accepted(tx, change.number)


on_transition(SubjectType.ACCEPTANCE, _deem_accepted)


_CLOCK = Clock.__table__  # type: ignore[attr-defined]
_STEP = Step.__table__  # type: ignore[attr-defined]
_CASE_OF_CLOCK = Case.__table__.alias("case_of_clock")  # type: ignore[attr-defined]
_CASE_OF_STEP = Case.__table__.alias("case_of_step")  # type: ignore[attr-defined]


def due_query(now: datetime, limit: int) -> Select[Any]:
    """The clocks due at ``now`` that no other scheduler holds, locked, earliest first, each with
    the number of its case (a case's own clock, its acceptance or legal limit, or one of its steps)."""
    subject_is_case = _CLOCK.c.subject_type.in_([SubjectType.CASE.value, SubjectType.ACCEPTANCE.value,
                                                 SubjectType.LEGAL_LIMIT.value])
    subjects = (_CLOCK
                .outerjoin(_CASE_OF_CLOCK, and_(subject_is_case, _CASE_OF_CLOCK.c.id == _CLOCK.c.subject_id))
                .outerjoin(_STEP, and_(_CLOCK.c.subject_type == SubjectType.STEP.value,
                                       _STEP.c.id == _CLOCK.c.subject_id))
                .outerjoin(_CASE_OF_STEP, _CASE_OF_STEP.c.id == _STEP.c.case_id))
    number = func.coalesce(_CASE_OF_CLOCK.c.number, _CASE_OF_STEP.c.number)
    return (select(*_CLOCK.c, number.label("case_number__")).select_from(subjects)
            .where(_CLOCK.c.next_announce_at <= now,
                   # A replicated county's clocks are announced by the county; its light events come in the replica.
                   _CLOCK.c.center_id.not_in(select(CountyChain.center_id)))
            .order_by(_CLOCK.c.next_announce_at)
            .limit(limit).with_for_update(skip_locked=True, of=_CLOCK))


def _claim_due(tx: Transaction, limit: int) -> list[tuple[Any, str | None]]:
    claimed = []
    for row in tx.session.execute(due_query(tx.now, limit)).mappings():
        values = dict(row)
        case_number = values.pop("case_number__")
        claimed.append((ClockRecord(**values), case_number))
    return claimed


def _mark_announced(tx: Transaction, marks: dict[tuple[str, datetime | None], list[uuid.UUID]]) -> None:
    """Write what was announced: one UPDATE per (light, next instant); a midnight's clocks share
    a handful of them, since deadlines fall on local midnights."""
    postgres = tx.session.get_bind().dialect.name == "postgresql"
    size = 10_000 if postgres else 500
    for (light, next_at), ids in marks.items():
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            # One array parameter on PostgreSQL: a long IN list costs more to send than to run.
            match = (_CLOCK.c.id == any_(bindparam("ids", chunk, type_=ARRAY(_CLOCK.c.id.type))) if postgres
                     else _CLOCK.c.id.in_(chunk))
            tx.session.execute(update(_CLOCK).where(match)
                               .values(announced_light=light, next_announce_at=next_at))


def announce_due(tx: Transaction, *, limit: int = 500) -> int:
    """Announce every clock whose next transition is due at ``tx.now``; returns how many.

    Each announcement is a ledger event and a ``light.changed`` message after commit; then the
    handlers registered with ``on_transition`` act on them (an acceptance clock running out makes
    its case accepted by law, art. 32).
    """
    tx.session.flush()   # the caller's pending changes first: the query below is not the ORM's
    # Plain records, not ORM objects: a midnight brings tens of thousands of transitions at once.
    due = _claim_due(tx, limit)
    if not due:
        return 0
    marks: dict[tuple[str, datetime | None], list[uuid.UUID]] = {}
    said: list[tuple[Any, str, str | None, str | None, datetime | None, dict[str, Any]]] = []
    for clock, number in due:
        light = light_name_at(clock, tx.now)
        due_instant = clock.red_at if light == "red" else clock.yellow_at
        previous = clock.announced_light
        clock.announced_light = light
        clock.next_announce_at = next_announcement(clock)
        marks.setdefault((light, clock.next_announce_at), []).append(clock.id)
        if light == previous:   # moved by a recomputation; nothing new to say
            continue
        message: dict[str, Any] = {
            "clock_id": str(clock.id), "subject_type": clock.subject_type,
            "subject_id": str(clock.subject_id), "light": light, "previous": previous,
            "label": LIGHT_LABELS[light], "due_instant": due_instant,
            "center_id": str(clock.center_id),
            "department_id": str(clock.department_id) if clock.department_id else None,
            "window_id": str(clock.window_id) if clock.window_id else None,
            "number": number,
        }
        said.append((clock, light, previous, number, due_instant, message))
    # The clocks first, the ledger last: appending locks the center's chain until commit, and a
    # prepared pass (``announce_at``) holds it until its instant; keep that stretch short.
    _mark_announced(tx, marks)
    transitions: dict[str, list[Transition]] = {}
    for clock, light, previous, number, due_instant, message in said:
        change = {"table": "clock", "id": str(clock.id),
                  "set": {"announced_light": light, "next_announce_at": json_value(clock.next_announce_at)}}
        event = tx.ledger.append(center_id=clock.center_id, kind=f"light.{light}",
                                 subject_type=clock.subject_type, subject_id=clock.subject_id,
                                 occurred_at=due_instant or tx.now, recorded_at=tx.now,
                                 data=message, changes=[change], actor="system:lights")
        tx.announce("light.changed", {**message,
                                      "due_instant": due_instant.isoformat() if due_instant else None,
                                      "announced_at": tx.now.isoformat()}, event)
        if handlers_for(clock.subject_type):
            transitions.setdefault(str(clock.subject_type), []).append(
                Transition(clock=clock, light=light, previous=previous, number=number, event=event))
    # ORM copies of these clocks (if a caller holds any) are stale now; nothing else is.
    for row in list(tx.session.identity_map.values()):
        if isinstance(row, Clock):
            tx.session.expire(row)
    # After the clocks above are written: handlers (the case set among them) read clocks afresh.
    for subject_type, changes in transitions.items():
        for handler in handlers_for(subject_type):
            handler(tx, changes)
    return len(due)


class _NotYet(Exception):
    """A prepared pass whose instant has not come: roll it back, announce nothing."""


def announce_at(engine: Engine, instant: datetime, *, until_instant: Callable[[datetime], bool],
                limit: int = 100_000) -> int:
    """Prepare the announcements due at ``instant`` before it comes, and commit them at it.

    One transaction with ``now`` = ``instant`` claims the clocks due by then (``SKIP LOCKED``:
    several schedulers still announce each transition once) and writes everything
    ``announce_due`` writes; then ``until_instant(instant)`` waits for the instant. The pass
    commits only when it returns true and the time source has reached ``instant``; otherwise it
    rolls back and nothing is announced. Returns how many clocks were announced.
    """
    try:
        with transaction(engine, now=instant, actor="system:lights") as tx:
            count = announce_due(tx, limit=limit)
            if count:
                tx.flush()   # ledger rows, handlers' changes, outbox: all written before the instant
                if not until_instant(instant) or timesource.now() < instant:
                    raise _NotYet
    except _NotYet:
        return 0
    return count


def due_count(engine: Engine, instant: datetime, cap: int) -> int:
    """How many announcements fall due by ``instant`` (at most ``cap``: an index range count)."""
    with engine.connect() as connection:
        due = (select(_CLOCK.c.id).where(_CLOCK.c.next_announce_at <= instant,
                                         _CLOCK.c.center_id.not_in(select(CountyChain.center_id)))
               .limit(cap).subquery())
        return int(connection.scalar(select(func.count()).select_from(due)) or 0)


def next_due(engine: Engine) -> datetime | None:
    """The earliest pending announcement instant (one index probe)."""
    with transaction(engine) as tx:
        return tx.session.scalar(select(func.min(Clock.next_announce_at)).where(
            Clock.center_id.not_in(select(CountyChain.center_id))))


class LightScheduler:
    """Runs ``announce_due`` whenever something falls due, until stopped; an instant with many
    transitions is prepared ahead of it with ``announce_at`` and committed at it."""

    def __init__(self, engine: Engine, *, max_sleep: float = 0.5, batch: int = 500,
                 max_lead: float | None = None, prepared_batch: int = 100_000, ahead_from: int = 200) -> None:
        self.engine = engine
        self.max_sleep = max_sleep
        self.batch = batch
        # SQLite has one writer: a pass held open until its instant would stop every other write
        # meanwhile, so there passes run at their instant (lead 0).
        self.max_lead = (30.0 if engine.dialect.name == "postgresql" else 0.0) if max_lead is None else max_lead
        self.prepared_batch = prepared_batch
        # Fewer due at one instant than this are announced at the instant, several instants to a
        # pass when they crowd: one prepared transaction per instant would cost more than it saves.
        self.ahead_from = ahead_from
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.announced = 0
        # Seconds of preparation per announcement, learned from the prepared passes (a cautious
        # start: a busy machine prepared ~1,400 a second).
        self.cost = 0.001
        self._counted: tuple[datetime, float, int] | None = None
        self._prepared: datetime | None = None

    def wake(self) -> None:
        """Look again now (a clock was added or moved)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run_once(self) -> int:
        with transaction(self.engine, actor="system:lights") as tx:
            count = announce_due(tx, limit=self.batch)
        self.announced += count
        return count

    def lead(self, count: int) -> float:
        """Seconds before an instant with ``count`` announcements to start preparing its pass."""
        return min(self.max_lead, 0.2 + 1.5 * count * self.cost)

    def run_ahead(self, instant: datetime) -> int:
        """Prepare the pass of ``instant`` now and commit it at ``instant`` (see ``announce_at``)."""
        started = time.perf_counter()
        prepared: list[float] = []

        def until_instant(at: datetime) -> bool:
            prepared.append(time.perf_counter() - started)
            return self._wait_until(at)

        count = announce_at(self.engine, instant, until_instant=until_instant, limit=self.prepared_batch)
        if prepared and count >= 100:   # small passes measure their overhead, not their size
            self.cost = 0.5 * self.cost + 0.5 * prepared[0] / count
        self.announced += count
        return count

    def run(self) -> None:
        while not self._stop.is_set():
            wait = self.max_sleep
            try:
                claimed = self.run_once()
                if claimed >= self.batch:
                    continue
                upcoming = next_due(self.engine)
                wait = self._sleep_for(upcoming)
                if upcoming is not None and wait == 0 and upcoming > timesource.now():
                    if upcoming != self._prepared:
                        count = self.run_ahead(upcoming)
                        # Once per instant, unless it had more than one pass can hold.
                        self._prepared = upcoming if count < self.prepared_batch else None
                        continue
                    wait = self._seconds_until(upcoming)   # another scheduler holds it
                elif claimed == 0 and upcoming is not None and upcoming <= timesource.now():
                    wait = 0.02   # due but held by another transaction: do not spin
            except Exception:  # keep announcing after a database hiccup
                log.exception("light scheduler pass failed")
            self._wake.clear()
            self._wake.wait(min(self.max_sleep, wait))

    def _seconds_until(self, instant: datetime) -> float:
        speed = getattr(timesource._current, "speed", 1.0)
        return (instant - timesource.now()).total_seconds() / max(speed, 1e-9)

    def _sleep_for(self, upcoming: datetime | None) -> float:
        """Seconds to sleep before the next step: 0 when ``upcoming`` is due or its pass must be
        prepared now."""
        if upcoming is None:
            return self.max_sleep
        wait = self._seconds_until(upcoming)
        if wait <= 0:
            return 0.0
        # Counted only when there is time to prepare: a stream of close instants is not counted.
        if self.max_lead and 0.25 <= wait <= self.max_lead:
            count = self._count_due(upcoming)
            if count >= self.ahead_from:
                wait -= self.lead(count)
        return min(self.max_sleep, max(0.0, wait))

    def _count_due(self, instant: datetime) -> int:
        # Counted again every few seconds: clocks due at the instant may still be added.
        if self._counted is None or self._counted[0] != instant or time.monotonic() - self._counted[1] > 3:
            self._counted = (instant, time.monotonic(), due_count(self.engine, instant, self.prepared_batch))
        return self._counted[2]

    def _wait_until(self, instant: datetime) -> bool:
        """Sleep until the time source reaches ``instant``; false if stopped meanwhile."""
        while not self._stop.is_set():
            wait = self._seconds_until(instant)
            if wait <= 0:
                return True
            self._stop.wait(min(wait, self.max_sleep))
        return False

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="light-scheduler", daemon=True)
        thread.start()
        return thread
