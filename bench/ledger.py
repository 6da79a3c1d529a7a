"""Costs of the transparency log on PostgreSQL: what signing tree heads and serving inclusion
proofs cost the ingest, what the tree itself costs it, and how fast a large log verifies.

Part 0, the tree's own cost where it is paid: ``Ledger._place`` (chain hash, leaf hash, compact
range) over 20,000 events of one chain, CPU µs per event with the tree kept and switched off
(no database: the per-event work alone, median of 7).

Part 1, ratios against ingest without them. The events of ``bench/ingest.py`` (2,500 cases ×
accept, 2 advances, complete; batches of 500; two processes at once, one center, one chain) into
a fresh database each run, in these variants, alternated over ``--rounds``:

- ``plain``: ingest alone (the tree is kept as it always is, nothing signs or serves): the baseline;
- ``heads``: a third process runs the head signer meanwhile (``workers.ledger.HeadSigner``, a head
  every second while events arrive, published to a witness directory with its chain hashes);
- ``heads+proofs``: the signer, and a fourth process serving inclusion proofs of random events
  under the newest head over HTTP (the Starlette app in process, ``/ledger/{center}/inclusion``)
  at ``--proof-rate`` a second;
- ``no-tree``: ingest with the tree's upkeep switched off (no compact range, no stored subtree
  roots), to show what keeping the tree costs the ingest itself.

Part 2, a large log (``--verify-cases`` × 4 events and what the listeners add, ``--timely``
reports, one chain): ingested the same way, one head signed and published, then verified as
``esv ledger verify`` does (chain, tree, heads, witness; events/s), the projections compared with
the ledger replayed (rows/s; ``--no-projections`` skips it), and ``--proofs`` inclusion proofs served
(models and HTTP, latency) with a consistency proof.

    python bench/ledger.py [--cases 2500] [--rounds 2] [--proof-rate 20] [--verify-cases 250000]
                           [--proofs 500] [--no-projections] [--no-record]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.common import command_line, create_schema, fresh_postgres, record  # noqa: E402
from bench.ingest import SOURCE, backend_cpu, check, events_for, run_workers  # noqa: E402
from esupervision.db import make_engine  # noqa: E402
from esupervision.models.ledger import ledger as ledger_module  # noqa: E402
from esupervision.models.ledger.ledger import LedgerEvent, LedgerHead, signer_from_settings  # noqa: E402
from tests.builders import build_city  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 2, 9, tzinfo=SH)
NOW = datetime(2026, 11, 26, 9, tzinfo=SH)


class _NoTree:
    """Stands in for the compact range when the tree's upkeep is switched off."""

    size = 0

    def append(self, leaf: bytes) -> list:
        return []

    def dumps(self) -> str:
        return ""

    @classmethod
    def loads(cls, size: int, text: str) -> _NoTree:
        return cls()


@contextmanager
def tree_switched_off():
    saved = ledger_module.CompactRange, ledger_module.Ledger._rebuild_tree
    ledger_module.CompactRange = _NoTree  # type: ignore[misc, assignment]
    ledger_module.Ledger._rebuild_tree = lambda self, center_id, size: _NoTree()  # type: ignore[method-assign]
    try:
        yield
    finally:
        ledger_module.CompactRange, ledger_module.Ledger._rebuild_tree = saved  # type: ignore[method-assign]


def _signer_process(url: str, witness: str, ready, stop, results) -> None:  # noqa: ANN001
    from esupervision.witness import DirectoryWitness
    from esupervision.workers.ledger import HeadSigner
    engine = make_engine(url)
    signer = HeadSigner(engine, DirectoryWitness(witness), signer_from_settings(), interval=1.0, poll=0.2)
    signer.tick()   # the catalogue's head, before the clock starts
    ready.release()
    cpu = time.process_time()
    while not stop.is_set():
        signer.tick()
        stop.wait(0.2)
    signer.tick()   # the burst's end
    results.put(("heads", signer.signed, signer.published, time.process_time() - cpu))
    engine.dispose()


def _proof_process(url: str, rate: float, ready, stop, results) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    from esupervision.api.app import create_app
    from esupervision.models.ledger.tree import latest_head
    engine = make_engine(url)
    client = TestClient(create_app(engine))
    client.get("/healthz")
    ready.release()
    rng = random.Random(7)
    latencies: list[float] = []
    cpu = time.process_time()
    next_at = time.perf_counter()
    while not stop.is_set():
        with Session(engine) as s:
            center = s.scalar(select(LedgerHead.center_id).order_by(LedgerHead.seq.desc()).limit(1))
            head = latest_head(s, center) if center else None
        if head is not None:
            t0 = time.perf_counter()
            answer = client.get(f"/ledger/{center}/inclusion", params={"seq": rng.randint(1, head.size)})
            latencies.append(time.perf_counter() - t0)
            assert answer.status_code == 200, answer.text
        next_at += 1 / rate
        stop.wait(max(0.0, next_at - time.perf_counter()))
    results.put(("proofs", len(latencies), latencies, time.process_time() - cpu))
    engine.dispose()


def ingest_run(variant: str, events, args) -> dict:  # noqa: ANN001
    """One timed ingest in a fresh database with ``variant``'s company; returns its numbers."""
    context = multiprocessing.get_context("fork")
    with fresh_postgres() as url, tempfile.TemporaryDirectory() as witness:
        engine = make_engine(url)
        create_schema(engine)
        build_city(engine)
        engine.dispose()
        stop, results, ready = context.Event(), context.Queue(), context.Semaphore(0)
        helpers = []
        if variant in ("heads", "heads+proofs"):
            helpers.append(context.Process(target=_signer_process, args=(url, witness, ready, stop, results)))
        if variant == "heads+proofs":
            helpers.append(context.Process(target=_proof_process, args=(url, args.proof_rate, ready, stop, results)))
        for helper in helpers:
            helper.start()
        for _ in helpers:   # each helper set up (app built, first head signed) before the ingest starts
            ready.acquire()
        ingest_args = SimpleNamespace(batch=500, timely=False, workers=2)
        if variant == "no-tree":
            with tree_switched_off():
                wall, cpu, pg_cpu, refused = run_workers(url, events, ingest_args, NOW)
        else:
            wall, cpu, pg_cpu, refused = run_workers(url, events, ingest_args, NOW)
        stop.set()
        company = {}
        for _ in helpers:
            kind, *numbers = results.get()
            company[kind] = numbers
        for helper in helpers:
            helper.join()
        engine = make_engine(url)
        if variant == "no-tree":   # no tree to verify: every event recorded, every case completed
            with Session(engine) as s:
                recorded = s.scalar(select(func.count()).select_from(LedgerEvent).where(LedgerEvent.source == SOURCE))
            if recorded != len(events):
                raise SystemExit(f"incomplete run: {recorded} of {len(events)} events")
        else:
            check(engine, len(events) // 4, len(events))
        engine.dispose()
    return {"variant": variant, "wall": wall, "rate": len(events) / wall, "cpu": cpu, "pg_cpu": pg_cpu,
            "refused": refused, **company}


def part_zero() -> list[str]:
    import uuid

    from esupervision.models.ledger.merkle import CompactRange

    class _NoAppend:
        def append(self, leaf: bytes) -> list:
            return []

    def place(tree: bool, n: int = 20_000) -> float:
        ledger = ledger_module.Ledger(None)  # type: ignore[arg-type]  (no database: _place only)
        center = uuid.uuid4()
        ledger._heads[center] = None  # type: ignore[assignment]
        ledger._tips[center] = (0, ledger_module.GENESIS)
        ledger._ranges[center] = CompactRange() if tree else _NoAppend()  # type: ignore[assignment]
        at = NOW
        changes = [{"table": "case", "id": str(uuid.uuid4()), "values": {"status": "accepted", "n": k,
                                                                         "note": "受理" * 20}} for k in range(3)]
        for k in range(n):
            ledger.append(center_id=center, kind="case.accept", subject_type="case", subject_id=uuid.uuid4(),
                          occurred_at=at, recorded_at=at, data={"k": k}, changes=changes)
        cpu = time.process_time()
        ledger._place()
        return (time.process_time() - cpu) / n * 1e6

    with_tree = statistics.median(place(True) for _ in range(7))
    without = statistics.median(place(False) for _ in range(7))
    return [f"part 0: placing an event on its chain (chain hash of a ~1 kB event, its leaf, the compact range): "
            f"{with_tree:.2f} µs CPU with the tree, {without:.2f} µs without: the tree adds "
            f"{with_tree - without:.2f} µs an event (a subtree root row every 8 events on average besides)"]


def part_one(args) -> list[str]:  # noqa: ANN001
    events = events_for(args.cases, START)
    variants = ["plain", "heads", "heads+proofs", "no-tree"]
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for round_ in range(args.rounds):
        for variant in (variants if round_ % 2 == 0 else list(reversed(variants))):
            run = ingest_run(variant, events, args)
            runs[variant].append(run)
            print(f"  {variant}: {run['rate']:,.0f} events/s", flush=True)
    median = {v: statistics.median(r["rate"] for r in runs[v]) for v in variants}
    cpu = {v: statistics.median(r["cpu"] + r["pg_cpu"] for r in runs[v]) for v in variants}
    lines = [
        f"part 1: {len(events):,} events ({args.cases:,} cases × 4) per run through casework.ingest, batches of "
        f"500, two processes on one chain, fresh database each run; {args.rounds} rounds, variants alternated; "
        "medians",
    ]
    for v in variants:
        rates = ", ".join(f"{r['rate']:,.0f}" for r in runs[v])
        lines.append(f"{v}: {median[v]:,.0f} events/s (runs {rates}); CPU of the ingest processes and their "
                     f"backends {cpu[v]:.2f} s; ratio to plain {median[v] / median['plain']:.2f} (CPU "
                     f"{cpu[v] / cpu['plain']:.2f})")
    heads = [r["heads"] for r in runs["heads"] + runs["heads+proofs"]]
    if heads:
        lines.append(f"head signer (own process, a head a second while events arrive and one at the burst's end, "
                     f"published with its chain hashes): {statistics.median(h[0] for h in heads):.0f} heads signed "
                     f"and published per run, its CPU {statistics.median(h[2] for h in heads):.2f} s per run")
    proofs = [r["proofs"] for r in runs["heads+proofs"]]
    if proofs:
        latencies = sorted(x for p in proofs for x in p[1])
        lines.append(f"proof client at {args.proof_rate:g}/s during ingest: {sum(p[0] for p in proofs):,} inclusion "
                     f"proofs over HTTP, p50 {statistics.median(latencies) * 1e3:.1f} ms, p99 "
                     f"{latencies[int(len(latencies) * 0.99) - 1] * 1e3:.1f} ms; serving process CPU "
                     f"{statistics.median(p[2] for p in proofs):.2f} s per run")
    return lines


def part_two(args) -> list[str]:  # noqa: ANN001
    from starlette.testclient import TestClient

    from esupervision.api.app import create_app
    from esupervision.models.ledger.audit import compare_projections
    from esupervision.models.ledger.ledger import verify_chains
    from esupervision.models.ledger.proofs import check_document, consistency_document, inclusion_document
    from esupervision.models.ledger.tree import sign_heads
    from esupervision.witness import DirectoryWitness, publish_heads

    events = events_for(args.verify_cases, START - timedelta(days=60))
    lines = []
    with fresh_postgres() as url, tempfile.TemporaryDirectory() as folder:
        engine = make_engine(url)
        create_schema(engine)
        build_city(engine)
        engine.dispose()
        wall, cpu, pg_cpu, refused = run_workers(url, events, SimpleNamespace(batch=500, timely=True, workers=2), NOW)
        engine = make_engine(url)
        with Session(engine) as s:
            total = s.scalar(select(func.count()).select_from(LedgerEvent))
            center, size = s.execute(select(LedgerHead.center_id, LedgerHead.seq).order_by(LedgerHead.seq.desc())).first()
        lines.append(f"part 2: {len(events):,} reported events ({args.verify_cases:,} cases × 4, timely), "
                     f"{total:,} ledger events in all with what the listeners added ({size:,} on the one chain); "
                     f"ingested by two processes in {wall:.0f} s = {len(events) / wall:,.0f} events/s, refused {refused}")
        signer, witness = signer_from_settings(), DirectoryWitness(Path(folder) / "witness")
        half = size // 2
        with Session(engine) as s:
            t0 = time.perf_counter()
            heads = sign_heads(s, signer, now=NOW)
            s.commit()
            sign_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        published = publish_heads(engine, witness, signer.name)
        publish_s = time.perf_counter() - t0
        lines.append(f"signing {len(heads)} heads (the compact range on each chain's head folded, one Ed25519 "
                     f"signature each): {sign_s * 1e3:.1f} ms; publishing them with their {total:,} chain hashes "
                     f"to the witness directory: {publish_s:.1f} s ({published} heads)")
        verifier = signer.verifier()
        with Session(engine) as s:
            backend = s.scalar(select(func.pg_backend_pid()))
            pg0, t0, cpu0 = backend_cpu(engine).get(backend, 0.0), time.perf_counter(), time.process_time()
            reports = verify_chains(s, verifier, witness=witness)
            verify_s, verify_cpu = time.perf_counter() - t0, time.process_time() - cpu0
            verify_pg = backend_cpu(engine).get(backend, 0.0) - pg0
        breaches = [b for r in reports for b in r.breaches]
        checked = sum(r.events for r in reports)
        lines.append(f"verify (chain hashes recomputed, Merkle tree rebuilt and its stored roots compared, heads "
                     f"checked with the public key, every hash compared with the witness's): {checked:,} events in "
                     f"{verify_s:.1f} s = **{checked / verify_s:,.0f} events/s** wall; CPU of the verifier "
                     f"{verify_cpu:.1f} s and of its PostgreSQL backend {verify_pg:.1f} s, i.e. "
                     f"{checked / (verify_cpu + verify_pg):,.0f} events per CPU second; breaches {len(breaches)}")
        if not args.no_projections:
            with Session(engine) as s:
                backend = s.scalar(select(func.pg_backend_pid()))
                pg0, t0, cpu0 = backend_cpu(engine).get(backend, 0.0), time.perf_counter(), time.process_time()
                differences = compare_projections(s)
                projections_s, projections_cpu = time.perf_counter() - t0, time.process_time() - cpu0
                projections_pg = backend_cpu(engine).get(backend, 0.0) - pg0
            lines.append(f"projections compared with the ledger replayed in memory: {projections_s:.1f} s wall "
                         f"({total / projections_s:,.0f} events/s replayed and compared); CPU {projections_cpu:.1f} s "
                         f"and its backend's {projections_pg:.1f} s; differences {len(differences)}")
        rng = random.Random(11)
        seqs = [rng.randint(1, size) for _ in range(args.proofs)]
        model_ms, http_ms = [], []
        with Session(engine) as s:
            for seq in seqs:
                t0 = time.perf_counter()
                document = inclusion_document(s, center, seq)
                model_ms.append((time.perf_counter() - t0) * 1e3)
            check_document(document, verifier)
        client = TestClient(create_app(engine))
        for seq in seqs:
            t0 = time.perf_counter()
            answer = client.get(f"/ledger/{center}/inclusion", params={"seq": seq})
            http_ms.append((time.perf_counter() - t0) * 1e3)
            assert answer.status_code == 200
        check_document(answer.json(), verifier)
        with Session(engine) as s:   # a head of half the chain, signed as the signer would have then
            from esupervision.models.ledger.checkpoint import TreeHead, origin_for
            from esupervision.models.ledger.ledger import LedgerTreeHead
            from esupervision.models.ledger.tree import root_at
            root = root_at(s, center, half)
            s.add(LedgerTreeHead(center_id=center, size=half, root=root.hex(), signed_at=NOW,
                                 note=signer.sign(TreeHead(origin_for(signer.name, center), half, root, NOW))))
            s.commit()
            t0 = time.perf_counter()
            document = consistency_document(s, center, half, size)
            consistency_ms = (time.perf_counter() - t0) * 1e3
            check_document(document, verifier)

        def pct(values: list[float], q: float) -> float:
            return sorted(values)[max(0, int(len(values) * q) - 1)]
        lines.append(f"inclusion proofs of {args.proofs} random events under the head of {size:,}: from the models "
                     f"p50 {statistics.median(model_ms):.2f} ms, p99 {pct(model_ms, 0.99):.2f} ms; over HTTP "
                     f"p50 {statistics.median(http_ms):.2f} ms, p99 {pct(http_ms, 0.99):.2f} ms "
                     f"({1e3 / statistics.mean(http_ms):,.0f} proofs/s from one client); a consistency proof "
                     f"from {half:,} to {size:,}: {consistency_ms:.1f} ms")
        engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--proof-rate", type=float, default=20.0)
    parser.add_argument("--verify-cases", type=int, default=250_000)
    parser.add_argument("--proofs", type=int, default=500)
    parser.add_argument("--no-projections", action="store_true")
    parser.add_argument("--skip-part-one", action="store_true")
    parser.add_argument("--skip-part-two", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    lines = part_zero()
    lines += [] if args.skip_part_one else part_one(args)
    if not args.skip_part_two:
        lines += part_two(args)
    lines.append(f"1-min load average {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
                 "(2 cores, shared with other work)")
    record("Transparency log: heads, proofs and verification (PostgreSQL)", command_line(), lines,
           keep=not args.no_record)


if __name__ == "__main__":
    main()
