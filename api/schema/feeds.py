"""Resumable feeds of every subscription: a message's cursor is its ledger id; a subscriber that
comes back with ``after`` gets what it missed from the ledger, then the live messages, each once."""
from __future__ import annotations

from collections import deque

from sqlalchemy import func, select

from esupervision.api.context import Context
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent


def parse_cursor(after: str | None) -> int | None:
    """The ledger id a cursor names; BAD_CURSOR unless it is a non-negative integer."""
    if after is None:
        return None
    text = after.strip()
    if not text.isdigit():
        raise DomainError(ErrorCode.BAD_CURSOR, f"无效的订阅游标 invalid cursor {after!r} (a ledger id)")
    return int(text)


class Delivered:
    """The ledger ids sent on one subscription, the most recent ``keep`` of them: a live message
    arrives at most moments after its ledger row could have been replayed, never 10,000 later."""

    def __init__(self, keep: int = 10_000) -> None:
        self._ids: set[int] = set()
        self._order: deque[int] = deque()
        self._keep = keep

    def __contains__(self, ledger_id: int) -> bool:
        return ledger_id in self._ids

    def add(self, ledger_id: int) -> None:
        self._ids.add(ledger_id)
        self._order.append(ledger_id)
        if len(self._order) > self._keep:
            self._ids.discard(self._order.popleft())

    def floor(self, default: int) -> int:
        """Where to replay from after a loss: the oldest id remembered."""
        return min(self._order, default=default)


async def latest_ledger_id(context: Context) -> int:
    """The newest ledger id: where a live feed starts when no cursor is given."""
    return await context.run(lambda s: s.scalar(select(func.max(LedgerEvent.id))) or 0)
