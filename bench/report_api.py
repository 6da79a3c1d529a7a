"""Department systems' batches through the API: ``reportCaseEvents`` over HTTP to ``esv serve
--no-worker`` processes on PostgreSQL, against the same events through the service function in
as many processes (``bench/ingest.py``'s way): what GraphQL, HTTP and the API key add.

The events are ``bench/ingest.py``'s (cases × accept, two advances, complete, interleaved by time,
in batches of 500), dated in the hours before the run so that none is a late report: the API
records each at its arrival. ``--callers`` department-system feeds post at once, each its own
cases, one batch at a time (a feed waits for its answer before the next batch, as a real one
does), each batch on a new connection. Both runs start from a fresh database; after each, every
event must have been accepted, the ledger must verify and every case must be completed.

    python bench/report_api.py [--cases 2500] [--batch 500] [--processes 2] [--callers 2] [--no-record]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import orjson  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench.api import Servers, free_port  # noqa: E402
from bench.common import add_model_additions, command_line, fresh_postgres, record  # noqa: E402
from bench.ingest import check, events_for, run_workers  # noqa: E402
from esupervision.db import make_engine  # noqa: E402
from esupervision.models.cases.report import ReportedEvent  # noqa: E402
from tests.builders import build_city  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
MUTATION = ("mutation Report($events: [ReportedEventInput!]!) { reportCaseEvents(events: $events) "
            "{ sourceEventId status code message } }")


def prepare(url: str) -> str:
    """Schema at head (as ``esv serve`` expects), the tests' city, and an API key of the
    department whose item the events name; returns the key."""
    from esupervision.migrate import upgrade
    from esupervision.models.clocks import timesource
    from esupervision.models.access.apikey import create_api_key
    from esupervision.models.catalogue.catalogue import Department

    upgrade(url)
    add_model_additions(url)
    engine = make_engine(url)
    build_city(engine)
    with Session(engine) as s:
        market = s.scalars(select(Department).where(Department.code == "SCJ")).one()
        _, key = create_api_key(s, department=market, name="市场监管审批系统", now=timesource.now())
        s.commit()
    engine.dispose()
    return key


def as_input(ev: ReportedEvent) -> dict:
    """An event as the department system sends it (``ReportedEventInput``)."""
    body = {"sourceEventId": ev.source_event_id, "caseNumber": ev.case_number, "action": ev.action.name,
            "occurredAt": ev.occurred_at.isoformat()}
    for field, name in (("item_code", "itemCode"), ("center_code", "centerCode"), ("window_code", "windowCode"),
                        ("applicant_name", "applicantName")):
        if getattr(ev, field):
            body[name] = getattr(ev, field)
    if ev.attributes:
        body["attributes"] = ev.attributes
    return body


def streams_of(events: list[ReportedEvent], n: int) -> list[list[ReportedEvent]]:
    """Each case wholly in one stream, each stream in time order (as ``run_workers`` splits)."""
    by_case: dict[str, int] = {}
    streams: list[list[ReportedEvent]] = [[] for _ in range(n)]
    for ev in events:
        streams[by_case.setdefault(ev.case_number, len(by_case) % n)].append(ev)
    return streams


async def feed(client: httpx.AsyncClient, endpoint: str, key: str, stream: list[ReportedEvent],
               batch: int) -> tuple[int, int]:
    """Post one feed's batches one after the other; returns (accepted, not accepted)."""
    accepted = other = 0
    headers = {"Authorization": f"ApiKey {key}", "Content-Type": "application/json"}
    for start in range(0, len(stream), batch):
        body = orjson.dumps({"query": MUTATION,
                             "variables": {"events": [as_input(e) for e in stream[start:start + batch]]}})
        response = await client.post(endpoint, content=body, headers=headers)
        answer = response.json()
        if response.status_code != 200 or answer.get("errors"):
            raise SystemExit(f"batch refused: HTTP {response.status_code} {response.text[:500]}")
        results = answer["data"]["reportCaseEvents"]
        accepted += sum(r["status"] == "accepted" for r in results)
        other += sum(r["status"] != "accepted" for r in results)
    return accepted, other


async def through_api(port: int, key: str, streams: list[list[ReportedEvent]], batch: int) -> tuple[float, int, int]:
    endpoint = f"http://127.0.0.1:{port}/graphql"
    # A connection per batch: the API processes share one listening socket, and a kept-alive
    # connection stays with the process that accepted it, so two feeds on two kept connections
    # land on one process half the time (measured: 2,264-2,737 events/s against 4,475-4,833).
    async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        t0 = time.perf_counter()
        done = await asyncio.gather(*(feed(client, endpoint, key, s, batch) for s in streams))
        wall = time.perf_counter() - t0
    return wall, sum(d[0] for d in done), sum(d[1] for d in done)


def check_source(engine) -> str:  # noqa: ANN001
    """The ledger source the API gave the department system's events (``dept:<department id>``)."""
    from sqlalchemy import func

    from esupervision.models.ledger.ledger import LedgerEvent
    with Session(engine) as s:
        sources = s.execute(select(LedgerEvent.source, func.count()).where(LedgerEvent.source.like("dept:%"))
                            .group_by(LedgerEvent.source)).all()
    if len(sources) != 1:
        raise SystemExit(f"expected one department source in the ledger, found {sources}")
    return sources[0][0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2500)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--processes", type=int, default=2, help="API processes (esv serve --workers N)")
    parser.add_argument("--callers", type=int, default=2, help="department-system feeds posting at once")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    now = datetime.now(SH).replace(microsecond=0)
    # Every event in the hours before now, none in the future: 1 s between cases, 3 h per case.
    start = now - timedelta(hours=3, seconds=args.cases + 600)
    events = events_for(args.cases, start)
    n = len(events)

    with fresh_postgres() as url:
        key = prepare(url)
        log = Path(tempfile.mkdtemp(prefix="esv-report-api-")) / "serve.log"
        port = free_port()
        servers = Servers(url, port, log, compiled=True, processes=args.processes)
        try:
            load_before = os.getloadavg()
            api_s, api_accepted, api_other = asyncio.run(
                through_api(port, key, streams_of(events, args.callers), args.batch))
            load_after = os.getloadavg()
        finally:
            servers.stop()
        engine = make_engine(url)
        api_source = check_source(engine)
        check(engine, args.cases, n, source=api_source)
        engine.dispose()
    if api_accepted != n:
        raise SystemExit(f"through the API {api_accepted} of {n} events accepted ({api_other} not)")

    with fresh_postgres() as url:
        prepare(url)
        work = SimpleNamespace(workers=args.callers, batch=args.batch, timely=False)
        service_s, service_cpu, pg_cpu, refused = run_workers(url, events, work, now)
        engine = make_engine(url)
        check(engine, args.cases, n)
        engine.dispose()
    if refused:
        raise SystemExit(f"the service function refused {refused} events")

    lines = [
        f"{n:,} events ({args.cases:,} cases × accept, 2 advances, complete) in batches of {args.batch}, "
        f"dated in the hours before the run (no late reports); {args.callers} department-system feeds at once, "
        f"each its own cases, each waiting for one answer before its next batch, each batch on a new "
        f"connection; every event accepted, ledger verified, every case completed, in both runs",
        f"**through the API**: `reportCaseEvents` over HTTP to {args.processes} `esv serve --no-worker` "
        f"processes, authenticated by a department's API key: {api_s:.2f} s = **{n / api_s:,.0f} events/s**",
        f"the service function itself, the same events in {args.callers} processes (`casework.ingest`, as "
        f"`bench/ingest.py`): {service_s:.2f} s = {n / service_s:,.0f} events/s (CPU of the processes "
        f"{service_cpu:.2f} s, of their PostgreSQL backends {pg_cpu:.2f} s)",
        f"ratio API / service function: {api_s / service_s:.2f}× the time",
        f"1-min load average {load_before[0]:.1f} before the API run, {load_after[0]:.1f} after "
        f"(2 cores; the feeds' client runs on the same machine)",
    ]
    record("reportCaseEvents through the API (PostgreSQL)", command_line(), lines, keep=not args.no_record)


if __name__ == "__main__":
    main()
