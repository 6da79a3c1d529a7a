"""A page of 50 cases with item, department, window, running steps and lights, through
``esv serve`` on PostgreSQL with 1,000,000 cases (issue 3: p99 ≤ 30 ms at 200 requests/s, and
the ratio against the same page fetched with plain SQL and serialized with orjson, goal ≤ 3×).

    python bench/api.py [--cases 1000000] [--rate 200] [--seconds 20] [--processes 4] [--keep | --seed-only]
    python bench/api.py --url URL     # a database kept by --keep / --seed-only (seeding takes minutes)
    python bench/api.py --url URL --only cold    # the cold starts alone (quicker to repeat)

Two variants are measured in turn, each served by ``--processes`` uvicorn processes sharing one
listening socket (production runs several): the served app, whose front (``api.fastpath``) answers
vetted case-page documents with node JSON from PostgreSQL (``api.schema.compiled_sql``), and the same
app with a schema without ``CompiledCasePages`` (nothing vetted: the stock executor). For each:
the answer is checked equal to the baseline's, then one request at a time (service time), an
open loop at half the rate that allows, and the open loop at ``--rate`` — "warm" figures: by then
each process has answered hundreds of pages.

Cold start (issue 13): fresh processes of the served app, and the open loop at ``--rate`` from the
instant every one of them accepts connections (uvicorn's start-up done, nothing asked of them
before), once with the app's start-up warm-up (``api.warmup``) and once without it (as before it).
The bench binds the shared socket itself, so the kernel would queue connections earlier: the loop
waits for each process's own "accepting" line instead.

The load is open-loop: request i is due at start + i / rate whatever the answers before it, and
its latency counts from that due instant (so a slow server cannot hide its queue). Debian has
``wrk`` (closed-loop only) and no ``wrk2``, hence the asyncio generator here. Each request
asks for the page behind a random cursor (a random case id), so pages are spread over the table;
every measurement draws cursors no earlier one in the run used.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Tokens the bench mints outlive the whole run (the servers get the same in their environment).
os.environ.setdefault("ESV_ACCESS_TOKEN_MINUTES", "120")

import httpx  # noqa: E402
import orjson  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import select, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.common import ROOT, add_model_additions, command_line, fresh_postgres, record  # noqa: E402
from bench.seed import seed_cases, seed_catalogue  # noqa: E402
from esupervision.db import make_engine  # noqa: E402
from esupervision.models.cases.query import encode_cursor  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
PAGE = 50
PAGE_QUERY = """query Page($after: String) { cases(first: 50, after: $after) {
  edges { cursor node {
    number status light dueAt acceptedAt
    item { code name committedDays } department { code name } window { code name }
    runningSteps { seq name status clock { light dueAt } }
  } }
  pageInfo { hasNextPage endCursor }
} }"""


# ----------------------------------------------------------------------------- data

def seed(url: str, cases: int, now: datetime) -> None:
    """bench.seed's catalogue and cases, plus one window per department (every case at one)
    and one running step with its own clock per case."""
    from esupervision.migrate import upgrade
    from esupervision.models.access.scope import Role
    from esupervision.models.access.account import create_account
    from esupervision.models.catalogue.catalogue import Center, Department, create_window
    from esupervision.models.ledger.transaction import transaction

    upgrade(url)                      # migrations, so `esv serve` finds the schema at head
    add_model_additions(url)          # and what the models add before the next revision
    engine = make_engine(url)
    seed_catalogue(engine)
    with transaction(engine, actor="bench") as tx:
        city = tx.session.scalars(select(Center)).one()
        for department in tx.session.scalars(select(Department).order_by(Department.code)):
            create_window(tx, center=city, department=department, code=f"W{department.code}",
                          name=f"{department.name}窗口")
    seed_cases(engine, cases, now)
    with engine.begin() as c:
        c.execute(text('UPDATE "case" c SET window_id = w.id FROM "window" w WHERE w.department_id = c.department_id'))
        c.execute(text("""
            CREATE TEMP TABLE st AS
            SELECT c.id AS case_id, gen_random_uuid() AS step_id, gen_random_uuid() AS clock_id,
                   c.clock_id AS case_clock FROM "case" c
        """))
        # A step clock of 3 days inside the case's 10: due a week before the case, lights to match.
        c.execute(text("""
            INSERT INTO clock (id, center_id, subject_type, subject_id, department_id, basis,
                               limit_days, extended_days, paused_days, warn_min_days, warn_fraction,
                               started_at, state, pauses, fixed_due, due_at, yellow_at, red_at,
                               provisional, announced_light, next_announce_at)
            SELECT st.clock_id, k.center_id, 'step', st.step_id, k.department_id, k.basis, 3, 0, 0,
                   k.warn_min_days, k.warn_fraction, k.started_at, 'running', '[]', false,
                   k.due_at - interval '7 days', y, r, false,
                   CASE WHEN r <= :now THEN 'red' WHEN y <= :now THEN 'yellow' ELSE 'white' END,
                   CASE WHEN r <= :now THEN NULL WHEN y <= :now THEN r ELSE y END
            FROM st JOIN clock k ON k.id = st.case_clock,
                 LATERAL (SELECT k.yellow_at - interval '7 days' AS y, k.red_at - interval '7 days' AS r) AS shifted
        """), {"now": now})
        c.execute(text("""
            INSERT INTO step (id, case_id, center_id, department_id, seq, name, limit_days, status,
                              started_at, clock_id)
            SELECT st.step_id, st.case_id, k.center_id, k.department_id, 1, '审查', 3, 'running',
                   k.started_at, st.clock_id
            FROM st JOIN clock k ON k.id = st.case_clock
        """))
    with Session(engine) as session:
        create_account(session, username="supervisor", password="demo", role=Role.SUPERVISOR,
                       display_name="监察员", now=now)
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for table in ("clock", "step", '"case"', '"window"'):
            c.execute(text(f"VACUUM ANALYZE {table}"))
    engine.dispose()


def bring_to_head(url: str) -> None:
    """A kept database seeded under an older revision (seeding costs minutes), and the models'
    additions that no revision has yet (the case index on (department_id, id) among them)."""
    added = add_model_additions(url)
    if added:
        print("added to the kept database: " + ", ".join(added), flush=True)


class Cursors:
    """Cursors at random positions (a cursor is a case id, and any id is a place in the order),
    each handed out once: no measurement reads behind a cursor an earlier one used."""

    def __init__(self, seed_value: int = 3) -> None:
        self.rng = random.Random(seed_value)

    def take(self, n: int) -> list[str]:
        return [encode_cursor(uuid.UUID(int=self.rng.getrandbits(128))) for _ in range(n)]


# ----------------------------------------------------------------------------- the baseline

BASELINE_PAGE = """
SELECT c.id, c.number, c.status, c.accepted_at,
       k.state, k.due_at, k.yellow_at, k.red_at, k.paused_at, k.finished_at,
       i.code, i.name, i.committed_days, d.code, d.name, w.code, w.name
FROM "case" c
JOIN item i ON i.id = c.item_id
JOIN department d ON d.id = c.department_id
LEFT JOIN "window" w ON w.id = c.window_id
LEFT JOIN clock k ON k.id = coalesce(c.clock_id, c.acceptance_clock_id)
WHERE c.id < %s
ORDER BY c.id DESC
LIMIT 51
"""

BASELINE_STEPS = """
SELECT s.case_id, s.seq, s.name, s.status, k.state, k.due_at, k.yellow_at, k.red_at, k.paused_at, k.finished_at
FROM step s LEFT JOIN clock k ON k.id = s.clock_id
WHERE s.case_id = ANY(%s) AND s.status = 'running'
ORDER BY s.case_id, s.seq
"""


def _light(state: str | None, due: Any, yellow: Any, red: Any, paused_at: Any, finished_at: Any,
           now: datetime) -> str | None:
    """models.light.light_at over plain columns."""
    if state is None:
        return None
    at = now
    if state in ("finished", "cancelled"):
        at = min(now, finished_at or now)
    elif state == "paused" and paused_at is not None:
        at = min(now, paused_at)
    if red is not None and at >= red:
        return "RED"
    if yellow is not None and at >= yellow and state not in ("finished", "cancelled"):
        return "YELLOW"
    return "WHITE"


def baseline_page(conn: psycopg.Connection, after: str, now: datetime) -> bytes:
    """The same answer as the GraphQL page, from two SQL statements and orjson."""
    from esupervision.models.cases.query import decode_cursor
    rows = conn.execute(BASELINE_PAGE, (decode_cursor(after),)).fetchall()
    page = rows[:PAGE]
    steps: dict[uuid.UUID, list[dict[str, Any]]] = {r[0]: [] for r in page}
    if page:
        for s in conn.execute(BASELINE_STEPS, ([r[0] for r in page],)):
            steps[s[0]].append({"seq": s[1], "name": s[2], "status": s[3],
                                "clock": None if s[4] is None else
                                {"light": _light(s[4], s[5], s[6], s[7], s[8], s[9], now), "dueAt": s[5]}})
    edges = [{"cursor": encode_cursor(r[0]), "node": {
        "number": r[1], "status": r[2].upper(), "light": _light(r[4], r[5], r[6], r[7], r[8], r[9], now),
        "dueAt": r[5], "acceptedAt": r[3],
        "item": {"code": r[10], "name": r[11], "committedDays": r[12]},
        "department": {"code": r[13], "name": r[14]},
        "window": None if r[15] is None else {"code": r[15], "name": r[16]},
        "runningSteps": steps[r[0]]}} for r in page]
    return orjson.dumps({"data": {"cases": {"edges": edges, "pageInfo": {
        "hasNextPage": len(rows) > PAGE, "endCursor": edges[-1]["cursor"] if edges else None}}}})


def plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


# ----------------------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    """``processes`` uvicorn processes of the API on one listening socket (the kernel hands each
    connection to one of them), as production runs several behind one address. Returns once
    every process accepts connections, without having asked anything of them."""

    def __init__(self, url: str, port: int, log: Path, compiled: bool, processes: int,
                 warm_up: bool = True, documents: list[Path] | None = None) -> None:
        env = {**os.environ, "DATABASE_URL": url, "ESV_ACCESS_TOKEN_MINUTES": "120",
               "ESV_WARM_DOCUMENTS": json.dumps([str(d) for d in documents or ()])}
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(4096)
        fd = self.listener.fileno()
        variant = "compiled" if compiled else "stock"
        spawned = time.monotonic()
        self.processes = [subprocess.Popen(
            [sys.executable, __file__, "--serve", variant, "--fd", str(fd), *([] if warm_up else ["--no-warm-up"])],
            env=env, pass_fds=(fd,), stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=ROOT)
            for _ in range(processes)]
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            # Each process prints "accepting <pid> <monotonic>" once uvicorn serves the socket.
            marks = [float(line.split()[2]) for line in log.read_text(errors="replace").splitlines()
                     if line.startswith("accepting ")]
            if len(marks) == processes:
                self.spawned, self.marks = spawned, sorted(marks)
                self.accepting = [m - spawned for m in self.marks]   # seconds after the spawn
                return
            if any(p.poll() is not None for p in self.processes):
                break
            time.sleep(0.01)
        self.stop()
        raise SystemExit(f"the API did not start:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.listener.close()


def server_log(name: str) -> Path:
    return Path(f"/tmp/esv-bench-api-{name}-{uuid.uuid4().hex[:6]}.log")


def variant_schema(compiled: bool):  # noqa: ANN201
    """The served schema (with the compiled case path, as `esv serve` serves it), or a copy of it
    without the compiled path: the stock executor for everything."""
    import copy

    from esupervision.api.schema import schema
    from esupervision.api.schema.cases.compiled import CompiledCasePages
    variant = copy.copy(schema)
    stock = tuple(e for e in schema.extensions if e is not CompiledCasePages)
    variant.extensions = (*stock, CompiledCasePages) if compiled else stock
    return variant


def serve(variant: str, fd: int, warm_up: bool) -> None:
    """What ``esv serve --no-worker`` runs (uvicorn, the app with its start-up warm-up,
    PostgreSQL from DATABASE_URL) on an inherited socket; access lines are not logged (a proxy in
    front logs them in production)."""
    import uvicorn

    from esupervision.api.app import create_app
    from esupervision.cli import _engine
    app = create_app(_engine(), warm_up=warm_up)
    # The front (api.fastpath) answers the documents the variant's own pipeline vetted: none
    # without the compiled path's extension. (The warm-up, at start-up, reads the front's schema.)
    front = app.state.compiled_pages
    front.schema = front.app.schema = variant_schema(variant == "compiled")

    class Announced(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)     # the app's lifespan first, then the socket
            print(f"accepting {os.getpid()} {time.monotonic():.4f}", flush=True)

    # The socket as it is (AF_INET): uvicorn's own fd= option takes any fd for a UNIX socket,
    # and asyncio then leaves Nagle on — 40 ms of delayed ACK on every answer.
    listener = socket.socket(fileno=fd)
    Announced(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[listener])


def supervisor_headers(url: str) -> dict[str, str]:
    """The supervisor's access token as ``login`` issues it, minted here so that a cold server
    is asked nothing before its measured requests (the servers share the secret)."""
    from esupervision.api.tokens import issue_access_token
    from esupervision.models.access.account import Account

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            account = session.scalars(select(Account).where(Account.username == "supervisor")).one()
            token = issue_access_token(account.viewer(), now=datetime.now(SH))
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def closed_loop(endpoint: str, headers: dict[str, str], afters: list[str]) -> list[float]:
    """One request at a time: the service time of a page with nothing queued (ms)."""
    samples = []
    with httpx.Client(timeout=30) as http:
        for after in afters:
            t0 = time.perf_counter()
            response = http.post(endpoint, json={"query": PAGE_QUERY, "variables": {"after": after}}, headers=headers)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200 and b'"errors"' not in response.content, response.text[:500]
    return samples


async def post(port: int, body: bytes, authorization: str) -> tuple[int, bytes]:
    """One HTTP/1.1 POST on its own connection (``Connection: close``). A pooled client queues
    thousands of requests at once badly (httpx's pool is quadratic in them), and an open loop
    against a slow server queues exactly that many."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"POST /graphql/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                     f"Authorization: {authorization}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                     .encode() + body)
        answer = await reader.read()
    finally:
        writer.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head[9:12]), payload


async def open_loop(port: int, headers: dict[str, str], afters: list[str], rate: float,
                    seconds: float, drain: float, lead: float = 0.5) -> dict[str, Any]:
    """Send ``rate`` requests a second for ``seconds`` whatever the answers; wait up to ``drain``
    seconds more for the stragglers. Latency counts from each request's due instant; the first
    is due ``lead`` seconds from now."""
    loop = asyncio.get_running_loop()
    total = int(rate * seconds)
    bodies = [orjson.dumps({"query": PAGE_QUERY, "variables": {"after": a}}) for a in afters]
    latencies: list[float] = []
    by_due: list[tuple[float, float]] = []    # (seconds after the start it was due, latency ms)
    failures: list[str] = []
    finished: list[float] = []
    start = loop.time() + lead

    async def one(i: int) -> None:
        due = start + i / rate
        await asyncio.sleep(due - loop.time())
        try:
            status, payload = await post(port, bodies[i % len(bodies)], headers["Authorization"])
            ok = status == 200 and b'"errors"' not in payload
            if not ok:
                failures.append(f"{status} {payload[:200]!r}")
        except OSError as exc:
            ok = False
            failures.append(exc.__class__.__name__)
        end = loop.time()
        if ok:
            latencies.append((end - due) * 1000)
            by_due.append((i / rate, (end - due) * 1000))
            finished.append(end)

    tasks = [asyncio.create_task(one(i)) for i in range(total)]
    _, pending = await asyncio.wait(tasks, timeout=seconds + drain + 0.5)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    last = max(finished) if finished else start
    return {"sent": total, "answered": len(latencies), "failed": len(failures), "unfinished": len(pending),
            "failures": failures[:3], "latencies": latencies, "by_due": by_due,
            "achieved": len(latencies) / max(last - start, 1e-9), "window_s": last - start,
            "started": start}     # loop.time() is time.monotonic()


# ----------------------------------------------------------------------------- in process

def in_process(url: str, afters: list[str], compiled: bool = False) -> tuple[list[float], float]:
    """The same page through the schema in this process, no HTTP: wall ms per page, and CPU ms
    per page of this process (all its threads); the stock executor, or the compiled case path."""
    import copy

    from esupervision.api.context import Context
    from esupervision.api.schema import schema
    from esupervision.api.schema.cases.compiled import CompiledCasePages
    from esupervision.models.access.scope import Role, Viewer
    if compiled:
        schema = variant_schema(True)
    else:
        schema = copy.copy(schema)
        schema.extensions = tuple(e for e in schema.extensions if e is not CompiledCasePages)

    engine = make_engine(url)
    viewer = Viewer(role=Role.SUPERVISOR, username="bench")

    async def run() -> list[float]:
        samples = []
        for after in afters:
            t0 = time.perf_counter()
            result = await schema.execute(PAGE_QUERY, variable_values={"after": after},
                                          context_value=Context(engine=engine, viewer=viewer))
            orjson.dumps({"data": result.data})
            samples.append((time.perf_counter() - t0) * 1000)
            assert not result.errors, result.errors
        return samples
    try:
        asyncio.run(run())     # warm: pool, plans, caches
        cpu = time.process_time()
        samples = asyncio.run(run())
        return samples, (time.process_time() - cpu) * 1000 / len(afters)
    finally:
        engine.dispose()


def shown(samples: list[float], q: float) -> str:
    return f"{pct(samples, q):.1f} ms" if samples else "— (none answered)"


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--drain", type=float, default=15, help="seconds to wait for answers after the last send")
    parser.add_argument("--url", help="an already seeded database (skip seeding)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database and print its URL")
    parser.add_argument("--seed-only", action="store_true", help="seed, keep the database, print its URL")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--processes", type=int, default=4, help="uvicorn processes serving the API")
    parser.add_argument("--only", choices=("warm", "cold"), help="measure only the warm servers or the cold starts")
    parser.add_argument("--serve", choices=("stock", "compiled"), help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-warm-up", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.fd, warm_up=not args.no_warm_up)
        return

    now = datetime.now(SH)
    if args.url:
        bring_to_head(args.url)
        run(args, args.url, seed_s=None)
        return
    with fresh_postgres(keep=args.keep or args.seed_only) as url:
        t0 = time.perf_counter()
        seed(url, args.cases, now)
        seed_s = time.perf_counter() - t0
        if args.keep or args.seed_only:
            print(f"seeded in {seed_s:.0f} s; database kept: {url}", flush=True)
        if not args.seed_only:
            run(args, url, seed_s)


def measure(args: argparse.Namespace, url: str, headers: dict[str, str], cursors: Cursors,
            compiled: bool) -> dict[str, Any]:
    """Unloaded service time, then the open loop, against fresh servers of one variant."""
    port = free_port()
    name = "compiled" if compiled else "stock"
    server = Servers(url, port, server_log(name), compiled, args.processes)
    endpoint = f"http://127.0.0.1:{port}/graphql/"
    try:
        now = datetime.now(SH)
        # Same answers: the served page equals the baseline's for these cursors.
        with psycopg.connect(plain_url(url), autocommit=True) as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            for after in cursors.take(20):
                ours = httpx.post(endpoint, headers=headers, timeout=30,
                                  json={"query": PAGE_QUERY, "variables": {"after": after}}).json()
                assert ours == orjson.loads(baseline_page(conn, after, now)), after
        unloaded = closed_loop(endpoint, headers, cursors.take(300))
        print(f"{name}: unloaded p50 {pct(unloaded, .5):.1f} ms, p99 {pct(unloaded, .99):.1f} ms", flush=True)
        # What the processes do sustain: half the rate their service time allows on the cores
        # there are. First, since the flood below leaves them working through abandoned requests.
        parallel = min(args.processes, os.cpu_count() or 1)
        gentle_rate = max(1.0, round(500 * parallel / pct(unloaded, .5), 1))
        gentle = asyncio.run(open_loop(port, headers, cursors.take(int(gentle_rate * args.seconds)),
                                       gentle_rate, args.seconds, args.drain))
        print(f"{name}: open loop at {gentle_rate}/s p50 {pct(gentle['latencies'], .5):.1f} ms, "
              f"p99 {pct(gentle['latencies'], .99):.1f} ms", flush=True)
        load = asyncio.run(open_loop(port, headers, cursors.take(int(args.rate * args.seconds)),
                                     args.rate, args.seconds, args.drain))
        lat = load["latencies"]
        print(f"{name}: open loop p50 {pct(lat, .5):.1f} ms, p99 {pct(lat, .99):.1f} ms, "
              f"{load['achieved']:.1f}/s", flush=True)
    finally:
        server.stop()
    return {"unloaded": unloaded, **load, "gentle_rate": gentle_rate, "gentle": gentle}


# The cold starts: (key, warm-up, the page document listed in ESV_WARM_DOCUMENTS, how it reads).
COLD_WAYS = (
    ("none", False, False, "without the warm-up (as before it)"),
    ("client", True, False, "with the start-up warm-up (`api/warmup.py`), the page document unknown to the "
                            "servers (the warm-up reads the client's documents only)"),
    ("listed", True, True, "with the start-up warm-up and the page document listed in `ESV_WARM_DOCUMENTS` "
                           "(as a deployment lists its screens' documents)"),
)


def measure_cold(args: argparse.Namespace, url: str, headers: dict[str, str], cursors: Cursors,
                 warm_up: bool, listed: bool) -> dict[str, Any]:
    """Fresh processes of the served app, and the open loop at ``--rate`` from the instant the
    last of them accepts: nothing was asked of them before, and no cursor was used before."""
    afters = cursors.take(int(args.rate * args.seconds))
    port = free_port()
    log = server_log("cold")
    page = log.with_suffix(".graphql")
    page.write_text(PAGE_QUERY, encoding="utf-8")
    server = Servers(url, port, log, True, args.processes, warm_up=warm_up, documents=[page] if listed else None)
    try:
        load = asyncio.run(open_loop(port, headers, afters, args.rate, args.seconds, args.drain, lead=0.05))
    finally:
        server.stop()
    if "warm-up failed" in log.read_text(errors="replace"):
        raise SystemExit(f"the warm-up failed (the servers served cold), see {log}")
    first = [ms for due, ms in load["by_due"] if due < 1]
    print(f"cold, warm-up {warm_up}, page listed {listed}: accepting {server.accepting[0]:.1f}–"
          f"{server.accepting[-1]:.1f} s after the spawn; p50 {pct(load['latencies'], .5):.1f} ms, "
          f"p99 {pct(load['latencies'], .99):.1f} ms, first second p99 {pct(first, .99):.1f} ms", flush=True)
    return {**load, "accepting": server.accepting, "lag_ms": (load["started"] - server.marks[-1]) * 1000,
            "first_second": first}


def run(args: argparse.Namespace, url: str, seed_s: float | None) -> None:
    cursors = Cursors()
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        cases = conn.execute('SELECT count(*) FROM "case"').fetchone()[0]
        now = datetime.now(SH)
        base = []
        cpu = time.process_time()
        for after in cursors.take(1000):
            t0 = time.perf_counter()
            baseline_page(conn, after, now)
            base.append((time.perf_counter() - t0) * 1000)
        base_cpu = (time.process_time() - cpu) * 1000 / 1000
    base_p50, base_p99 = pct(base, .5), pct(base, .99)
    print(f"{cases:,} cases; baseline p50 {base_p50:.2f} ms, p99 {base_p99:.2f} ms", flush=True)
    headers = supervisor_headers(url)
    load = [os.getloadavg()]
    lines = [
        f"data: {cases:,} cases (bench/seed.py) each at a window with one running step and its clock"
        + (f"; seeded in {seed_s:.0f} s" if seed_s else ""),
        "query: `cases(first: 50, after: <random cursor>)` with number, status, light, dueAt, acceptedAt, "
        "item, department, window, runningSteps { seq name status clock { light dueAt } }, as the supervisor; "
        "every measurement below draws cursors no earlier one in this run used",
        f"servers: {args.processes} uvicorn processes on one listening socket, each the app `esv serve --no-worker` "
        "runs (access log off); **compiled** = the served app: a case-page document its pipeline has vetted is "
        "answered by the front (`api/fastpath.py`) before Strawberry, each node's JSON written by PostgreSQL "
        "(`api/schema/cases/compiled_sql.py`); **stock** = the same app with a schema without `CompiledCasePages` "
        "(nothing vetted: Strawberry's executor for everything); load: open-loop asyncio generator in the bench "
        "process, one connection per request (Debian has no wrk2), latency from each request's due instant",
        f"baseline, plain SQL (two statements) + orjson, the same JSON (checked equal to both servers' answers "
        f"on 20 pages): p50 {base_p50:.2f} ms, p99 {base_p99:.2f} ms",
    ]

    cold: dict[str, dict[str, Any]] = {}
    if args.only != "warm":
        cold = {key: measure_cold(args, url, headers, cursors, warm_up, listed)
                for key, warm_up, listed, _ in COLD_WAYS}
        load.append(os.getloadavg())
        for key, _, _, how in reversed(COLD_WAYS):
            served = cold[key]
            lat, first = served["latencies"], served["first_second"]
            bold = "**" if key == "listed" else ""
            lines.append(
                f"{bold}cold start, compiled, {how}: open loop at {args.rate:.0f}/s for {args.seconds:.0f} s from "
                f"the moment the last of the {args.processes} fresh processes accepts, {served['sent']:,} cursors "
                f"never used before: p50 {shown(lat, .5)}, p99 {shown(lat, .99)}{bold}, max {shown(lat, 1)}; "
                f"first second p99 {shown(first, .99)}; {served['answered']:,} of {served['sent']:,} answered, "
                f"{served['failed']} failed — target p99 ≤ 30 ms; ratio to the baseline "
                f"{pct(lat, .5) / base_p50:.1f}× (p50 / p50), {pct(lat, .99) / base_p99:.1f}× (p99 / p99); "
                f"processes accepting {served['accepting'][0]:.1f}–{served['accepting'][-1]:.1f} s after the "
                f"spawn, first request due {served['lag_ms']:.0f} ms after the last")

    if args.only != "cold":
        stock_ip, stock_cpu = in_process(url, cursors.take(150))
        compiled_ip, compiled_cpu = in_process(url, cursors.take(150), compiled=True)
        stock = measure(args, url, headers, cursors, compiled=False)
        compiled = measure(args, url, headers, cursors, compiled=True)
        load.append(os.getloadavg())

        def variant(name: str, served: dict[str, Any], in_proc: list[float]) -> list[str]:
            lat, unloaded, gentle = served["latencies"], served["unloaded"], served["gentle"]
            return [
                f"**{name}, warm, open loop at {args.rate:.0f}/s for {args.seconds:.0f} s: p50 {shown(lat, .5)}, "
                f"p99 {shown(lat, .99)}, achieved {served['achieved']:.1f} answers/s** ({served['answered']:,} of "
                f"{served['sent']:,} answered, {served['failed']} failed, {served['unfinished']} unanswered after "
                f"{args.drain:.0f} s of drain) — target p99 ≤ 30 ms; the processes had answered 320 pages and the "
                "loop below before it",
                f"{name}, one request at a time over HTTP: p50 {pct(unloaded, .5):.1f} ms, "
                f"p99 {pct(unloaded, .99):.1f} ms "
                f"(one process: at most ~{1000 / pct(unloaded, .5):.0f} pages/s); in process, no HTTP: "
                f"p50 {pct(in_proc, .5):.1f} ms, p99 {pct(in_proc, .99):.1f} ms",
                f"**{name} ratio to the baseline: {pct(unloaded, .5) / base_p50:.1f}× over HTTP, "
                f"{pct(in_proc, .5) / base_p50:.1f}× in process** (p50 / p50; goal ≤ 3×)",
                f"{name}, open loop at half its capacity ({served['gentle_rate']}/s for {args.seconds:.0f} s): "
                f"p50 {shown(gentle['latencies'], .5)}, p99 {shown(gentle['latencies'], .99)} "
                f"({gentle['answered']:,} of {gentle['sent']:,} answered)",
            ] + ([f"{name}, first failures: {served['failures']}"] if served["failures"] else [])

        lines += [
            *variant("stock", stock, stock_ip),
            *variant("compiled", compiled, compiled_ip),
            f"**CPU of the Python process per page** (less sensitive to a busy machine than latency): baseline "
            f"{base_cpu:.2f} ms, stock executor {stock_cpu:.1f} ms ({stock_cpu / base_cpu:.0f}×), compiled path "
            f"{compiled_cpu:.1f} ms ({compiled_cpu / base_cpu:.0f}×); PostgreSQL's own CPU not included",
        ]
    lines.append("machine load average (1/5/15 min, " f"{os.cpu_count()} cores, shared with other work): "
                 + ", then ".join(f"{a:.1f} / {b:.1f} / {c:.1f}" for a, b, c in load))
    title = f"API: a page of 50 cases at {args.rate:.0f} requests/s (PostgreSQL, {cases:,} cases)"
    if args.only:
        title += f" — {args.only} only"
    figures = []
    if cold:
        figures.append(f"cold p99 {shown(cold['listed']['latencies'], .99)} (page document listed; "
                       f"{shown(cold['client']['latencies'], .99)} unlisted, "
                       f"{shown(cold['none']['latencies'], .99)} without the warm-up)")
    if args.only != "cold":
        figures.append(f"warm p99 {shown(compiled['latencies'], .99)}, achieved {compiled['achieved']:.0f}/s; "
                       f"page p50 {pct(compiled['unloaded'], .5) / base_p50:.1f}× plain SQL + orjson")
    record(title, command_line(), lines, keep=not args.no_record,
           summary=("API (`bench/api.py`)", f"at {args.rate:.0f} requests/s, {cases:,} cases: " + "; ".join(figures),
                    "p99 ≤ 30 ms at 200/s, cold or warm; ≤ 3×"))


if __name__ == "__main__":
    main()
