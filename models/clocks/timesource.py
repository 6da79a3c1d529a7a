"""The one injectable source of "now": tests fix it, the demo runs it faster (``--speed N``)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class TimeSource(Protocol):
    def now(self) -> datetime: ...


class SystemTime:
    """Real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedTime:
    """Time that moves only when a test moves it."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant.astimezone(timezone.utc)

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


class SpeedTime:
    """Time running ``speed`` times faster than the wall clock, from ``origin`` (default: now)."""

    def __init__(self, speed: float, origin: datetime | None = None) -> None:
        self.speed = speed
        self._origin = (origin or datetime.now(timezone.utc)).astimezone(timezone.utc)
        self._wall0 = time.monotonic()

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=(time.monotonic() - self._wall0) * self.speed)


_current: TimeSource = SystemTime()


def now() -> datetime:
    """The current instant from the installed time source."""
    return _current.now()


def install(source: TimeSource) -> TimeSource:
    """Install a time source for the process; returns the previous one."""
    global _current
    previous, _current = _current, source
    return previous
