"""The light-transition scheduler: announces each light change when it falls due.

It never scans clocks: it asks the index for the earliest ``next_announce_at``, sleeps until then
(at most ``max_sleep``, so clocks added meanwhile are seen), and claims due rows with
``FOR UPDATE SKIP LOCKED`` so several schedulers can share the work on PostgreSQL.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from esupervision.models import timesource
from esupervision.models.case import Case, Step
from esupervision.models.casework import deem_accepted, row_change
from esupervision.models.clock import Clock, SubjectType, light_name_at, next_announcement
from esupervision.models.transaction import Transaction, transaction

log = logging.getLogger(__name__)
LIGHT_LABELS = {"white": "白灯", "yellow": "黄灯", "red": "红灯"}


def _case_of(tx: Transaction, clock: Clock) -> Case | None:
    if clock.subject_type in (SubjectType.CASE, SubjectType.ACCEPTANCE):
        return tx.session.get(Case, clock.subject_id)
    if clock.subject_type == SubjectType.STEP:
        step = tx.session.get(Step, clock.subject_id)
        return tx.session.get(Case, step.case_id) if step else None
    return None


def announce_due(tx: Transaction, *, limit: int = 500) -> int:
    """Announce every clock whose next transition is due at ``tx.now``; returns how many.

    Each announcement is a ledger event and a ``light.changed`` message after commit. An
    acceptance clock running out makes its case accepted by law (art. 32).
    """
    due = tx.session.scalars(
        select(Clock).where(Clock.next_announce_at <= tx.now)
        .order_by(Clock.next_announce_at).limit(limit).with_for_update(skip_locked=True)
    ).all()
    deemed: list[str] = []
    for clock in due:
        light = light_name_at(clock, tx.now)
        due_instant = clock.red_at if light == "red" else clock.yellow_at
        previous = clock.announced_light
        clock.announced_light = light
        clock.next_announce_at = next_announcement(clock)
        if light == previous:   # moved by a recomputation; nothing new to say
            continue
        case = _case_of(tx, clock)
        message: dict[str, Any] = {
            "clock_id": str(clock.id), "subject_type": clock.subject_type,
            "subject_id": str(clock.subject_id), "light": light, "previous": previous,
            "label": LIGHT_LABELS[light], "due_instant": due_instant,
            "center_id": str(clock.center_id),
            "department_id": str(clock.department_id) if clock.department_id else None,
            "window_id": str(clock.window_id) if clock.window_id else None,
            "number": case.number if case else None,
        }
        event = tx.ledger.append(center_id=clock.center_id, kind=f"light.{light}",
                                 subject_type=clock.subject_type, subject_id=clock.subject_id,
                                 occurred_at=due_instant or tx.now, recorded_at=tx.now,
                                 data=message, changes=[row_change(clock)], actor="system:lights")
        tx.announce("light.changed", {**message,
                                      "due_instant": due_instant.isoformat() if due_instant else None,
                                      "announced_at": tx.now.isoformat()}, event)
        if clock.subject_type == SubjectType.ACCEPTANCE and light == "red" and case is not None:
            deemed.append(case.number)
    # After the clocks above are written: the case set reads the acceptance clocks afresh.
    tx.session.flush()
    for number in deemed:
        deem_accepted(tx, number)
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
