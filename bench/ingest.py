"""Ledger ingest through the service function on PostgreSQL, against a plain bulk insert.

Target (core issue): ≥ 5,000 events/s through ``casework.ingest``: 2,500 cases × accept, two
advances and complete, interleaved by time as department systems report them, in batches of 500
events per transaction, every one accepted. Baseline: the very ledger rows the service wrote
(same ids, documents and hashes), inserted into an empty ledger of a fresh database with one
executemany per batch in one transaction, best of three runs: no hashing, no checks, no projection.

After the timed run the ledger is verified (hash chain and signed checkpoints) and every case
must be completed, so a faster number cannot come from skipping work.

By default every batch is recorded at one instant weeks after the events (2026-11-26 09:00), so
the transaction listeners derive a late report and a "not handled through the system" fault for
every case (5,000 fault events on top of the 10,000). ``--timely`` records each batch a minute
after its last event, as a department system reporting as things happen: no such faults, and
each completion opens its rating window (2,500 evaluation requests) instead.

``--workers N`` (default 2, one per core of the 2-core machines we run on) sends the cases from
N processes at once (each case wholly in one, each its own batches), as the API's processes
(``esv serve --workers N``) take the batches of several department systems: one center, so
every batch still goes through the one hash chain. ``--workers 1`` measures one caller alone.

``--phones`` gives every applicant a mobile number, as department systems usually do: each
acceptance and completion then also queues an SMS notice to the applicant in the outbox.

    python bench/ingest.py [--cases 2500] [--batch 500] [--timely] [--workers 2] [--phones] [--no-record]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.common import command_line, create_schema, fresh_postgres, record  # noqa: E402
from esupervision.db import make_engine  # noqa: E402
from esupervision.models.cases.case import Case, CaseStatus  # noqa: E402
from esupervision.models.cases.casework import ingest  # noqa: E402
from esupervision.models.ledger.ledger import LedgerEvent, verify_ledger  # noqa: E402
from esupervision.models.notices.notice import Notice  # noqa: E402
from esupervision.models.cases.report import CaseAction, ReportedEvent  # noqa: E402
from esupervision.models.ledger.transaction import transaction  # noqa: E402
from esupervision.settings import get_settings  # noqa: E402
from tests.builders import build_city  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
SOURCE = "dept:bench"


def events_for(cases: int, start: datetime, phones: bool = False) -> list[ReportedEvent]:
    out: list[ReportedEvent] = []
    for n in range(cases):
        number, t = f"B{n:07d}", start + timedelta(seconds=n)
        applicant = {"applicant_phone": f"139{n:08d}"} if phones else {}
        out.append(ReportedEvent(f"{number}:0", number, CaseAction.ACCEPT, t, item_code="SCJ-001",
                                 center_code="C01", window_code="W01", applicant_name="王芳",
                                 attributes=applicant))
        out.append(ReportedEvent(f"{number}:1", number, CaseAction.ADVANCE, t + timedelta(hours=1)))
        out.append(ReportedEvent(f"{number}:2", number, CaseAction.ADVANCE, t + timedelta(hours=2)))
        out.append(ReportedEvent(f"{number}:3", number, CaseAction.COMPLETE, t + timedelta(hours=3),
                                 attributes={"result": "approved"}))
    # Department systems report as things happen: interleave cases, keep each case in order.
    out.sort(key=lambda e: (e.occurred_at, e.source_event_id))
    return out


def backend_cpu(engine) -> dict[int, float]:  # noqa: ANN001
    """CPU seconds (user + system) of each PostgreSQL backend serving this database, by pid
    (the server runs on this machine: read from /proc)."""
    with engine.connect() as c:
        pids = list(c.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))
    tick, out = os.sysconf("SC_CLK_TCK"), {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def check(engine, cases: int, events: int, source: str = SOURCE) -> None:  # noqa: ANN001
    """The run did all its work: every event on a verified chain, every case completed."""
    with Session(engine) as s:
        checked, breach = verify_ledger(s, get_settings().ledger_signing_key)
        if breach is not None:
            raise SystemExit(breach.describe())
        recorded = s.scalar(select(func.count()).select_from(LedgerEvent).where(LedgerEvent.source == source))
        completed = s.scalar(select(func.count()).select_from(Case).where(
            Case.status == CaseStatus.COMPLETED.value))
    if recorded != events or completed != cases:
        raise SystemExit(f"incomplete run: {recorded} of {events} events, {completed} of {cases} cases completed")


def ingest_stream(engine, events: list[ReportedEvent], args, now: datetime) -> int:  # noqa: ANN001
    """Send ``events`` through the service function in batches, one transaction each; returns
    how many were refused."""
    refused = 0
    for i in range(0, len(events), args.batch):
        batch = events[i:i + args.batch]
        at = batch[-1].occurred_at + timedelta(minutes=1) if args.timely else now
        with transaction(engine, now=at, actor="bench") as tx:
            refused += sum(o.status != "accepted" for o in ingest(tx, batch, source=SOURCE))
    return refused


def _worker(url: str, events: list[ReportedEvent], args, now: datetime, go, results) -> None:  # noqa: ANN001
    engine = make_engine(url)
    with engine.connect() as c:   # connected (and its session set up) before the clock starts
        pid = c.scalar(text("SELECT pg_backend_pid()"))
    before = backend_cpu(engine).get(pid, 0.0)
    go.wait()
    cpu0 = time.process_time()
    refused = ingest_stream(engine, events, args, now)
    results.put((time.process_time() - cpu0, backend_cpu(engine).get(pid, 0.0) - before, refused))
    engine.dispose()


def run_workers(url: str, events: list[ReportedEvent], args, now: datetime) -> tuple[float, float, float, int]:  # noqa: ANN001
    """The events split by case over ``args.workers`` processes started together; returns wall
    seconds until the last is done, their CPU, their PostgreSQL backends' CPU, refusals."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    go, results = context.Event(), context.Queue()
    by_case: dict[str, int] = {}
    streams = [[] for _ in range(args.workers)]
    for ev in events:   # each case wholly in one stream, each stream in time order
        streams[by_case.setdefault(ev.case_number, len(by_case) % args.workers)].append(ev)
    workers = [context.Process(target=_worker, args=(url, stream, args, now, go, results)) for stream in streams]
    for worker in workers:
        worker.start()
    time.sleep(2)   # every worker connected and waiting
    t0 = time.perf_counter()
    go.set()
    done = [results.get() for _ in workers]
    wall = time.perf_counter() - t0
    for worker in workers:
        worker.join()
        if worker.exitcode:
            raise SystemExit(f"a worker failed (exit code {worker.exitcode})")
    return wall, sum(d[0] for d in done), sum(d[1] for d in done), sum(d[2] for d in done)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2500)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--timely", action="store_true",
                        help="record each batch a minute after its last event (no late reports)")
    parser.add_argument("--no-record", action="store_true",
                        help="print the numbers without appending them to bench/RESULTS.md")
    parser.add_argument("--workers", type=int, default=2,
                        help="ingest from this many processes at once, each its own cases in its own "
                             "batches (one center, so one chain), as the API's processes do (default: "
                             "2, one per core here); 1 measures one caller alone")
    parser.add_argument("--phones", action="store_true",
                        help="applicants give a mobile number, so accepting and completing each case "
                             "queues an SMS to them (the outbox rows are written in the same transactions)")
    parser.add_argument("--profile", metavar="FILE",
                        help="write a cProfile of the timed run to FILE (the numbers then include its overhead)")
    args = parser.parse_args()
    if args.profile and args.workers != 1:
        parser.error("--profile profiles one process: add --workers 1")
    start = datetime(2026, 11, 2, 9, tzinfo=SH)
    now = datetime(2026, 11, 26, 9, tzinfo=SH)
    events = events_for(args.cases, start, args.phones)
    with fresh_postgres() as url:
        engine = make_engine(url)
        create_schema(engine)
        build_city(engine)
        if args.workers > 1:
            engine.dispose()
            load_before = os.getloadavg()
            service_s, service_cpu, pg_cpu, refused = run_workers(url, events, args, now)
            load_after = os.getloadavg()
        else:
            profiler = cProfile.Profile() if args.profile else None
            pg_before = backend_cpu(engine)
            load_before = os.getloadavg()
            t0, cpu0 = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            refused = ingest_stream(engine, events, args, now)
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
            service_s, service_cpu = time.perf_counter() - t0, time.process_time() - cpu0
            load_after = os.getloadavg()
            pg_after = backend_cpu(engine)
            pg_cpu = sum(t - pg_before.get(pid, 0.0) for pid, t in pg_after.items())
        check(engine, args.cases, len(events))
        with Session(engine) as s:
            derived = dict(s.execute(select(LedgerEvent.kind, func.count()).where(
                LedgerEvent.source.is_(None)).group_by(LedgerEvent.kind)).all())
        with Session(engine) as s:
            notices = s.scalar(select(func.count()).select_from(Notice))
        columns = [c.key for c in LedgerEvent.__table__.columns]  # type: ignore[attr-defined]
        with Session(engine) as s:
            rows = [dict(zip(columns, r, strict=True)) for r in s.execute(
                select(*LedgerEvent.__table__.columns).where(  # type: ignore[attr-defined]
                    LedgerEvent.source == SOURCE).order_by(LedgerEvent.id))]
        engine.dispose()
    # The baseline is the best of three runs, each into a fresh database: on a shared machine one
    # run of a fraction of a second swings by 2x (a checkpoint, another tenant), and the ratio
    # is meant to show what the service adds, not what the machine did in that second.
    plain_runs = []
    for _ in range(3):
        with fresh_postgres() as url:
            engine = make_engine(url)
            create_schema(engine)
            t0 = time.perf_counter()
            with engine.begin() as c:
                for i in range(0, len(rows), args.batch):
                    c.execute(insert(LedgerEvent), rows[i:i + args.batch])
            plain_runs.append(time.perf_counter() - t0)
            engine.dispose()
    plain_s = min(plain_runs)
    n = len(events)
    derived = {k: v for k, v in derived.items() if not k.startswith("catalogue.")}
    record("Ledger ingest through the service function (PostgreSQL)", command_line(), [
        f"{n} events ({args.cases} cases × accept, 2 advances, complete), batches of {args.batch} "
        f"per transaction, refused {refused}; ledger verified, every case completed"
        + (f"; {args.workers} worker processes at once, each its own cases" if args.workers > 1 else "")
        + ("; every applicant gave a mobile number (SMS notices queued in the outbox: "
           f"{notices:,})" if args.phones else ""),
        ("each batch recorded a minute after its last event (timely reports)" if args.timely else
         f"every batch recorded at {now.isoformat()} (weeks after the events: late reports)")
        + "; events the listeners added in the same transactions: "
        + (", ".join(f"{k} {v:,}" for k, v in sorted(derived.items())) or "none"),
        f"service function: {service_s:.2f} s = {n / service_s:,.0f} events/s (target ≥ 5,000); "
        f"CPU of the bench process{'es' if args.workers > 1 else ''} {service_cpu:.2f} s, "
        f"of {'their' if args.workers > 1 else 'its'} PostgreSQL backends {pg_cpu:.2f} s",
        f"plain bulk insert of the same ledger rows (executemany in one process, no hashing, no "
        f"checks, no projection), best of 3: {plain_s:.2f} s = {n / plain_s:,.0f} rows/s "
        f"(runs: {', '.join(f'{t:.2f}' for t in plain_runs)} s)",
        f"ratio service / plain: {service_s / plain_s:.1f}× slower",
        f"1-min load average {load_before[0]:.1f} before the timed run, {load_after[0]:.1f} after "
        f"(2 cores, shared with other work)",
    ], keep=not (args.no_record or args.profile))


if __name__ == "__main__":
    main()
