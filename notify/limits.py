"""Limits people expect: per-recipient send rates per template, the hours each category of notice
may go out in (and voice calls never at night), and a per-provider pace. Pure functions over
instants and counts, plus one small token bucket."""
from __future__ import annotations

import re
import threading
import time as clock
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from esupervision.models.notices.rates import WINDOWS, rate_hold  # noqa: F401  (per-recipient rates are the domain's)

# The setting ``notice_hours``: category -> "HH:MM-HH:MM" (every day) or "workdays HH:MM-HH:MM"
# (the center's working days); "voice" holds every call, whatever its category.
HOURS = re.compile(r"^\s*(?P<workdays>workdays\s+)?(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")
VOICE = "voice"
# A window that never opens within this many days (a calendar of rest days only) holds nothing.
HORIZON_DAYS = 400


@dataclass(frozen=True)
class Hold:
    """Not now: send at ``until``; or never, with ``drop`` (the error code says why)."""

    until: datetime | None
    code: str
    message: str
    drop: bool = False


@dataclass(frozen=True)
class Hours:
    """A daily window [start, end) in local time (past midnight when end ≤ start), on every day or
    on working days only (the day the window starts on)."""

    start: time
    end: time
    working_days: bool = False

    @classmethod
    def parse(cls, text: str) -> "Hours":
        """``"08:00-21:00"`` or ``"workdays 08:30-17:30"``; ValueError otherwise."""
        match = HOURS.match(text or "")
        if not match:
            raise ValueError(f"时段 {text!r} 应写作 08:00-21:00 或 workdays 08:30-17:30")
        start, end = (time.fromisoformat(match.group(k).zfill(5)) for k in ("start", "end"))
        return cls(start, end, bool(match.group("workdays")))

    def __str__(self) -> str:
        days = "工作日" if self.working_days else "每天"
        return f"{days}{self.start:%H:%M}-{self.end:%H:%M}"


def opens_at(now: datetime, hours: Hours, *, tz: str, is_working: Callable[[date], bool]) -> datetime | None:
    """None when ``now`` is inside the window; else the start of the next one."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    for offset in range(-1, HORIZON_DAYS):
        day = local.date() + timedelta(days=offset)
        if hours.working_days and not is_working(day):
            continue
        begin = datetime.combine(day, hours.start, zone)
        finish = datetime.combine(day + timedelta(days=hours.end <= hours.start), hours.end, zone)
        if local < begin:
            return begin
        if local < finish:
            return None
    return None


def send_at(now: datetime, *, category: str, channel: str, policy: Mapping[str, Hours], tz: str,
            is_working: Callable[[date], bool]) -> datetime | None:
    """When a notice of ``category`` on ``channel`` may go: None for now, else the first instant
    inside both its category's window and, for a call, the voice window (a category without
    hours goes at any time; a call still never at night)."""
    windows = [w for w in (policy.get(category), policy.get(VOICE) if channel == VOICE else None) if w]
    at = now
    for _ in range(2 * HORIZON_DAYS):   # each step moves to a later window start; both open at once soon
        later = next((t for t in (opens_at(at, w, tz=tz, is_working=is_working) for w in windows) if t), None)
        if later is None:
            return None if at == now else at
        at = later
    return None


def notice_hours(settings_hours: Mapping[str, str]) -> dict[str, Hours]:
    """The setting ``notice_hours`` parsed."""
    return {category: Hours.parse(text) for category, text in settings_hours.items()}


class Pace:
    """At most ``rate`` sends a second in this process (a token bucket; 0 means no limit)."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst or max(1.0, rate)
        self._tokens = self.burst
        self._at = clock.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if self.rate <= 0:
            return
        while True:
            with self._lock:
                now = clock.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            clock.sleep(wait)
