"""The clocks one change starts, moves or finishes, kept with their light-tally contributions so
the tally moves with them in the same transaction.

Every clocked subject built on the core (complaints, follow-ups, supervision orders, rule timers)
does the same bookkeeping: note each clock's contribution (``tally.contribution``) when the change
first takes hold of it, change the clock, then write the difference with ``settle``. The batch
paths (``casework``, rating windows, tenders) keep their own, cheaper, bookkeeping over records.
"""
from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from esupervision.models.clocks import tally
from esupervision.models.clocks.clock import Basis, Clock, ClockState, WarningRule, finish_clock, start_clock

if TYPE_CHECKING:
    from esupervision.models.ledger.transaction import Transaction


class ClockBook:
    """The clocks of one change and their tally contributions as the change found them."""

    def __init__(self, tx: "Transaction") -> None:
        self.tx = tx
        self.clocks: dict[uuid.UUID, Clock] = {}
        self.before: dict[uuid.UUID, Any] = {}

    def start(self, *, center_id: uuid.UUID, subject_type: Any, subject_id: uuid.UUID, limit_days: int,
              basis: Basis = Basis.WORKING, rule: WarningRule = WarningRule(),
              department_id: uuid.UUID | None = None, window_id: uuid.UUID | None = None,
              started_at: datetime | None = None) -> Clock:
        """A new running clock from ``started_at`` (default ``tx.now``), added to the session."""
        record = start_clock(self.tx.calendar(center_id), center_id=center_id, subject_type=subject_type,
                             subject_id=subject_id, started_at=started_at or self.tx.now, limit_days=limit_days,
                             basis=basis, rule=rule, department_id=department_id, window_id=window_id)
        clock = Clock(**{c.key: getattr(record, c.key) for c in Clock.__table__.columns})  # type: ignore[attr-defined]
        self.tx.session.add(clock)
        self.clocks[clock.id] = clock
        self.before[clock.id] = None
        return clock

    def track(self, clock: Clock) -> Clock:
        """Count an already loaded clock in this change (its contribution as it stands now)."""
        if clock.id not in self.clocks:
            self.clocks[clock.id] = clock
            self.before[clock.id] = tally.contribution(clock)
        return clock

    def get(self, clock_id: uuid.UUID | None) -> Clock | None:
        """An existing clock, locked for this change."""
        if clock_id is None:
            return None
        clock = self.clocks.get(clock_id)
        if clock is None:
            clock = self.tx.session.scalars(select(Clock).where(Clock.id == clock_id).with_for_update()).first()
            if clock is not None:
                self.track(clock)
        return clock

    def finish(self, clock: Clock | None, at: datetime | None = None, *, cancelled: bool = False) -> None:
        """Stop a clock that still runs (a finished one stays as it is), never before its start."""
        if clock is None or clock.state not in (ClockState.RUNNING.value, ClockState.PAUSED.value):
            return
        self.track(clock)
        finish_clock(clock, self.tx.calendar(clock.center_id), at=max(at or self.tx.now, clock.started_at),
                     cancelled=cancelled)

    def settle(self) -> None:
        """Flush the session and queue the light tally's changes for every clock touched."""
        self.tx.session.flush()
        deltas: Counter = Counter()
        for clock_id, before in self.before.items():
            tally.add_change(deltas, before, tally.contribution(self.clocks[clock_id]))
        self.tx.count_lights(deltas)
        self.before = {cid: tally.contribution(c) for cid, c in self.clocks.items()}
