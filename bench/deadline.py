"""Deadline arithmetic: ``WorkCalendar.add_working_days`` (prefix sums, O(1)) against the
``chinese-calendar`` package's ``get_workdays`` (a day-by-day scan), on the same random pairs.

    python bench/deadline.py [--pairs 100000] [--seed 20261126] [--budget 180]

Pairs are (start date in 2020-01-01 .. 2026-12-31, N in 1..60). The baseline finds the N-th
working day after ``start`` as ``get_workdays(start + 1 day, start + 2N + 30 days)[N - 1]``; the
package has no data after 2026, so its window is cut at 2026-12-31 and a pair whose deadline lies
in 2027 cannot be compared (ours is then a provisional, weekends-only answer); those are counted
and reported, not hidden. The baseline runs on every pair unless its projected time exceeds
``--budget`` seconds, in which case it stops after the first multiple of 5,000 pairs past the
budget check and the report says so. Every compared pair must give the same date, else exit 1.
The result is printed and appended as a section to ``bench/RESULTS.md``.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path

import chinese_calendar

from esupervision.models.clocks.calendar import WorkCalendar

FIRST_START = date(2020, 1, 1)
LAST_START = date(2026, 12, 31)
PACKAGE_LAST_DAY = date(2026, 12, 31)
MAX_N = 60
CHECK_EVERY = 5_000
OUR_REPEATS = 5
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def make_pairs(count: int, seed: int) -> list[tuple[date, int]]:
    rng = random.Random(seed)
    span = (LAST_START - FIRST_START).days
    return [(FIRST_START + timedelta(days=rng.randint(0, span)), rng.randint(1, MAX_N)) for _ in range(count)]


def baseline_deadline(start: date, n: int) -> date | None:
    """The N-th working day after ``start`` by the package's own scan, or None past its data."""
    first = start + timedelta(days=1)
    last = min(start + timedelta(days=2 * n + 30), PACKAGE_LAST_DAY)
    if first > last:
        return None
    workdays = chinese_calendar.get_workdays(first, last)
    return workdays[n - 1] if len(workdays) >= n else None


def time_ours(calendar: WorkCalendar, pairs: list[tuple[date, int]]) -> tuple[float, list[date]]:
    """Best wall time of OUR_REPEATS runs over all pairs, and the answers."""
    add = calendar.add_working_days
    best = float("inf")
    answers: list[date] = []
    for _ in range(OUR_REPEATS):
        began = time.perf_counter()
        answers = [add(start, n) for start, n in pairs]
        best = min(best, time.perf_counter() - began)
    return best, answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--budget", type=float, default=180.0, help="seconds the baseline may take")
    parser.add_argument("--no-append", action="store_true", help="print only, leave bench/RESULTS.md alone")
    args = parser.parse_args()

    pairs = make_pairs(args.pairs, args.seed)

    began = time.perf_counter()
    calendar = WorkCalendar.build()
    build_s = time.perf_counter() - began

    ours_s, ours = time_ours(calendar, pairs)
    ours_per_call = ours_s / len(pairs)

    baseline_s = 0.0
    done = compared = beyond = 0
    mismatches: list[str] = []
    for start, n in pairs:
        began = time.perf_counter()
        expected = baseline_deadline(start, n)
        baseline_s += time.perf_counter() - began
        if expected is None:
            beyond += 1
            if ours[done] <= PACKAGE_LAST_DAY:
                mismatches.append(f"{start} + {n}: baseline found no date in its data, ours {ours[done]}")
        else:
            compared += 1
            if expected != ours[done]:
                mismatches.append(f"{start} + {n}: baseline {expected}, ours {ours[done]}")
        done += 1
        if done % CHECK_EVERY == 0:
            projected = baseline_s / done * len(pairs)
            print(f"  baseline {done:,}/{len(pairs):,} pairs, {baseline_s:.1f} s, projected {projected:.0f} s",
                  file=sys.stderr)
            if projected > args.budget and done < len(pairs):
                break
    baseline_per_call = baseline_s / done
    ratio = baseline_per_call / ours_per_call
    sampled = done < len(pairs)

    lines = [
        f"## deadline: `WorkCalendar.add_working_days` vs `chinese_calendar.get_workdays` "
        f"({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)",
        "",
        f"- machine: {platform.machine()}, {len(os.sched_getaffinity(0))} CPUs (nproc), Python {platform.python_version()}, "
        f"chinese-calendar {version('chinese-calendar')}",
        "- command: `python bench/deadline.py` (from the repository root, in its venv)",
        f"- pairs: {len(pairs):,} random, start {FIRST_START} .. {LAST_START}, N 1..{MAX_N}, seed {args.seed}",
        f"- calendar build (once, 1990-2100): {build_s * 1e3:.1f} ms",
        f"- ours: {ours_per_call * 1e6:.3f} µs per call (best of {OUR_REPEATS} runs over all {len(pairs):,} pairs)",
        f"- baseline: `get_workdays(start + 1, min(start + 2N + 30, 2026-12-31))[N - 1]`: "
        f"{baseline_per_call * 1e6:.1f} µs per call over "
        + (f"a sample of the first {done:,} pairs (projected full run over budget {args.budget:.0f} s)"
           if sampled else f"all {done:,} pairs")
        + f", {baseline_s:.1f} s in all",
        f"- compared: {compared:,} pairs, {len(mismatches)} different; {beyond:,} not comparable "
        f"(deadline in 2027, past the package's data; ours is provisional there)",
        f"- **ratio: {ratio:,.0f}×** (baseline per call / ours per call; target ≥ 500×)",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    for mismatch in mismatches[:20]:
        print("MISMATCH", mismatch, file=sys.stderr)

    if not args.no_append:
        try:
            with RESULTS.open("x", encoding="utf-8") as results:
                results.write("# Benchmark results\n\n")
        except FileExistsError:
            pass
        with RESULTS.open("a", encoding="utf-8") as results:
            results.write("\n" + report)  # one write: other benches append their own sections
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
