"""Shared helpers for the benchmarks: fresh PostgreSQL databases, results in RESULTS.md."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
PG_ADMIN = os.environ.get("ESV_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_postgres(keep: bool = False):
    """A new empty PostgreSQL database; yields its URL and drops it afterwards."""
    name = f"esv_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        if not keep:
            with admin.connect() as c:
                c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def create_schema(engine: Engine) -> None:
    from sqlmodel import SQLModel

    from esupervision.models import tables  # noqa: F401
    SQLModel.metadata.create_all(engine)


def machine(pace: str | None = None) -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pg = ""
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    return (f"{platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"
            + (f", {pg}" if pg else "") + f"; {pace or speed()}")


def speed() -> str:
    """How fast this machine runs Python now, so numbers from different machines (and sessions)
    can be compared: the core issue's own yardstick (one ``chinese_calendar.get_workdays`` call
    over a 30-day span, "about 1.6 ms" where its targets were set) and a plain loop."""
    workdays, loop = speed_figures()
    return (f"speed: get_workdays over 30 days {workdays * 1e3:.2f} ms (the core issue's yardstick: 1.6 ms), "
            f"sum(range(1000)) {loop * 1e6:.1f} µs")


def speed_figures() -> tuple[float, float]:
    """Seconds for one ``get_workdays`` over 30 days, and for one ``sum(range(1000))`` (best of 5)."""
    import timeit
    from datetime import date, timedelta

    import chinese_calendar

    start = date(2026, 3, 2)
    end = start + timedelta(days=30)
    workdays = min(timeit.repeat(lambda: chinese_calendar.get_workdays(start, end), number=200, repeat=5)) / 200
    loop = min(timeit.repeat("sum(range(1000))", number=20000, repeat=5)) / 20000
    return workdays, loop


# RESULTS.md: the title, a few lines on reading it, the summary table (one row a benchmark: its
# latest figure), then one "## <date>" part a day, newest first, each holding that day's runs as
# "### <title> — <time>" sections, newest first.
TABLE_HEAD = ("| benchmark | latest figure | target | date | machine speed |", "|---|---|---|---|---|")


def record(title: str, command: str, lines: list[str], *, keep: bool = True,
           summary: tuple[str, str, str] | None = None) -> None:
    """Print a run's lines and add them as one section to bench/RESULTS.md, first under the
    day's heading (never rewriting other sections); ``summary`` = (benchmark, figure, target)
    replaces that benchmark's row of the summary table. ``keep=False`` (a bench's
    ``--no-record``) only prints them."""
    if not keep:
        print("\n".join(lines))
        return
    import fcntl
    workdays, loop = speed_figures()
    pace = (f"speed: get_workdays over 30 days {workdays * 1e3:.2f} ms (the core issue's yardstick: 1.6 ms), "
            f"sum(range(1000)) {loop * 1e6:.1f} µs")
    now = datetime.now(timezone.utc)
    body = "\n".join(f"- {line}" for line in lines)
    section = (f"### {title} — {now:%Y-%m-%d %H:%M} UTC\n\nMachine: {machine(pace)}\n\n"
               f"Command: `{command}`\n\n{body}\n")
    # Benches run side by side: one writer at a time.
    with open(RESULTS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
        text = with_section(text, f"{now:%Y-%m-%d}", section)
        if summary is not None:
            name, figure, target = summary
            pace_cell = f"sum(range(1000)) {loop * 1e6:.1f} µs, get_workdays {workdays * 1e3:.2f} ms"
            text = with_summary_row(text, [name, figure, target, f"{now:%Y-%m-%d}", pace_cell])
        RESULTS.write_text(text, encoding="utf-8")
    print("\n".join(lines))


def with_section(text: str, day: str, section: str) -> str:
    """``text`` with ``section`` first under the heading of ``day`` (added, newest first, if new)."""
    rows = text.splitlines(keepends=True)
    days = [i for i, row in enumerate(rows) if row.startswith("## ")]
    today = next((i for i in days if rows[i][3:].split()[0] == day), None)
    if today is not None:
        return "".join(rows[:today + 1] + ["\n", section] + rows[today + 1:])
    at = days[0] if days else len(rows)
    head = "".join(rows[:at])
    return head + ("" if head.endswith("\n\n") else "\n") + f"## {day}\n\n{section}\n" + "".join(rows[at:])


def with_summary_row(text: str, cells: list[str]) -> str:
    """``text`` with the summary table's row of ``cells[0]`` replaced (or added, and the table
    with it if there is none), before the first day's heading."""
    row = "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |\n"
    rows = text.splitlines(keepends=True)
    end = next((i for i, r in enumerate(rows) if r.startswith("## ")), len(rows))
    table = [i for i in range(end) if rows[i].startswith("|")]
    if not table:
        rows[end:end] = [TABLE_HEAD[0] + "\n", TABLE_HEAD[1] + "\n", row, "\n"]
        return "".join(rows)
    for i in table[2:]:
        if rows[i].split("|")[1].strip() == cells[0]:
            rows[i] = row
            return "".join(rows)
    rows.insert(table[-1] + 1, row)
    return "".join(rows)


def command_line() -> str:
    return "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


def add_model_additions(url: str) -> list[str]:
    """Bring a bench database (migrated, or seeded under an older revision) to the models when
    they only add tables, columns, indexes and constraints that no revision has yet (the lead
    regenerates the migration at integration); a table the models no longer have is left in
    place (nothing reads or writes it); anything else (a dropped column, a changed type) must
    reseed. Returns what was added."""
    from alembic import command
    from alembic.autogenerate import produce_migrations
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from alembic.operations import ops as alembic_ops

    from esupervision.db import make_engine
    from esupervision.migrate import config, current, head, table_metadata
    additions = (alembic_ops.CreateTableOp, alembic_ops.CreateIndexOp, alembic_ops.AddColumnOp,
                 alembic_ops.AddConstraintOp)
    engine = make_engine(url)
    added = []
    try:
        with engine.begin() as c:
            context = MigrationContext.configure(c)
            steps = []
            for op in produce_migrations(context, table_metadata()).upgrade_ops.ops:
                steps.extend(op.ops if isinstance(op, alembic_ops.ModifyTableOps) else [op])
            gone = {op.table_name for op in steps if isinstance(op, alembic_ops.DropTableOp)}
            steps = [op for op in steps if not (isinstance(op, (alembic_ops.DropTableOp, alembic_ops.DropIndexOp))
                                                and op.table_name in gone)]
            other = [op for op in steps if not isinstance(op, additions)]
            if other:
                raise SystemExit(f"the database differs from the models beyond additions; reseed: {other[:3]}")
            operations = Operations(context)
            # Tables before the indexes and constraints that may name them.
            for op in sorted(steps, key=lambda op: not isinstance(op, alembic_ops.CreateTableOp)):
                operations.invoke(op)
                added.append(type(op).__name__.removesuffix("Op") + " " + str(
                    getattr(op, "index_name", None) or getattr(op, "table_name", "")))
    finally:
        engine.dispose()
    if current(url) != head():
        command.stamp(config(url), "head", purge=True)
    return added
