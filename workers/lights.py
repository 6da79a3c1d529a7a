"""The light-transition scheduler: announces each light change when it falls due.

It never scans clocks: it asks the index for the earliest ``next_announce_at``, sleeps until then
(at most ``max_sleep``, so clocks added meanwhile are seen), and claims due rows with
``FOR UPDATE SKIP LOCKED`` so several schedulers can share the work on PostgreSQL.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine

from esupervision.models import timesource
from esupervision.models.case import Case, Step
from esupervision.models.casework import deem_accepted
from esupervision.models.clock import (Clock, ClockRecord, SubjectType, light_name_at,
                                       next_announcement)
from esupervision.models.ledger import json_value
from esupervision.models.transaction import Transaction, transaction

log = logging.getLogger(__name__)
LIGHT_LABELS = {"white": "白灯", "yellow": "黄灯", "red": "红灯"}


@dataclass(frozen=True)
class Transition:
    """One announced light change, as handed to the handlers registered for its subject type."""

    clock: Any            # a ClockRecord (plain values, not an ORM object)
    light: str
    previous: str | None
    number: str | None    # the case number when the clock belongs to a case, its step or acceptance
    event: Any            # the ledger event that announced it


TransitionHandler = Callable[[Transaction, list[Transition]], None]
_handlers: dict[str, list[TransitionHandler]] = {}


def on_transition(subject_type: str, handler: TransitionHandler) -> None:
    """Run ``handler`` in the scheduler's transaction, after the clocks of a pass are written,
    with that pass's transitions of ``subject_type`` (order escalation, automatic urges, deemed
    ratings ...). Registering the same handler twice keeps one."""
    handlers = _handlers.setdefault(str(subject_type), [])
    if handler not in handlers:
        handlers.append(handler)


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
    the number of its case (a case's own clock, its acceptance, or one of its steps)."""
    subject_is_case = _CLOCK.c.subject_type.in_([SubjectType.CASE.value, SubjectType.ACCEPTANCE.value])
    subjects = (_CLOCK
                .outerjoin(_CASE_OF_CLOCK, and_(subject_is_case, _CASE_OF_CLOCK.c.id == _CLOCK.c.subject_id))
                .outerjoin(_STEP, and_(_CLOCK.c.subject_type == SubjectType.STEP.value,
                                       _STEP.c.id == _CLOCK.c.subject_id))
                .outerjoin(_CASE_OF_STEP, _CASE_OF_STEP.c.id == _STEP.c.case_id))
    number = func.coalesce(_CASE_OF_CLOCK.c.number, _CASE_OF_STEP.c.number)
    return (select(*_CLOCK.c, number.label("case_number__")).select_from(subjects)
            .where(_CLOCK.c.next_announce_at <= now).order_by(_CLOCK.c.next_announce_at)
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
    transitions: dict[str, list[Transition]] = {}
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
        change = {"table": "clock", "id": str(clock.id),
                  "set": {"announced_light": light, "next_announce_at": json_value(clock.next_announce_at)}}
        event = tx.ledger.append(center_id=clock.center_id, kind=f"light.{light}",
                                 subject_type=clock.subject_type, subject_id=clock.subject_id,
                                 occurred_at=due_instant or tx.now, recorded_at=tx.now,
                                 data=message, changes=[change], actor="system:lights")
        tx.announce("light.changed", {**message,
                                      "due_instant": due_instant.isoformat() if due_instant else None,
                                      "announced_at": tx.now.isoformat()}, event)
        if str(clock.subject_type) in _handlers:
            transitions.setdefault(str(clock.subject_type), []).append(
                Transition(clock=clock, light=light, previous=previous, number=number, event=event))
    _mark_announced(tx, marks)
    # ORM copies of these clocks (if a caller holds any) are stale now; nothing else is.
    for row in list(tx.session.identity_map.values()):
        if isinstance(row, Clock):
            tx.session.expire(row)
    # After the clocks above are written: handlers (the case set among them) read clocks afresh.
    for subject_type, changes in transitions.items():
        for handler in _handlers[subject_type]:
            handler(tx, changes)
    return len(due)


def next_due(engine: Engine) -> datetime | None:
    """The earliest pending announcement instant (one index probe)."""
    with transaction(engine) as tx:
        return tx.session.scalar(select(func.min(Clock.next_announce_at)))


class LightScheduler:
    """Runs ``announce_due`` whenever something falls due, until stopped."""

    def __init__(self, engine: Engine, *, max_sleep: float = 0.5, batch: int = 500) -> None:
        self.engine = engine
        self.max_sleep = max_sleep
        self.batch = batch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.announced = 0

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

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once() >= self.batch:
                    continue
                upcoming = next_due(self.engine)
            except Exception:  # keep announcing after a database hiccup
                log.exception("light scheduler pass failed")
                upcoming = None
            self._wake.clear()
            self._wake.wait(self._sleep_for(upcoming))

    def _sleep_for(self, upcoming: datetime | None) -> float:
        if upcoming is None:
            return self.max_sleep
        speed = getattr(timesource._current, "speed", 1.0)
        wait = (upcoming - timesource.now()).total_seconds() / max(speed, 1e-9)
        return min(self.max_sleep, max(0.0, wait))

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="light-scheduler", daemon=True)
        thread.start()
        return thread
