"""A unit of work: one database transaction, its ledger, its instant and what to announce after
commit. Every service function takes one, so a change and its ledger event commit together."""
from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.clocks import tally
from esupervision.models.clocks import timesource
from esupervision.models.base import utc
from esupervision.models.catalogue.catalogue import Center, center_ancestors
from esupervision.models.clocks.calendar import WorkCalendar, calendar_for
from esupervision.models.ledger.ledger import Ledger, LedgerEvent
from esupervision.settings import Settings, get_settings

log = logging.getLogger(__name__)
Announcement = tuple[str, dict[str, Any], "LedgerEvent | None"]


class Transaction:
    def __init__(self, session: Session, *, now: datetime | None = None, actor: str | None = None,
                 settings: Settings | None = None) -> None:
        self.session = session
        self.settings = settings or get_settings()
        self.now = utc(now or timesource.now())
        self.actor = actor
        self.ledger = Ledger(session)
        self.announcements: list[Announcement] = []
        self._calendars: dict[uuid.UUID | None, WorkCalendar] = {}
        # Per-transaction lookups of the catalogue (items, departments ...), filled on demand.
        self.cache: dict[Any, Any] = {}
        self._before_flush: list[Callable[[], None]] = []
        # Changes to the light tally, written last in each flush (see ``count_lights``).
        self._light_deltas: Counter = Counter()

    def on_flush(self, writer: Callable[[], None]) -> None:
        """Run ``writer`` (once) at the next ``flush``, before the ledger is written."""
        self._before_flush.append(writer)

    def flush(self) -> None:
        """Write everything buffered: projection rows, the ledger events, then what listeners
        derive from those events (outbox notices), and last the light tally's changes — all in
        this one transaction."""
        writers, self._before_flush = self._before_flush, []
        for writer in writers:
            writer()
        appended = self.ledger.pending()
        self.ledger.flush()
        for listener in _event_listeners:
            listener(self, appended)
        if self._light_deltas:
            deltas, self._light_deltas = self._light_deltas, Counter()
            tally.apply(self.session, deltas)
        self.session.flush()

    def count_lights(self, deltas: Counter) -> None:
        """Add changes to the light tally (``tally.add_change``), written at the end of the next
        ``flush``. Every writer of a department updates the same few tally rows, and each holds
        their locks until it commits: taken last, they are held for the commit alone, so
        concurrent writers do not queue behind each other's whole flush."""
        self._light_deltas.update(deltas)

    def calendar(self, center_id: uuid.UUID | None) -> WorkCalendar:
        """The working-day calendar of a center: official data, loaded years, local overrides."""
        cal = self._calendars.get(center_id)
        if cal is None:
            ancestors: list[uuid.UUID] = []
            if center_id is not None:
                center = self.session.get(Center, center_id)
                ancestors = center_ancestors(self.session, center) if center else []
            cal = calendar_for(self.session, center_id, ancestors)
            self._calendars[center_id] = cal
        return cal

    def announce(self, topic: str, message: dict[str, Any], event: LedgerEvent | None = None) -> None:
        """Publish ``message`` on the internal channel once this transaction has committed; with
        ``event``, the message carries that ledger event's id (known only once written)."""
        self.announcements.append((topic, message, event))

    def published(self) -> list[tuple[str, dict[str, Any]]]:
        return [(topic, {**message, "ledger_id": event.id} if event is not None else message)
                for topic, message, event in self.announcements]


_publisher: Callable[[str, dict[str, Any]], None] | None = None
EventListener = Callable[["Transaction", list[Any]], None]
_event_listeners: list[EventListener] = []


def add_event_listener(listener: EventListener) -> None:
    """Call ``listener(tx, events)`` with the ledger events each flush writes, inside the same
    transaction (so what it writes, e.g. outbox notices, commits or rolls back with them)."""
    if listener not in _event_listeners:
        _event_listeners.append(listener)


def remove_event_listener(listener: EventListener) -> None:
    if listener in _event_listeners:
        _event_listeners.remove(listener)


def set_publisher(publish: Callable[[str, dict[str, Any]], None] | None) -> None:
    """Where committed announcements go (the internal channel); None drops them."""
    global _publisher
    _publisher = publish


@contextmanager
def transaction(engine: Engine | None = None, *, now: datetime | None = None,
                actor: str | None = None) -> Iterator[Transaction]:
    """Commit on success, roll back on any error; announce only what committed."""
    from esupervision.db import get_engine

    with Session(engine or get_engine(), expire_on_commit=False) as session:
        tx = Transaction(session, now=now, actor=actor)
        try:
            yield tx
            tx.flush()
            session.commit()
        except BaseException:
            session.rollback()
            raise
    if _publisher is not None:
        for topic, message in tx.published():
            try:
                _publisher(topic, message)
            except Exception:
                # Committed is committed: the caller's answer must say so, whatever the channel.
                # Nothing is retried here; live subscribers catch up from the ledger by their
                # cursor (the channel tells its listeners to resync), the outbox relay polls.
                log.warning("committed, not announced on %s (channel down): subscribers catch up "
                            "from the ledger", topic, exc_info=True)
