"""A clock in GraphQL: its deadline, yellow and red instants, pauses and the light now; the same
type for cases, steps, orders and every other clocked subject."""
from __future__ import annotations

from datetime import datetime

import strawberry

from esupervision.api.schema.common import Light, Outcome
from esupervision.models.clocks.clock import Clock
from esupervision.models.clocks.light import light_at


@strawberry.type(description="计时：期限、黄灯、红灯时刻与当前灯色")
class ClockInfo:
    started_at: datetime
    limit_days: int
    extended_days: int
    paused_days: int
    basis: str
    due_at: datetime | None
    yellow_at: datetime | None
    red_at: datetime | None
    provisional: bool = strawberry.field(description="期限所在年份尚无官方日历，按周末推算")
    light: Light
    paused: bool
    finished: bool
    outcome: Outcome | None
    outcome_days: int | None = strawberry.field(description="提前或超期的天数")
    finished_at: datetime | None

    @classmethod
    def from_row(cls, clock: Clock, now: datetime) -> "ClockInfo":
        reading = light_at(clock, now)
        return cls(started_at=clock.started_at, limit_days=clock.limit_days, extended_days=clock.extended_days,
                   paused_days=clock.paused_days, basis=clock.basis, due_at=clock.due_at,
                   yellow_at=clock.yellow_at, red_at=clock.red_at, provisional=clock.provisional,
                   light=Light(reading.light.value), paused=reading.paused, finished=reading.finished,
                   outcome=Outcome(clock.outcome) if clock.outcome else None,
                   outcome_days=clock.outcome_days, finished_at=clock.finished_at)
