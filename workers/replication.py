"""The city pulls its county deployments (``models/counties/sync.py``) over HTTP: ``esv counties
sync`` once, ``esv worker`` and the embedded worker continuously, each county every
``ESV_COUNTY_PULL_INTERVAL_S``, backing off (doubling, at most a minute) while it does not
answer. Safe to run in several processes: each page is stored under its chain's row lock and a
page another puller stored is skipped by its seq."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.base import utc
from esupervision.models.clocks import timesource
from esupervision.models.counties.link import CountyLink
from esupervision.models.counties.sync import CountyUnreachable, PullResult, pull
from esupervision.settings import get_settings

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 60.0
PARALLEL_PULLS = 4


class HttpCounty:
    """``fetch`` for one county: GET its base URL + path, the service token as a bearer token."""

    def __init__(self, url: str, token: str | None, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def __call__(self, path: str, params: dict[str, Any]) -> Any:
        try:
            answer = self.client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise CountyUnreachable(f"{type(exc).__name__}: {exc}") from None
        if answer.status_code != 200:
            raise CountyUnreachable(f"HTTP {answer.status_code} on {path}: {answer.text[:200]}")
        try:
            return answer.json()
        except ValueError:
            raise CountyUnreachable(f"{path} answered no JSON") from None

    def close(self) -> None:
        self.client.close()


def sync_counties(engine: Engine, code: str | None = None) -> list[PullResult]:
    """One pull of every registered county (or of ``code``)."""
    with Session(engine) as session:
        query = select(CountyLink).order_by(CountyLink.code)
        if code is not None:
            query = query.where(CountyLink.code == code)
        links = list(session.scalars(query))
    results = []
    for link in links:
        fetch = HttpCounty(link.url, link.token)
        try:
            results.append(pull(engine, link.code, fetch))
        finally:
            fetch.close()
    return results


class Replicator:
    """Pulls every county on a thread until stopped."""

    def __init__(self, engine: Engine, interval: float | None = None) -> None:
        self.engine = engine
        self.interval = interval if interval is not None else get_settings().county_pull_interval_s
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def due(self) -> list[CountyLink]:
        """The counties to pull now: not diverged, past their back-off."""
        now = utc(timesource.now())
        with Session(self.engine) as session:
            links = list(session.scalars(select(CountyLink).where(CountyLink.diverged_at.is_(None))))
        due = []
        for link in links:
            wait = min(MAX_BACKOFF_S, self.interval * (2 ** min(link.failures, 8))) if link.failures else 0
            if link.last_attempt_at is None or (now - utc(link.last_attempt_at)).total_seconds() >= wait:
                due.append(link)
        return due

    def run(self) -> None:
        clients: dict[str, HttpCounty] = {}

        def pull_one(link: CountyLink) -> None:
            result = pull(self.engine, link.code, clients[link.code])
            if result.error:
                log.warning("county %s: %s", link.code, result.error)

        # Counties pulled side by side: most of a pull is waiting on the county's answer and on
        # the database, and one county slow to answer must not hold up the others' lag.
        with ThreadPoolExecutor(max_workers=PARALLEL_PULLS, thread_name_prefix="county-pull") as pool:
            while not self.stopped.is_set():
                try:
                    due = self.due()
                    for link in due:
                        if link.code not in clients:
                            clients[link.code] = HttpCounty(link.url, link.token)
                    for done in [pool.submit(pull_one, link) for link in due]:
                        error = done.exception()
                        if error is not None:
                            log.error("county replication failed", exc_info=error)
                except Exception:   # the database away for a moment: try again next round
                    log.exception("county replication round failed")
                self.stopped.wait(self.interval)
        for fetch in clients.values():
            fetch.close()

    def start_thread(self) -> Replicator:
        self.thread = threading.Thread(target=self.run, name="county-replication", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
