"""``esv import`` on a generated XES log: throughput and peak memory, against a bare ``iterparse``.

Generates a gzipped XES log of ``--events`` events (default 500,000) in cases of 2 to 6 events
(about 3.7 a case, the shape of a 150,000-case, 560,000-event permit log), then runs, each in
its own child process so its peak RSS is its own (``os.wait4``):

- baseline: a bare ``lxml.etree.iterparse`` loop over the same file, clearing each trace,
  counting events: the least any XES reader must do;
- check: the importer's first pass alone (``LogConversion``: read, convert, check every case,
  nothing written);
- import: ``import_file`` into a fresh SQLite database (both passes, every event through the
  ingest service and the ledger).

Prints events/s and peak RSS of each, and the ratios to the baseline. Target (issue 16): the
import's peak RSS well under 300 MB, whatever the log's size.

    python bench/importer.py [--events 500000] [--no-record]
"""
from __future__ import annotations

import argparse
import gzip
import inspect
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import command_line, record  # noqa: E402

MAPPING = """name: bench
format: xes
timezone: Asia/Shanghai
case:
  number: concept:name
  start: startDate
  end: endDate
  finished: {attribute: endDate, present: true}
event:
  activity: concept:name
  timestamp: time:timestamp
  resource: org:resource
catalogue:
  basis: working
  center: {code: BENCH-IMPORT, name: 导入基准中心}
  department: {code: D, name: 审批科}
  items: [{code: I, name: 许可, legal_days: 20, committed_days: 10}]
rules:
  - {activity: 补正告知, action: request_supplement}
  - {activity: 补正材料收到, action: supplement_received}
"""
STEPS = ["受理审查", "补正告知", "补正材料收到", "现场核查", "审核", "审批决定"]


def generate(path: Path, events: int, seed: int = 16) -> tuple[int, int]:
    """Write the log; returns (cases, events)."""
    rng = random.Random(seed)
    base = datetime(2024, 1, 2, 9, tzinfo=timezone(timedelta(hours=8)))
    written = cases = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as out:
        out.write('<?xml version="1.0" encoding="UTF-8" ?>\n<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n')
        while written < events:
            size = min(rng.randint(2, 6) if rng.random() < 0.9 else 2, events - written)
            start = base + timedelta(minutes=rng.randrange(0, 500 * 24 * 60))
            cases += 1
            parts = [f'<trace><string key="concept:name" value="B{cases:07d}"/>'
                     f'<date key="startDate" value="{start.isoformat()}"/>']
            at = start
            stamps = []
            for i in range(size):
                at += timedelta(hours=rng.randint(1, 60))
                stamps.append(at)
                step = STEPS[i] if size == 6 else ("受理审查" if i == 0 else rng.choice(["现场核查", "审核", "审批决定"]))
                parts.append(f'<event><string key="concept:name" value="{step}"/>'
                             f'<date key="time:timestamp" value="{at.isoformat()}"/>'
                             f'<string key="org:resource" value="S{rng.randint(1, 40):02d}"/></event>')
            if rng.random() < 0.85:
                parts.insert(2, f'<date key="endDate" value="{stamps[-1].isoformat()}"/>')
            parts.append("</trace>\n")
            out.write("".join(parts))
            written += size
        out.write("</log>\n")
    return cases, written


def bare_iterparse(path: str) -> int:
    from lxml import etree
    count = 0
    for _, element in etree.iterparse(gzip.open(path, "rb"), events=("end",), remove_comments=True,
                                      resolve_entities=False, no_network=True):
        tag = element.tag.rpartition("}")[2]
        if tag == "event":
            count += 1
        elif tag == "trace":
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    return count


def check_only(path: str, mapping: str) -> int:
    from esupervision.importing.convert import LogConversion
    conversion = LogConversion(path, mapping)
    for _ in conversion:
        pass
    conversion.check()
    return conversion.events


def full_import(path: str, mapping: str, url: str) -> int:
    from bench.common import create_schema
    from esupervision.db import make_engine
    from esupervision.importing.run import import_file
    engine = make_engine(url)
    create_schema(engine)
    counts = import_file(engine, Path(path), mapping)
    assert counts["refused"] == 0, counts["refusals"]
    return counts["events"]


def in_child(target, *args: str) -> tuple[int, float, int]:  # noqa: ANN001
    """Run ``target(*args)`` in a forked child; (its result, seconds, peak RSS in bytes)."""
    read, write = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 0
        try:
            os.write(write, str(target(*args)).encode())
        except BaseException as exc:  # noqa: BLE001
            os.write(write, f"error {exc!r}".encode())
            code = 1
        os._exit(code)
    os.close(write)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    answer = os.read(read, 4096).decode()
    os.close(read)
    if status != 0:
        raise SystemExit(f"{target.__name__} failed: {answer}")
    return int(answer), seconds, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="esv-bench-import-") as folder:
        log, mapping = Path(folder) / "bench.xes.gz", Path(folder) / "bench.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        cases, events = generate(log, args.events)
        print(f"generated {cases:,} cases, {events:,} events, {log.stat().st_size / 1e6:.1f} MB gzipped", flush=True)
        runs = {}
        for name, target, extra in (("baseline", bare_iterparse, ()), ("check", check_only, (str(mapping),)),
                                    ("import", full_import, (str(mapping), f"sqlite:///{folder}/bench.db"))):
            counted, seconds, rss = in_child(target, str(log), *extra)
            assert counted == events, (name, counted, events)
            runs[name] = (seconds, rss)
            print(f"{name}: {seconds:.1f} s, {events / seconds:,.0f} events/s, peak RSS {rss / 2**20:.0f} MB", flush=True)
    base_s, base_rss = runs["baseline"]
    lines = [f"generated XES log: {cases:,} cases, {events:,} events (gzipped)"]
    for name, label in (("baseline", "bare `iterparse` loop (clearing each trace)"),
                        ("check", "importer's check pass (`LogConversion`: read, convert, check; nothing written)"),
                        ("import", "`import_file` into SQLite (check pass, then every event through `ingest`)")):
        seconds, rss = runs[name]
        ratio = "" if name == "baseline" else f"; {seconds / base_s:.1f}× the baseline's time, {rss / base_rss:.1f}× its RSS"
        lines.append(f"{label}: {seconds:.1f} s, **{events / seconds:,.0f} events/s**, peak RSS **{rss / 2**20:.0f} MB**{ratio}")
    lines.append(f"load average at the end: {os.getloadavg()[0]:.1f} (shared machine)")
    seconds, rss = runs["import"]
    figure = (f"{events:,} events: import {events / seconds:,.0f} events/s ({seconds / base_s:.0f}× a bare iterparse), "
              f"peak RSS {rss / 2**20:.0f} MB")
    kwargs = {}
    if "summary" in inspect.signature(record).parameters:
        kwargs["summary"] = ("importer (`bench/importer.py`)", figure, "peak RSS well under 300 MB")
    record("esv import of a generated XES log (SQLite)", command_line(), lines, keep=not args.no_record, **kwargs)


if __name__ == "__main__":
    main()
