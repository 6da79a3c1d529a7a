"""The light scheduler over 1,000,000 open clocks on PostgreSQL (core issue: transitions announced
≤ 1 s after due, p50 / p99; idle CPU does not grow with the number of clocks).

The scheduler runs as production runs it, ``esv worker`` in its own process with DATABASE_URL on
the bench database. This process watches the ledger the way a subscriber would, polling every
``--poll`` seconds for new ``light.*`` rows, and measures for each announcement:

- recorded latency: the event's ``recorded_at`` (the scheduler pass's instant) − ``due_instant``;
- visible latency: the start of the first poll that saw the committed row − ``due_instant``
  (an upper bound on when a subscriber could have heard it).

Phases, each on a fresh database seeded by ``bench/seed.py`` (instants are real UTC time):

1. ``--small`` open clocks: idle CPU of the worker (user + sys, /proc/<pid>/stat) over ``--idle`` s;
2. ``--clocks`` open clocks: the same idle window, then ``--due`` clocks moved so that their
   yellow / red instants fall at spread instants over the next ``--window`` s, then ``--burst``
   clocks all turning yellow at one instant (as a day's deadlines do at local midnight), moved
   ``--notice`` seconds before it (a real midnight's clocks are known days ahead: the scheduler
   prepares that pass before the instant and commits it at the instant).
   Every due transition must be announced exactly once, and nothing else.

    python bench/scheduler.py [--clocks 1000000] [--small 10000] [--due 2000] [--window 60]
                              [--burst N] [--idle 30] [--notice 60]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import bindparam, func, select, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.common import add_model_additions, command_line, fresh_postgres, record  # noqa: E402
from bench.seed import seed_cases, seed_catalogue  # noqa: E402
from esupervision.db import make_engine  # noqa: E402
from esupervision.migrate import upgrade  # noqa: E402
from esupervision.models.clocks import tally  # noqa: E402
from esupervision.models.clocks.clock import Clock, end_of_day, local_date  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
SH = ZoneInfo("Asia/Shanghai")
ESV = Path(sys.executable).with_name("esv")
# Seeded instants falling before this far ahead are moved out of the way (local midnight).
QUIET_HORIZON = timedelta(minutes=30)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


# ----------------------------------------------------------------------------- clocks


@dataclass(frozen=True)
class Transition:
    clock_id: uuid.UUID
    kind: str            # light.yellow / light.red
    due_instant: datetime


TALLY_COLUMNS = "id, state, subject_type, department_id, yellow_at, red_at"


@dataclass
class ClockMove:
    """New instants for one clock: ``announced`` is what it has already announced."""

    clock_id: uuid.UUID
    yellow_at: datetime
    red_at: datetime
    announced: str

    def next_at(self) -> datetime:
        return self.yellow_at if self.announced == "white" else self.red_at

    def transitions(self, until: datetime) -> list[Transition]:
        out = []
        if self.announced == "white" and self.yellow_at <= until:
            out.append(Transition(self.clock_id, "light.yellow", self.yellow_at))
        if self.red_at <= until:
            out.append(Transition(self.clock_id, "light.red", self.red_at))
        return out


def move_clocks(engine: Engine, moves: list[ClockMove]) -> None:
    """Give clocks new instants, keep ``next_announce_at`` and the light tally consistent."""
    for start in range(0, len(moves), 5000):
        _move_clocks(engine, moves[start:start + 5000])


def _move_clocks(engine: Engine, moves: list[ClockMove]) -> None:
    ids = [m.clock_id for m in moves]
    with Session(engine) as session:
        select_rows = text(f"SELECT {TALLY_COLUMNS} FROM clock WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True))
        before = {r.id: tally.contribution(r) for r in session.execute(select_rows, {"ids": ids})}
        session.execute(text(
            "UPDATE clock SET yellow_at = :yellow, red_at = :red, due_at = :due, "
            "announced_light = :announced, next_announce_at = :next WHERE id = :id"),
            [{"id": m.clock_id, "yellow": m.yellow_at, "red": m.red_at,
              "due": m.red_at - timedelta(seconds=1), "announced": m.announced, "next": m.next_at()}
             for m in moves])
        deltas: Counter = Counter()
        for r in session.execute(select_rows, {"ids": ids}):
            tally.add_change(deltas, before[r.id], tally.contribution(r))
        tally.apply(session, deltas)
        session.commit()


def clear_horizon(engine: Engine, until: datetime) -> int:
    """Push seeded instants due before ``until`` six hours later, so the idle windows are idle."""
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT id, yellow_at, red_at, announced_light FROM clock "
            "WHERE next_announce_at IS NOT NULL AND next_announce_at < :until"), {"until": until}).all()
    shift = timedelta(hours=6)
    moves = [ClockMove(r[0], r[1] + shift if r[3] == "white" else r[1],
                       r[2] + shift, r[3]) for r in rows]
    move_clocks(engine, moves)
    return len(moves)


def pick_white_clocks(engine: Engine, n: int, not_before: datetime) -> list[uuid.UUID]:
    """``n`` white clocks, all departments mixed, whose next instant is far off."""
    with engine.connect() as c:
        return list(c.scalars(text(
            "SELECT id FROM clock WHERE state = 'running' AND announced_light = 'white' "
            "AND next_announce_at > :far ORDER BY md5(id::text) LIMIT :n"),
            {"far": not_before + timedelta(days=1), "n": n}))


def midnight_transitions(engine: Engine, after: datetime) -> tuple[datetime, int]:
    """The first local midnight after ``after`` and how many transitions the seeded clocks have
    then: what a real midnight brings the scheduler all at once."""
    midnight = end_of_day(local_date(after))
    with engine.connect() as c:
        n = c.scalar(text("SELECT count(*) FILTER (WHERE yellow_at = :m) + count(*) FILTER (WHERE red_at = :m) "
                          "FROM clock WHERE state = 'running'"), {"m": midnight})
    return midnight, int(n or 0)


def spread_moves(ids: list[uuid.UUID], start: datetime, window: float) -> list[ClockMove]:
    """Instants spread evenly over [start, start + window]: a third turn yellow only, a third
    yellow then red 7 to 17 s later (within the window), a third (already yellow) red."""
    moves = []
    end = start + timedelta(seconds=window)
    for i, clock_id in enumerate(ids):
        at = start + timedelta(seconds=window * (i + 0.5) / len(ids))
        red = at + timedelta(seconds=7 + i % 11)
        if i % 3 == 0 or (i % 3 == 1 and red > end):
            moves.append(ClockMove(clock_id, at, at + timedelta(days=2), "white"))
        elif i % 3 == 1:
            moves.append(ClockMove(clock_id, at, red, "white"))
        else:
            moves.append(ClockMove(clock_id, at - timedelta(days=1), at, "yellow"))
    return moves


# ----------------------------------------------------------------------------- the worker


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Worker:
    """``esv worker`` on the bench database, its stderr kept."""

    def __init__(self, url: str) -> None:
        env = {**os.environ, "DATABASE_URL": url}
        command = [str(ESV), "worker"] if ESV.exists() else [
            sys.executable, "-c", "from esupervision.cli import main; main()", "worker"]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(60):
            self.stop()
            raise RuntimeError("esv worker did not start:\n" + "".join(self.lines))

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if "scheduler" in line and "running" in line:   # esv worker says it has started
                self._ready.set()

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def errors(self) -> list[str]:
        return [line.rstrip() for line in self.lines if "Traceback" in line or "failed" in line]


@contextmanager
def worker(url: str) -> Iterator[Worker]:
    w = Worker(url)
    try:
        yield w
    finally:
        w.stop()


def backend_pids(engine: Engine) -> list[int]:
    with engine.connect() as c:
        return list(c.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND pid <> pg_backend_pid()")))


def backend_cpu(pids: list[int]) -> float | None:
    try:
        return sum(cpu_seconds(pid) for pid in pids)
    except (OSError, IndexError, ValueError):
        return None


def commits(engine: Engine) -> int:
    with engine.connect() as c:
        c.execute(text("SELECT pg_stat_clear_snapshot()"))
        return int(c.scalar(text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")))


@dataclass
class Idle:
    seconds: float
    cpu: float
    backend_cpu: float | None
    transactions: int
    announced: int

    @property
    def percent(self) -> float:
        return 100 * self.cpu / self.seconds


def idle_window(engine: Engine, w: Worker, seconds: float, settle: float = 5.0) -> Idle:
    """CPU of the worker (and of its PostgreSQL backends) while nothing is due."""
    time.sleep(settle)
    pids = backend_pids(engine)
    before_ledger = light_events_count(engine)
    tx0 = commits(engine)
    b0, c0, t0 = backend_cpu(pids), cpu_seconds(w.pid), time.monotonic()
    time.sleep(seconds)
    c1, t1, b1 = cpu_seconds(w.pid), time.monotonic(), backend_cpu(pids)
    tx1 = commits(engine)
    return Idle(t1 - t0, c1 - c0, None if b0 is None or b1 is None else b1 - b0,
                tx1 - tx0 - 2, light_events_count(engine) - before_ledger)


def plans(engine: Engine) -> list[str]:
    """EXPLAIN ANALYZE of the scheduler's two idle queries: the claim and the next instant."""
    from esupervision.workers.lights import due_query
    out = []
    with engine.connect() as c:
        for name, statement in (("claim", due_query(now_utc(), 500)),
                                ("next instant", select(func.min(Clock.next_announce_at)))):
            compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
            rows = c.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) " + compiled.string,
                                     compiled.params).scalars()
            lines = [line.strip() for line in rows]
            # The top node, its buffers (all pages touched), and every scan under it.
            keep = lines[:2] + [line.removeprefix("->  ") for line in lines[2:] if "Scan" in line]
            out.append(f"plan, {name}: " + " / ".join(keep))
        c.rollback()
    return out


def light_events_count(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.scalar(text("SELECT count(*) FROM ledger_event WHERE kind LIKE 'light.%'")))


# ----------------------------------------------------------------------------- watching


@dataclass
class Seen:
    event_id: int
    clock_id: uuid.UUID
    kind: str
    due_instant: datetime
    recorded_at: datetime
    visible_at: datetime


@dataclass
class Watch:
    """Polls the ledger for new light events, as a subscriber would hear them."""

    engine: Engine
    poll: float
    seen: list[Seen] = field(default_factory=list)
    polls: int = 0
    _last_id: int = 0

    def poll_once(self) -> int:
        with self.engine.connect() as c:
            started = now_utc()   # the snapshot is taken at the query's start: a bound on commit
            rows = c.execute(text(
                "SELECT id, kind, data->>'clock_id', data->>'due_instant', recorded_at "
                "FROM ledger_event WHERE id > :last AND kind LIKE 'light.%' ORDER BY id"),
                {"last": self._last_id}).all()
        self.polls += 1
        for r in rows:
            self.seen.append(Seen(r[0], uuid.UUID(r[2]), r[1], datetime.fromisoformat(r[3]), r[4], started))
            self._last_id = max(self._last_id, r[0])
        return len(rows)

    def until(self, deadline: datetime, expected: int | None = None) -> None:
        while now_utc() < deadline and (expected is None or len(self.seen) < expected):
            self.poll_once()
            time.sleep(self.poll)


# ----------------------------------------------------------------------------- reporting


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Latency:
    name: str
    expected: int
    announced: int
    missing: int
    duplicates: int
    unexpected: int
    recorded: list[float]
    visible: list[float]

    def summary(self) -> str:
        def stats(xs: list[float]) -> str:
            if not xs:
                return "n/a"
            return (f"p50 {1000 * percentile(xs, 0.5):.0f} ms, p99 {1000 * percentile(xs, 0.99):.0f} ms, "
                    f"max {1000 * max(xs):.0f} ms")
        return (f"{self.name}: {self.announced:,} of {self.expected:,} due transitions announced "
                f"(missing {self.missing}, twice {self.duplicates}, unexpected {self.unexpected}); "
                f"visible to a subscriber {stats(self.visible)}; recorded_at − due {stats(self.recorded)}")

    @property
    def ok(self) -> bool:
        return (not self.missing and not self.duplicates and not self.unexpected and bool(self.visible)
                and percentile(self.visible, 0.99) <= 1.0)


def judge(name: str, expected: list[Transition], seen: list[Seen]) -> Latency:
    want = {(t.clock_id, t.kind): t.due_instant for t in expected}
    counts = Counter((s.clock_id, s.kind) for s in seen)
    mine = [s for s in seen if (s.clock_id, s.kind) in want]
    wrong_instant = sum(1 for s in mine if s.due_instant != want[(s.clock_id, s.kind)])
    return Latency(
        name, len(want), len({(s.clock_id, s.kind) for s in mine}),
        missing=sum(1 for key in want if key not in counts),
        duplicates=sum(n - 1 for key, n in counts.items() if key in want and n > 1),
        unexpected=len(seen) - len(mine) + wrong_instant,
        recorded=[(s.recorded_at - s.due_instant).total_seconds() for s in mine],
        visible=[(s.visible_at - s.due_instant).total_seconds() for s in mine],
    )


# ----------------------------------------------------------------------------- phases


def seeded_database(url: str, clocks: int) -> tuple[Engine, float, int]:
    """Schema by the migrations (as ``esv worker`` expects), then ``clocks`` open cases."""
    upgrade(url)
    add_model_additions(url)   # tables and indexes the migration does not have yet
    engine = make_engine(url)
    seed_catalogue(engine)
    t0 = time.perf_counter()
    seed_cases(engine, clocks, now_utc())
    moved = clear_horizon(engine, now_utc() + QUIET_HORIZON)
    return engine, time.perf_counter() - t0, moved


def open_clocks(engine: Engine) -> tuple[int, int]:
    with engine.connect() as c:
        running = int(c.scalar(text("SELECT count(*) FROM clock WHERE state = 'running'")))
        pending = int(c.scalar(text("SELECT count(*) FROM clock WHERE next_announce_at IS NOT NULL")))
    return running, pending


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clocks", type=int, default=1_000_000, help="open clocks, large database")
    parser.add_argument("--small", type=int, default=10_000, help="open clocks, small database (idle CPU)")
    parser.add_argument("--due", type=int, default=2000, help="clocks made due over the window")
    parser.add_argument("--window", type=float, default=60, help="seconds the due instants spread over")
    parser.add_argument("--burst", type=int, default=-1,
                        help="clocks turning yellow at one instant (default: as many transitions as the "
                             "seeded clocks have at the next local midnight; 0: none)")
    parser.add_argument("--idle", type=float, default=30, help="seconds of each idle CPU window")
    parser.add_argument("--notice", type=float, default=60,
                        help="seconds between moving the burst's clocks and their instant")
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between the watcher's polls")
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    lines: list[str] = []
    load_before = os.getloadavg()[0]

    with fresh_postgres() as url:
        engine, seed_s, moved = seeded_database(url, args.small)
        running, pending = open_clocks(engine)
        with worker(url) as w:
            small = idle_window(engine, w, args.idle)
            small_errors = w.errors()
        engine.dispose()
    print(f"small: {running:,} open clocks; idle {small.cpu:.2f} s CPU over {small.seconds:.1f} s", flush=True)

    with fresh_postgres() as url:
        engine, seed_s, moved = seeded_database(url, args.clocks)
        running_large, pending_large = open_clocks(engine)
        midnight, at_midnight = midnight_transitions(engine, now_utc() + QUIET_HORIZON)
        burst_size = at_midnight if args.burst < 0 else args.burst
        print(f"large: {running_large:,} open clocks seeded in {seed_s:.0f} s; {at_midnight:,} transitions "
              f"at {midnight.astimezone(SH):%m-%d %H:%M} Asia/Shanghai", flush=True)
        with worker(url) as w:
            large = idle_window(engine, w, args.idle)
            print(f"large: idle {large.cpu:.2f} s CPU over {large.seconds:.1f} s", flush=True)
            idle_plans = plans(engine)
            watch = Watch(engine, args.poll)
            watch.poll_once()
            baseline = len(watch.seen)

            # Spread: --due clocks over --window seconds, starting a few seconds from now.
            ids = pick_white_clocks(engine, args.due + burst_size, now_utc())
            start = now_utc() + timedelta(seconds=5)
            spread = spread_moves(ids[:args.due], start, args.window)
            move_clocks(engine, spread)
            end = start + timedelta(seconds=args.window)
            spread_expected = [t for m in spread for t in m.transitions(end)]
            watch.until(end + timedelta(seconds=5))
            spread_seen = watch.seen[baseline:]
            mark = len(watch.seen)

            # Burst: clocks turning yellow at the same instant, as a day's do at local midnight.
            burst_expected: list[Transition] = []
            if burst_size:
                # A midnight's clocks are set days before it: the scheduler is given --notice.
                at = now_utc() + timedelta(seconds=args.notice)
                burst = [ClockMove(i, at, at + timedelta(days=2), "white") for i in ids[args.due:]]
                move_clocks(engine, burst)
                if now_utc() >= at:
                    raise RuntimeError("moving the burst's clocks took longer than its lead; raise it")
                burst_expected = [t for m in burst for t in m.transitions(at)]
                watch.until(at + timedelta(seconds=120), expected=mark + len(burst_expected))
                watch.until(now_utc() + timedelta(seconds=3))
            burst_seen = watch.seen[mark:]
            large_errors = w.errors()
        engine.dispose()

    spread_result = judge(f"spread ({args.due:,} clocks over {args.window:.0f} s)", spread_expected, spread_seen)
    burst_result = (judge(f"burst ({burst_size:,} clocks turning yellow at one instant; the seeded clocks "
                          f"have {at_midnight:,} transitions at the next local midnight)", burst_expected, burst_seen)
                    if burst_size else None)
    ratio = large.cpu / small.cpu if small.cpu else float("inf")
    lines.append(f"`esv worker` (LightScheduler defaults) in its own process, DATABASE_URL on a fresh "
                 f"database; a watcher polls the ledger every {1000 * args.poll:.0f} ms")
    lines.append(f"seeded {running_large:,} open case clocks ({pending_large:,} with a pending announcement) "
                 f"in {seed_s:.0f} s" + (f"; {moved:,} seeded instants within 30 min moved 6 h on" if moved else ""))
    lines.append(spread_result.summary() + (" — target met" if spread_result.ok else " — TARGET MISSED"))
    if burst_result:
        burst_span = (max(s.recorded_at for s in burst_seen) - min(s.recorded_at for s in burst_seen)
                      ).total_seconds() if burst_seen else 0
        lines.append(burst_result.summary() + (" — target met" if burst_result.ok else " — TARGET MISSED")
                     + (f"; {len(burst_seen) / burst_span:,.0f} announcements/s" if burst_span else "")
                     + f"; committed in {len({s.recorded_at for s in burst_seen})} pass(es), the clocks moved "
                       f"{args.notice:.0f} s before their instant")
    lines.append(f"idle CPU of the worker, {args.idle:.0f} s window with nothing due: {running:,} open clocks "
                 f"{small.cpu:.2f} s ({small.percent:.2f} % of a core), {running_large:,} open clocks "
                 f"{large.cpu:.2f} s ({large.percent:.2f} %); **ratio {ratio:.2f}** (target ≈ 1, not growing)")
    if small.backend_cpu is not None and large.backend_cpu is not None:
        lines.append(f"its PostgreSQL backends meanwhile: {small.backend_cpu:.2f} s and {large.backend_cpu:.2f} s CPU; "
                     f"~{small.transactions / small.seconds:.1f} and ~{large.transactions / large.seconds:.1f} "
                     f"commits/s; light events during the idle windows: {small.announced} and {large.announced}")
    lines += idle_plans
    lines.append(f"1-min load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end "
                 f"({os.cpu_count()} cores; other work on the machine shares them)")
    errors = small_errors + large_errors
    if errors:
        lines.append("worker errors: " + " | ".join(errors[:5]))
    record(f"Light scheduler over {running_large:,} open clocks (PostgreSQL)", command_line(), lines,
           keep=not args.no_record)


if __name__ == "__main__":
    main()
