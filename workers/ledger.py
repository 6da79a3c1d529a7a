"""The transparency log's two jobs in ``esv worker`` (and the embedded worker of ``esv serve``):

- ``HeadSigner``: every ``poll`` seconds it looks at the chains; a chain that grew is signed
  when its burst of commits has ended (no growth since the last look) or when its newest head is
  ``interval`` seconds old, so heads come at least every few seconds while events arrive and
  once more at the end of every burst. New heads go to the witness right after they commit.
- ``run_nightly``: at ``ESV_LEDGER_VERIFY_AT`` (local time) every night the whole ledger is
  verified against the witness with the public key, and the projections against the ledger;
  a breach is recorded at the witness first (outside the database), then told to the
  supervisors (SMS through the outbox, ``ledgerBreaches`` live).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.clocks import timesource
from esupervision.models.clocks.clock import LOCAL_TZ, local_date
from esupervision.models.ledger.audit import AuditReport, audit
from esupervision.models.ledger.checkpoint import Signer, Verifier, read_verifier
from esupervision.models.ledger.ledger import signer_from_settings
from esupervision.models.ledger.transaction import transaction
from esupervision.models.ledger.tree import chain_sizes, sign_heads, signed_sizes
from esupervision.models.supervision.ledger_breach import tell_supervisors
from esupervision.settings import Settings, get_settings
from esupervision.witness import Witness, publish_heads, witness_from_settings

log = logging.getLogger(__name__)
ACTOR = "system:ledger"


class HeadSigner:
    """Signs and publishes tree heads on a timer and at the end of each burst of commits."""

    def __init__(self, engine: Engine, witness: Witness, signer: Signer, *, interval: float = 5.0,
                 poll: float = 1.0) -> None:
        self.engine, self.witness, self.signer = engine, witness, signer
        self.interval, self.poll = interval, poll
        self._seen: dict[uuid.UUID, int] = {}
        self._signed_at: dict[uuid.UUID, float] = {}
        self._stop = threading.Event()
        self._caught_up = False
        self.signed = self.published = 0

    def tick(self) -> int:
        """One look: sign the chains that are due, publish what the witness lacks; returns heads signed."""
        clock = time.monotonic()
        with Session(self.engine) as session:
            sizes, signed = chain_sizes(session), signed_sizes(session)
        due = [center for center, size in sizes.items() if size > signed.get(center, 0) and (
            self._seen.get(center) == size                                   # the burst has ended
            or clock - self._signed_at.get(center, float("-inf")) >= self.interval)]
        self._seen = sizes
        made = 0
        if due:
            with Session(self.engine) as session:
                made = len(sign_heads(session, self.signer, now=timesource.now(), centers=due))
                session.commit()
            for center in due:
                self._signed_at[center] = clock
        self.signed += made
        # Every log at the first look (heads signed but not published before a restart), then the
        # ones signed here.
        centers = due if self._caught_up else list(sizes)
        if centers:
            self.published += publish_heads(self.engine, self.witness, self.signer.name, centers)
        self._caught_up = True
        return made

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:   # a database or witness hiccup must not stop the signing for good
                log.exception("tree heads not signed or published")
            self._stop.wait(self.poll)

    def stop(self) -> None:
        self._stop.set()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="ledger-heads", daemon=True)
        thread.start()
        return thread


def head_signer(engine: Engine, settings: Settings | None = None) -> HeadSigner:
    settings = settings or get_settings()
    return HeadSigner(engine, witness_from_settings(settings), signer_from_settings(),
                      interval=settings.ledger_head_interval_s)


def verifier_from_settings(settings: Settings | None = None) -> Verifier:
    """The public key file if one is set, else the key derived from the signing seed (a worker
    holds it anyway; ``esv ledger verify --public-key`` needs nothing secret)."""
    settings = settings or get_settings()
    if settings.ledger_public_key_file:
        with open(settings.ledger_public_key_file, encoding="utf-8") as fh:
            return read_verifier(fh.read(), settings.ledger_log_name)
    return signer_from_settings().verifier()


def check_and_alert(engine: Engine, witness: Witness, verifier: Verifier,
                    projections: bool = True) -> AuditReport:
    """Verify everything; on a breach record it at the witness, then tell the supervisors."""
    with Session(engine) as session:
        report = audit(session, verifier, witness=witness, projections=projections)
    if report.intact:
        return report
    now = timesource.now()
    record = witness.record_breach("\n".join([f"# {now.isoformat()} esv ledger verify", *report.lines()]) + "\n", now)
    with transaction(engine, actor=ACTOR, now=now) as tx:
        tell_supervisors(tx, report, record)
    log.error("ledger breach: %s", "; ".join(report.lines()[:5]))
    return report


def _next_run(at: str, now: datetime) -> datetime:
    hour, minute = (int(part) for part in at.split(":"))
    today = local_date(now)
    run = datetime(today.year, today.month, today.day, hour, minute, tzinfo=LOCAL_TZ)
    return run if run > now else run + timedelta(days=1)


def run_nightly(engine: Engine, stop: threading.Event,
                on_breach: Callable[[AuditReport], None] | None = None) -> None:
    """Sleep to each night's check and run it, until ``stop`` is set."""
    settings = get_settings()
    while not stop.is_set():
        wake = _next_run(settings.ledger_verify_at, timesource.now())
        if stop.wait(max(1.0, (wake - timesource.now()).total_seconds())):
            return
        try:
            report = check_and_alert(engine, witness_from_settings(settings), verifier_from_settings(settings))
            if not report.intact and on_breach is not None:
                on_breach(report)
        except Exception:
            log.exception("the nightly ledger check did not run")


def start_ledger_threads(engine: Engine, on_breach: Callable[[AuditReport], None] | None = None
                         ) -> tuple[HeadSigner, threading.Event]:
    """The head signer and the nightly check in daemon threads; stop with ``signer.stop()`` and
    by setting the returned event."""
    signer = head_signer(engine)
    signer.start_thread()
    stop = threading.Event()
    threading.Thread(target=run_nightly, args=(engine, stop, on_breach), name="ledger-nightly", daemon=True).start()
    return signer, stop
