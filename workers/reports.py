"""The monthly job: publish every center's efficiency report for the month before today.

Safe to run any number of times (cron on the 1st, ``esv reports publish-monthly``, or the
``publish_monthly_reports`` actor retried by Dramatiq): a month already published for a center is
left as it was. Each center publishes in its own transaction, so one failing center does not hold
back the others.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import dramatiq
from dramatiq.broker import Broker
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.clocks import timesource
from esupervision.models.catalogue.catalogue import Center
from esupervision.models.clocks.clock import LOCAL_TZ, local_date
from esupervision.models.errors import DomainError
from esupervision.models.supervision.publication import previous_month, publish_report
from esupervision.models.ledger.transaction import transaction

log = logging.getLogger(__name__)
ACTOR = "reports:monthly"


@dataclass(frozen=True)
class MonthlyResult:
    center_code: str
    report_id: uuid.UUID | None
    created: bool
    notices: int = 0
    error: str | None = None


def run_monthly(engine: Engine, stop: threading.Event,
                on_published: Callable[[list[str]], None] | None = None) -> None:
    """Publish last month's reports now, then sleep to each local month start (00:05) and again
    until ``stop`` is set; ``publish_monthly`` leaves a month already published as it was, so
    restarts are harmless."""
    while not stop.is_set():
        try:
            made = [r.center_code for r in publish_monthly(engine) if r.created]
            if made and on_published is not None:
                on_published(made)
        except Exception:   # a bad month must not stop the worker; the next start retries
            log.exception("monthly reports not published")
        next_month = (local_date(timesource.now()).replace(day=1) + timedelta(days=32)).replace(day=1)
        wake = datetime.combine(next_month, time(0, 5), LOCAL_TZ)
        stop.wait(max(1.0, (wake - timesource.now()).total_seconds()))


def start_monthly_thread(engine: Engine, on_published: Callable[[list[str]], None] | None = None) -> threading.Event:
    """``run_monthly`` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_monthly, args=(engine, stop, on_published), name="monthly-reports",
                     daemon=True).start()
    return stop


def publish_monthly(engine: Engine, *, today: date | None = None,
                    center_codes: list[str] | None = None) -> list[MonthlyResult]:
    """Publish last month's report of every center (or of ``center_codes``); one result each."""
    today = today or local_date(timesource.now())
    period_from, period_to = previous_month(today)
    with Session(engine) as session:
        query = select(Center.id, Center.code).order_by(Center.code)
        if center_codes:
            query = query.where(Center.code.in_(center_codes))
        centers = list(session.execute(query).all())
    results = []
    for center_id, code in centers:
        try:
            with transaction(engine, actor=ACTOR) as tx:
                done = publish_report(tx, center_id=center_id, period_from=period_from, period_to=period_to)
            results.append(MonthlyResult(code, done.report.id, done.created, done.notices))
        except DomainError as exc:
            log.warning("monthly report of %s not published: %s", code, exc)
            results.append(MonthlyResult(code, None, False, error=str(exc.code)))
    return results


def declare(broker: Broker, engine: Engine) -> dramatiq.Actor:
    """The ``publish_monthly_reports`` actor on ``broker`` (takes an optional ISO date as today)."""

    def publish_monthly_reports(today: str | None = None) -> None:
        publish_monthly(engine, today=date.fromisoformat(today) if today else None)

    return dramatiq.actor(publish_monthly_reports, actor_name="publish_monthly_reports", broker=broker,
                          queue_name="esv_reports", max_retries=3)
