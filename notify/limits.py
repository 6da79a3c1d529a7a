"""Limits people expect: per-recipient send rates per template, quiet hours for voice calls, and
a per-provider pace. Pure functions over instants and counts, plus one small token bucket."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from esupervision.models.notices.rates import WINDOWS, rate_hold  # noqa: F401  (per-recipient rates are the domain's)


@dataclass(frozen=True)
class Hold:
    """Not now: send at ``until``; or never, with ``drop`` (the error code says why)."""

    until: datetime | None
    code: str
    message: str
    drop: bool = False


def quiet_until(now: datetime, *, tz: str, quiet: tuple[int, int]) -> datetime | None:
    """The end of the quiet hours ``now`` falls in (local hours [start, end), across midnight),
    or None outside them."""
    start, end = quiet
    local = now.astimezone(ZoneInfo(tz))
    hour = local.hour
    inside = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not inside:
        return None
    morning = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return morning


class Pace:
    """At most ``rate`` sends a second in this process (a token bucket; 0 means no limit)."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst or max(1.0, rate)
        self._tokens = self.burst
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if self.rate <= 0:
            return
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            time.sleep(wait)
