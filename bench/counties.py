"""County deployments joined to the city (issue 17) on PostgreSQL: what replication costs, how far
behind the city runs, and what city-wide statistics cost over replicated counties.

Part 1, throughput. One county deployment (its own database) ingests ``--cases`` cases (accept,
advance, complete: 3 reported events each, as a department system reports them, batches of 500,
one process): the baseline, in ledger events/s. Its heads signed, the county is served by a
real ``esv serve --no-worker`` process, and the city (another database, this process) pulls it
over HTTP as ``esv counties sync`` does: every page checked against the signed head and its
consistency proof, stored and projected (cases, steps, clocks, tallies, statistics rows): ledger
events/s verified and projected, and the ratio to the county's own ingest of the same events.

Part 2, lag. ``--counties`` county databases, each with a writer reporting ``--rate`` case events
a second (a batch every 100 ms, or less often below 30/s; real time) and a head signer (a head every
``--head-interval`` seconds while events arrive, as ``esv worker`` signs them with
ESV_LEDGER_HEAD_INTERVAL_S), for ``--seconds``; writers and signers run in one other process.
The city pulls the counties in turn, without HTTP (the events route's own page document, built
on the county's database and passed through JSON), verifying and projecting as in part 1; one
county at a time as the worker's Replicator does, or ``--pullers`` at once. The
lag of an event is the time from its recording at the county to the commit that projects it at
the city: p50 / p99 / max over every event, against the target p99 <= 2 s.

Part 3, city-wide statistics. The city's ``statistics`` grouped by center over its replicated
counties (part 2's), against one deployment's database holding the same counties as centers of
its own with the same reported events ingested locally: median of 7, and the ratio.

    python bench/counties.py [--cases 2000] [--counties 10] [--rate 100] [--seconds 30]
                             [--head-interval 1] [--pullers 1] [--skip-part-one] [--no-record]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics as stats
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson
from esupervision.models.cases.report import CaseAction, ReportedEvent
from esupervision.models.catalogue.catalogue import (
    CenterLevel,
    ItemSpec,
    StepSpec,
    create_center,
    create_department,
    create_item,
    create_staff,
    create_window,
)
from esupervision.models.clocks import timesource
from esupervision.models.clocks.clock import local_date
from esupervision.models.ledger.ledger import LedgerEvent, signer_from_settings
from esupervision.models.ledger.transaction import transaction
from sqlalchemy import func, select
from sqlmodel import Session

from bench.common import command_line, create_schema, fresh_postgres, record
from esupervision.db import make_engine

TOKEN = "bench-replication-token-0123456789abcdef"
BATCH = 500


def county_code(n: int) -> str:
    return f"BX{n:02d}"


def build_county(engine: Any, code: str) -> None:
    """A county's catalogue: its center, a township, one department with a window and staff, an item."""
    with transaction(engine, actor="bench") as tx:
        center = create_center(tx, code=code, name=f"{code}县行政服务中心", level=CenterLevel.COUNTY)
        create_center(tx, code=f"{code}-T1", name=f"{code}县城关镇便民服务中心", level=CenterLevel.TOWNSHIP,
                      parent_code=code)
        department = create_department(tx, center=center, code="SCJ", name=f"{code}县市场监督管理局")
        window = create_window(tx, center=center, department=department, code="W01", name="1号窗口")
        create_staff(tx, center=center, code="S01", name="王敏", department=department, window=window)
        create_item(tx, center=center, spec=ItemSpec(code="SCJ-001", name="食品经营许可", department_code="SCJ",
                                                     legal_days=20, committed_days=5,
                                                     steps=[StepSpec("受理", 1), StepSpec("审查", 4)]))


def case_events(code: str, first: int, count: int, at: datetime) -> list[ReportedEvent]:
    """Cases ``first`` .. ``first + count - 1`` of county ``code``: accepted, advanced, completed at ``at``."""
    out = []
    for n in range(first, first + count):
        number = f"{code}-{n:07d}"
        out.append(ReportedEvent(f"{number}:0", number, CaseAction.ACCEPT, at, item_code="SCJ-001", center_code=code,
                                 window_code="W01", applicant_name="王芳"))
        out.append(ReportedEvent(f"{number}:1", number, CaseAction.ADVANCE, at))
        out.append(ReportedEvent(f"{number}:2", number, CaseAction.COMPLETE, at, attributes={"result": "approved"}))
    return out


def ingest(engine: Any, events: list[ReportedEvent]) -> None:
    from esupervision.models.cases.casework import ingest as ingest_events
    for start in range(0, len(events), BATCH):
        with transaction(engine, actor="dept:bench") as tx:
            outcomes = ingest_events(tx, events[start:start + BATCH], source="dept:bench")
        refused = [o for o in outcomes if o.status == "refused"]
        if refused:
            raise SystemExit(f"refused: {refused[0].code} {refused[0].message}")


def ledger_size(engine: Any) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(LedgerEvent)) or 0


def sign(engine: Any) -> None:
    from esupervision.models.ledger.tree import sign_heads
    with Session(engine) as s:
        sign_heads(s, signer_from_settings(), now=timesource.now())
        s.commit()


def build_city(engine: Any) -> None:
    with transaction(engine, actor="bench") as tx:
        create_center(tx, code="C01", name="市行政服务中心", level=CenterLevel.CITY)


def register(engine: Any, code: str, url: str) -> None:
    from esupervision.models.counties.sync import register as register_county
    with transaction(engine, actor="bench") as tx:
        register_county(tx, code=code, url=url, public_key=signer_from_settings().verifier().text(), token=TOKEN)


class DirectCounty:
    """``fetch`` without HTTP: the county's own route documents, built on its database, through JSON."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def __call__(self, path: str, params: dict[str, Any]) -> Any:
        from esupervision.api.replication import events_page
        from esupervision.models.catalogue.catalogue import Center
        from esupervision.models.counties.replica import catalogue_document
        with Session(self.engine) as s:
            if path == "/replication/catalogue":
                document = catalogue_document(s)
            else:
                ref = path.split("/")[2]
                try:
                    center_id = uuid.UUID(ref)
                except ValueError:
                    center_id = s.scalar(select(Center.id).where(Center.code == ref))
                document = events_page(s, center_id, int(params.get("after", 0)), int(params.get("limit", 500)))
        return orjson.loads(orjson.dumps(document))


# ----------------------------------------------------------------------------- part 1

def part_one(cases: int) -> tuple[list[str], float]:
    from esupervision.models.counties.sync import pull
    from esupervision.workers.replication import HttpCounty

    from tests.servers import serving

    with fresh_postgres() as county_url, fresh_postgres() as city_url, tempfile.TemporaryDirectory() as folder:
        from esupervision import migrate
        migrate.upgrade(county_url)   # `esv serve` brings its database to head: built the same way
        county, city = make_engine(county_url), make_engine(city_url)
        create_schema(city)
        code = county_code(0)
        build_county(county, code)
        before = ledger_size(county)
        events = case_events(code, 1, cases, timesource.now() - timedelta(minutes=5))
        started = time.perf_counter()
        ingest(county, events)
        local_s = time.perf_counter() - started
        made = ledger_size(county) - before
        sign(county)
        total = ledger_size(county)
        build_city(city)
        with serving(county_url, Path(folder), "--no-worker",
                     env={"ESV_REPLICATION_TOKEN": TOKEN, "ESV_WEB_BUILD": "false"}) as server:
            register(city, code, server.url)
            fetch = HttpCounty(server.url, TOKEN, timeout=120)
            started = time.perf_counter()
            result = pull(city, code, fetch)
            pull_s = time.perf_counter() - started
            fetch.close()
        assert result.status == "live" and result.events == total, result
        county.dispose()
        city.dispose()
    local_rate, pull_rate = made / local_s, result.events / pull_s
    return [f"part 1, throughput: the county ingested {cases:,} cases ({len(events):,} reported events, {made:,} "
            f"ledger events) in {local_s:.1f} s = {local_rate:,.0f} ledger events/s (baseline); the city pulled "
            f"its {result.events:,} events over HTTP from `esv serve`, verified and projected them in {pull_s:.1f} s = "
            f"{pull_rate:,.0f} events/s: **{pull_rate / local_rate:.2f}×** the county's own ingest"], pull_rate / local_rate


# ----------------------------------------------------------------------------- part 2

def _writers(urls: list[str], rate: float, seconds: float, head_interval: float, ready: Any, done: Any) -> None:
    """In its own process: one writer thread and one head signer per county, for ``seconds``."""
    from esupervision.workers.ledger import HeadSigner

    from esupervision.witness import DirectoryWitness

    engines = [make_engine(url) for url in urls]
    stop = threading.Event()
    counts = [0] * len(urls)
    signers = []
    witness_root = Path(tempfile.mkdtemp(prefix="bench-witness-"))
    for n, engine in enumerate(engines):
        signer = HeadSigner(engine, DirectoryWitness(witness_root / str(n)), signer_from_settings(),
                            interval=head_interval, poll=min(0.25, head_interval / 4))
        signer.start_thread()
        signers.append(signer)

    def write(n: int) -> None:
        engine, code = engines[n], county_code(n)
        per_tick = max(1, round(rate / 3 / 10))   # cases (3 events each) per tick, a tick every ~100 ms
        period = 3 * per_tick / rate               # longer when the rate is below 30 events/s
        case = 1
        tick = time.monotonic()
        while not stop.is_set():
            ingest(engine, case_events(code, case, per_tick, timesource.now() - timedelta(seconds=1)))
            case += per_tick
            counts[n] += 3 * per_tick
            tick += period
            time.sleep(max(0.0, tick - time.monotonic()))

    threads = [threading.Thread(target=write, args=(n,), daemon=True) for n in range(len(urls))]
    ready.set()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    time.sleep(head_interval * 2)   # the last heads signed
    for signer in signers:
        signer.stop()
    done.put(counts)


def part_two(counties: int, rate: float, seconds: float, head_interval: float,
             pullers: int = 1) -> tuple[list[str], dict[str, Any]]:
    from esupervision.models.counties.link import CountyChain, CountyLink
    from esupervision.models.counties.sync import pull

    stack = ExitStack()
    urls = [stack.enter_context(fresh_postgres()) for _ in range(counties)]
    city_url = stack.enter_context(fresh_postgres())
    engines = [make_engine(url) for url in urls]
    for n, engine in enumerate(engines):
        create_schema(engine)
        build_county(engine, county_code(n))
        sign(engine)
    city = make_engine(city_url)
    create_schema(city)
    build_city(city)
    fetches = {}
    for n, engine in enumerate(engines):
        register(city, county_code(n), f"http://direct/{n}")
        fetches[county_code(n)] = DirectCounty(engine)
    for code, fetch in fetches.items():   # the catalogues, before the clock starts
        pull(city, code, fetch)
    context = multiprocessing.get_context("spawn")
    ready, done = context.Event(), context.Queue()
    writer = context.Process(target=_writers, args=(urls, rate, seconds, head_interval, ready, done))
    writer.start()
    ready.wait(120)
    lags: list[float] = []
    pulls = 0
    sizes: dict[uuid.UUID, int] = {}
    with Session(city) as s:
        link_of = {cid: code for cid, code in s.execute(select(CountyChain.center_id, CountyLink.code).join(
            CountyLink, CountyLink.id == CountyChain.county_id)).all()}

    lock = threading.Lock()

    def settle(code: str) -> None:
        nonlocal pulls
        pull(city, code, fetches[code])
        at = timesource.now()
        with lock:
            pulls += 1
        with Session(city) as s:
            for center_id, size in s.execute(select(CountyChain.center_id, CountyChain.size)).all():
                if link_of.get(center_id) != code or size <= sizes.get(center_id, 0):
                    continue
                recorded = s.scalars(select(LedgerEvent.recorded_at).where(
                    LedgerEvent.center_id == center_id, LedgerEvent.seq > sizes.get(center_id, 0),
                    LedgerEvent.seq <= size))
                lags.extend((at - r).total_seconds() for r in recorded)
                sizes[center_id] = size

    with Session(city) as s:   # what the catalogue pull already brought (nothing written yet)
        sizes.update(s.execute(select(CountyChain.center_id, CountyChain.size)).all())
    lags.clear()
    codes = list(fetches)

    def puller(mine: list[str]) -> None:
        while writer.is_alive() and done.empty():
            for code in mine:
                settle(code)

    # One puller goes round every county in turn, as the worker's Replicator does; more split them.
    threads = [threading.Thread(target=puller, args=(codes[k::pullers],)) for k in range(min(pullers, len(codes)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = done.get(timeout=120)
    writer.join(30)
    for code in fetches:    # the tail after the writers stopped
        settle(code)
    written = sum(counts)
    lags.sort()
    p = (lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]) if lags else (lambda q: float("nan"))
    p99 = p(0.99)
    line = (f"part 2, lag: {counties} counties × {rate:g} reported events/s asked for {seconds:g} s "
            f"({written:,} reported, {written / seconds / counties:,.0f}/s per county achieved; heads every "
            f"{head_interval:g} s), the city pulling them without HTTP, "
            f"{'in turn' if pullers == 1 else f'{min(pullers, counties)} at a time'} ({pulls} pulls): "
            f"{len(lags):,} ledger events projected, lag p50 {p(0.5):.2f} s, **p99 {p99:.2f} s**, max "
            f"{lags[-1] if lags else float('nan'):.2f} s (target p99 ≤ 2 s: {'met' if p99 <= 2 else 'not met'})")
    state = {"stack": stack, "city": city, "engines": engines, "counts": counts, "p99": p99,
             "achieved": written / seconds / counties}
    return [line], state


# ----------------------------------------------------------------------------- part 3

def part_three(state: dict[str, Any]) -> tuple[list[str], float]:
    from esupervision.models.supervision.statistics import GroupBy, compute_statistics

    counts: list[int] = state["counts"]
    with fresh_postgres() as single_url:
        single = make_engine(single_url)
        create_schema(single)
        build_city(single)
        for n, written in enumerate(counts):
            code = county_code(n)
            build_county(single, code)
            ingest(single, case_events(code, 1, written // 3, timesource.now() - timedelta(minutes=1)))
        today = local_date(timesource.now())
        period = dict(period_from=today - timedelta(days=1), period_to=today + timedelta(days=1),
                      group_by=GroupBy.CENTER)

        def timed(engine: Any) -> tuple[float, Any]:
            runs = []
            for _ in range(7):
                with Session(engine) as s:
                    started = time.perf_counter()
                    table = compute_statistics(s, **period)
                    runs.append(time.perf_counter() - started)
            return stats.median(runs), table

        city_s, city_table = timed(state["city"])
        single_s, single_table = timed(single)
        rows = len(getattr(city_table, "rows", []) or [])
        single.dispose()
    cases = sum(counts) // 3
    return [f"part 3, city-wide statistics grouped by center over {len(counts)} replicated counties ({cases:,} "
            f"cases, {rows} rows): {city_s * 1e3:.1f} ms at the city against {single_s * 1e3:.1f} ms on one "
            f"deployment's database with the same cases ingested locally (median of 7): "
            f"**{city_s / single_s:.2f}×**"], city_s / single_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--counties", type=int, default=10)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--head-interval", type=float, default=1.0)
    parser.add_argument("--pullers", type=int, default=1, help="counties pulled at once (the worker: 1)")
    parser.add_argument("--skip-part-one", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("ESV_REPLICATION_TOKEN", TOKEN)
    lines, ratio = ([], None) if args.skip_part_one else part_one(args.cases)
    print("\n".join(lines), flush=True)
    two, state = part_two(args.counties, args.rate, args.seconds, args.head_interval, args.pullers)
    print("\n".join(two), flush=True)
    try:
        three, statistics_ratio = part_three(state)
    finally:
        state["city"].dispose()
        for engine in state["engines"]:
            engine.dispose()
        state["stack"].close()
    lines += two + three
    figure = (f"{'' if ratio is None else f'replicated {ratio:.2f}× the county ingest; '}lag p99 "
              f"{state['p99']:.1f} s ({args.counties} counties × {args.rate:g} ev/s asked, "
              f"{state['achieved']:.0f}/s achieved); statistics {statistics_ratio:.2f}× one database")
    record("County deployments: replication throughput, lag and city-wide statistics (PostgreSQL)", command_line(),
           lines, keep=not args.no_record,
           summary=("counties (`bench/counties.py`)", figure, "lag p99 ≤ 2 s at 10 × 100 ev/s"))

if __name__ == "__main__":
    main()
