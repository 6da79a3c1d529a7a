"""Light changes to 1,000 connected subscribers: p99 from each transition's due instant to its
arrival at every subscriber (target ≤ 200 ms).

The production shape on this machine: PostgreSQL; `esv worker` (the light scheduler) in its own
process; two `esv serve --no-worker` processes that fan the scheduler's messages out through Redis
pub/sub; subscribers split between the two over graphql-transport-ws, each a supervisor's
``lightChanged`` subscription. The baseline, in the same run and on the same processes, is the same
kind of transitions heard by one subscriber: the ratio shows what 1,000 connections add.

The subscribers live in this process on one asyncio loop (raw graphql-transport-ws over
``websockets``), so their own CPU is part of what is measured: a pessimistic figure. While
listening they only timestamp and keep each frame; frames are parsed after the phase, so the
bench's own work delays the arrivals it measures as little as it can.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # `python bench/subscribers.py` from the root

import httpx  # noqa: E402
import websockets
from sqlalchemy.orm import Session

from bench.common import command_line, create_schema, fresh_postgres, record
from bench.scheduler import ClockMove, clear_horizon, move_clocks, now_utc, percentile, pick_white_clocks
from bench.seed import seed_cases, seed_catalogue
from esupervision.db import make_engine
from esupervision.migrate import upgrade
from esupervision.models.access.scope import Role
from esupervision.models.access.account import create_account

SUBSCRIPTION = "subscription { lightChanged { ledgerId light dueInstant } }"
LOGIN = 'mutation { login(username: "bench-supervisor", password: "bench") { accessToken } }'
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def scheduler(url: str) -> Iterator[subprocess.Popen]:
    """`esv worker` (the light scheduler, publishing to Redis) on the bench database; its output
    goes to a file (a pipe nobody reads would stall it)."""
    env = {**os.environ, "DATABASE_URL": url, "ESV_BROKER": "redis", "REDIS_URL": REDIS_URL}
    log = tempfile.NamedTemporaryFile("w+", prefix="esv-worker-", suffix=".log", delete=False)
    process = subprocess.Popen([sys.executable, "-c", "from esupervision.cli import main; main()", "worker",
                                "--processes", "1"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while "running" not in Path(log.name).read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("esv worker did not start:\n" + Path(log.name).read_text())
        time.sleep(0.2)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        errors = [line for line in Path(log.name).read_text().splitlines() if "Error" in line or "Traceback" in line]
        if errors:
            print("worker errors:", *errors[:10], sep="\n  ")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def api_servers(url: str, count: int) -> Iterator[list[int]]:
    """``count`` `esv serve --no-worker` processes on the bench database, answering /healthz."""
    env = {**os.environ, "DATABASE_URL": url, "ESV_BROKER": "redis", "REDIS_URL": REDIS_URL}
    ports = [free_port() for _ in range(count)]
    processes = [subprocess.Popen([sys.executable, "-c", "from esupervision.cli import main; main()", "serve",
                                   "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for port in ports]
    try:
        deadline = time.monotonic() + 90
        for port in ports:
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"esv serve on port {port} did not answer /healthz")
                time.sleep(0.3)
        api_servers.pids = [p.pid for p in processes]   # type: ignore[attr-defined]
        yield ports
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


@dataclass
class Heard:
    """What the subscribers received: (frame, arrival) as it came, and after the phase
    (ledger id, due instant, arrival) per message."""

    frames: list[tuple[str | bytes, float]] = field(default_factory=list)
    arrivals: list[tuple[int, float, float]] = field(default_factory=list)
    sockets: list[Any] = field(default_factory=list)
    ready: int = 0

    def parse(self) -> None:
        for raw, arrived in self.frames:
            message = json.loads(raw)
            if message.get("type") != "next":
                raise RuntimeError(f"subscription ended: {message}")
            change = message["payload"]["data"]["lightChanged"]
            due = datetime.fromisoformat(change["dueInstant"]).timestamp()
            self.arrivals.append((change["ledgerId"], due, arrived))


async def subscriber(port: int, token: str | None, heard: Heard) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"],
                                  max_queue=None, open_timeout=60) as ws:
        credentials = {"Authorization": f"Bearer {token}"} if token else {}   # none: the public
        await ws.send(json.dumps({"type": "connection_init", "payload": credentials}))
        ack = json.loads(await ws.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
        heard.sockets.append(ws)
        heard.ready += 1
        keep = heard.frames.append
        try:
            async for raw in ws:   # until the phase closes the socket
                keep((raw, time.time()))
        except websockets.ConnectionClosed:
            pass


async def listen(ports: list[int], token: str, count: int, transitions: int, start_moves,
                 public: int = 0) -> Heard:
    """Connect ``count`` subscribers round-robin over ``ports``, then make ``transitions`` clocks
    fall due (``start_moves``) and wait until every subscriber has heard every one (or 60 s)."""
    heard = Heard()
    tasks = []
    for i in range(count):
        who = None if i < public else token
        tasks.append(asyncio.create_task(subscriber(ports[i % len(ports)], who, heard)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)   # connect in waves, as clients do after a deploy
    while heard.ready < count:
        await asyncio.sleep(0.1)
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise RuntimeError(f"a subscriber failed: {failed[0].exception()!r}")
    await asyncio.sleep(1.0)   # let the last subscriptions register on their servers
    await asyncio.to_thread(start_moves)
    deadline = time.monotonic() + 90
    while len(heard.frames) < count * transitions and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.gather(*(ws.close() for ws in heard.sockets), return_exceptions=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    heard.parse()
    return heard


def spread(ids: list[uuid.UUID], start: datetime, seconds: float) -> list[ClockMove]:
    """Each clock turns yellow at its own instant, spread evenly over ``seconds``."""
    step = seconds / max(1, len(ids))
    moves = []
    for i, clock_id in enumerate(ids):
        at = start + timedelta(seconds=i * step)
        moves.append(ClockMove(clock_id, at, at + timedelta(days=2), "white"))
    return moves


def latencies_ms(heard: Heard) -> list[float]:
    return [1000 * (arrived - due) for _, due, arrived in heard.arrivals]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=2, help="esv serve processes")
    parser.add_argument("--transitions", type=int, default=20, help="light changes per phase")
    parser.add_argument("--seconds", type=float, default=20, help="the changes spread over this long")
    parser.add_argument("--clocks", type=int, default=10_000, help="open case clocks seeded")
    parser.add_argument("--public", type=int, default=0,
                        help="of the subscribers, how many are the public (masked answers) instead of the supervisor")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    os.environ.update({"ESV_BROKER": "redis", "REDIS_URL": REDIS_URL})   # the worker publishes to Redis

    with fresh_postgres() as url:
        upgrade(url)
        engine = make_engine(url)
        create_schema(engine)   # tables newer than the last migration, if any (a no-op at a release)
        seed_catalogue(engine)
        seed_cases(engine, args.clocks, now_utc())
        clear_horizon(engine, now_utc() + timedelta(hours=2))
        with Session(engine) as s:
            create_account(s, username="bench-supervisor", password="bench", role=Role.SUPERVISOR,
                           display_name="监察员", now=datetime.now(timezone.utc))
            s.commit()
        ids = pick_white_clocks(engine, 2 * args.transitions, now_utc())
        with scheduler(url), api_servers(url, args.servers) as ports:
            token = httpx.post(f"http://127.0.0.1:{ports[0]}/graphql", json={"query": LOGIN},
                               timeout=30).json()["data"]["login"]["accessToken"]

            def phase(clocks: list[uuid.UUID], count: int, public: int = 0) -> Heard:
                def start_moves() -> None:
                    move_clocks(engine, spread(clocks, now_utc() + timedelta(seconds=3), args.seconds))
                return asyncio.run(listen(ports, token, count, len(clocks), start_moves, public))

            def cpu() -> tuple[float, float]:
                return (sum(cpu_seconds(pid) for pid in api_servers.pids),  # type: ignore[attr-defined]
                        time.process_time())

            base = phase(ids[:args.transitions], 1)
            print(f"baseline: 1 subscriber heard {len(base.arrivals)} of {args.transitions}", flush=True)
            before = cpu()
            many = phase(ids[args.transitions:], args.subscribers, args.public)
            after = cpu()
            servers_cpu, bench_cpu = after[0] - before[0], after[1] - before[1]
            print(f"{args.subscribers} subscribers heard {len(many.arrivals):,} of "
                  f"{args.subscribers * args.transitions:,}", flush=True)
        engine.dispose()

    base_ms, many_ms = latencies_ms(base) or [float("nan")], latencies_ms(many) or [float("nan")]
    p99_base, p99_many = percentile(base_ms, 0.99), percentile(many_ms, 0.99)
    expected = args.subscribers * args.transitions
    lines = [
        f"{args.servers} × `esv serve --no-worker` fanning out through Redis, `esv worker` scheduling, "
        f"PostgreSQL with {args.clocks:,} open case clocks; {args.transitions} light changes per phase "
        f"spread over {args.seconds:.0f} s",
        f"1 subscriber (baseline): p50 {percentile(base_ms, 0.5):.0f} ms, p99 {p99_base:.0f} ms, "
        f"{len(base.arrivals)}/{args.transitions} heard",
        f"{args.subscribers:,} subscribers"
        + (f" ({args.public:,} of them the public, the rest the supervisor)" if args.public else "")
        + f": p50 {percentile(many_ms, 0.5):.0f} ms, p99 {p99_many:.0f} ms, "
        f"max {max(many_ms, default=0):.0f} ms, {len(many.arrivals):,}/{expected:,} deliveries heard"
        + (" — target met" if p99_many <= 200 and len(many.arrivals) == expected else " — TARGET MISSED"),
        f"**ratio {p99_many / p99_base:.2f}** (p99 with {args.subscribers:,} subscribers / with one)"
        if p99_base else "ratio: baseline empty",
        f"CPU during the {args.subscribers:,}-subscriber phase (connecting included): API servers "
        f"{servers_cpu:.1f} s, the subscribers' own process {bench_cpu:.1f} s",
        f"1-min load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end "
        f"({os.cpu_count()} cores shared with other work; the subscribers run in the bench process)",
    ]
    record(f"Light changes to {args.subscribers:,} subscribers (PostgreSQL, Redis fan-out)", command_line(), lines,
           keep=not args.no_record)


if __name__ == "__main__":
    main()
