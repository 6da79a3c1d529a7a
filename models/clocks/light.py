"""Lights: a pure function of a clock's stored instants, its state and the time asked about."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from esupervision.models.clocks.clock import Clock, ClockState, light_name_at


class Light(StrEnum):
    WHITE = "white"    # 白灯: within the limit
    YELLOW = "yellow"  # 黄灯: warning, the deadline is near
    RED = "red"        # 红灯: past the deadline


LIGHT_LABELS = {Light.WHITE: "白灯", Light.YELLOW: "黄灯", Light.RED: "红灯"}


@dataclass(frozen=True)
class LightReading:
    """The light of a clock at an instant, with what a user needs to read it."""

    light: Light
    paused: bool          # the clock is stopped (补正 or a special procedure); light as of the pause
    finished: bool        # finished clocks keep the light they finished with
    outcome: str | None   # early / on_time / overdue, once finished
    outcome_days: int | None


def light_at(clock: Clock, at: datetime) -> LightReading:
    """The light of ``clock`` at ``at``: red past ``red_at``, yellow past ``yellow_at``, else white.

    A paused clock shows the light it had when it paused. A finished one is red if it finished
    past its deadline (kept as history) and white otherwise: a warning means nothing once the
    work is done in time. Lights of a running clock only move white -> yellow -> red.
    """
    state = ClockState(clock.state)
    if state in (ClockState.FINISHED, ClockState.CANCELLED):
        end = clock.finished_at or at
        late = light_name_at(clock, min(at, end)) == "red"
        return LightReading(Light.RED if late else Light.WHITE, False, True, clock.outcome, clock.outcome_days)
    if state is ClockState.PAUSED:
        when = min(at, clock.paused_at) if clock.paused_at else at
        return LightReading(Light(light_name_at(clock, when)), True, False, None, None)
    return LightReading(Light(light_name_at(clock, at)), False, False, None, None)
