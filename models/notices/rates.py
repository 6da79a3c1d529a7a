"""Per-recipient send rates: at most so many messages a minute, an hour and a day to one number.
Login codes (``models/access/login_code.py``) and the gateway both count by these windows."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

WINDOWS = (timedelta(minutes=1), timedelta(hours=1), timedelta(days=1))


def rate_hold(now: datetime, sent: Sequence[datetime], limits: Sequence[int]) -> datetime | None:
    """When the next message may go, given the instants earlier ones went (``sent``) and at most
    ``limits[i]`` per ``WINDOWS[i]`` (minute, hour, day; 0 means no limit); None: now."""
    until: datetime | None = None
    for window, limit in zip(WINDOWS, limits):
        if not limit:
            continue
        inside = sorted(t for t in sent if now - window < t <= now)
        if len(inside) >= limit:
            free_at = inside[len(inside) - limit] + window
            until = free_at if until is None else max(until, free_at)
    return until
