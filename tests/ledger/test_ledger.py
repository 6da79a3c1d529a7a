"""The ledger: hash chain per center, its Merkle tree and signed heads, tamper detection, exact replay.
(The attacks with a witness are in ``test_attacks.py``, proofs in ``test_proofs.py``.)"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text, update
from sqlmodel import Session

from esupervision.models.ledger.ledger import LedgerEvent, LedgerTreeHead, Tamper, signer_from_settings, verify_ledger
from esupervision.models.ledger.replay import replay, snapshot
from esupervision.models.cases.report import CaseAction
from esupervision.settings import get_settings
from tests.builders import accept, apply, build_city, event

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)


@pytest.fixture
def history(engine, fixed_time):
    build_city(engine)
    fixed_time.set(datetime(2026, 12, 31, tzinfo=SH))
    for n in range(6):
        number = f"H{n}"
        accept(engine, number, T0 + timedelta(hours=n))
        apply(engine, event(number, CaseAction.ADVANCE, T0 + timedelta(hours=n, minutes=30)))
        if n % 2:
            apply(engine, event(number, CaseAction.REQUEST_SUPPLEMENT, T0 + timedelta(days=1, hours=n)))
            apply(engine, event(number, CaseAction.SUPPLEMENT_RECEIVED, T0 + timedelta(days=4, hours=n)))
        if n % 3 == 0:
            apply(engine, event(number, CaseAction.COMPLETE, T0 + timedelta(days=6, hours=n)))
    return engine


def verify(engine):
    with Session(engine) as s:
        return verify_ledger(s, get_settings().ledger_signing_key)


def nth_event(engine, seq: int) -> LedgerEvent:
    with Session(engine) as s:
        center = s.scalars(select(LedgerEvent.center_id).where(LedgerEvent.kind == "case.accept")).first()
        return s.scalars(select(LedgerEvent).where(LedgerEvent.center_id == center,
                                                   LedgerEvent.seq == seq)).one()


def test_intact_ledger_verifies(history):
    checked, breach = verify(history)
    assert breach is None and checked > 20


def test_altered_event_is_named(history):
    target = nth_event(history, 12)
    with Session(history) as s:
        s.execute(update(LedgerEvent).where(LedgerEvent.id == target.id)
                  .values(occurred_at=target.occurred_at - timedelta(days=2)))
        s.commit()
    _, breach = verify(history)
    assert breach is not None and breach.kind is Tamper.ALTERED and breach.seq == 12
    assert breach.event_id == target.id


def test_deleted_event_is_named(history):
    target = nth_event(history, 15)
    with Session(history) as s:
        s.execute(text("DELETE FROM ledger_event WHERE id = :id"), {"id": target.id})
        s.commit()
    _, breach = verify(history)
    assert breach is not None and breach.kind is Tamper.DELETED and breach.seq == 15


def test_reordered_events_are_caught(history):
    a, b = nth_event(history, 13), nth_event(history, 14)
    with Session(history) as s:   # swap their positions by hand
        s.execute(update(LedgerEvent).where(LedgerEvent.id == a.id).values(seq=-1))
        s.execute(update(LedgerEvent).where(LedgerEvent.id == b.id).values(seq=13))
        s.execute(update(LedgerEvent).where(LedgerEvent.id == a.id).values(seq=14))
        s.commit()
    _, breach = verify(history)
    assert breach is not None and breach.seq == 13
    assert breach.kind in (Tamper.ALTERED, Tamper.REORDERED)


def sign(engine):
    from esupervision.models.ledger.tree import sign_heads

    with Session(engine) as s:
        heads = sign_heads(s, signer_from_settings(), now=datetime(2026, 12, 31, tzinfo=SH))
        s.commit()
        return [(h.center_id, h.size) for h in heads]


def test_forged_tail_is_caught_by_the_signed_tree_head(history):
    from esupervision.models.ledger.ledger import chain_hash, event_body

    sign(history)
    last = nth_event(history, 10)
    with Session(history) as s:
        # A forger rewrites event 10 and recomputes every hash after it, but cannot re-sign.
        rows = s.scalars(select(LedgerEvent).where(LedgerEvent.center_id == last.center_id,
                                                   LedgerEvent.seq >= 10).order_by(LedgerEvent.seq)).all()
        prev = rows[0].prev_hash
        for row in rows:
            if row.seq == 10:
                row.data = {**row.data, "forged": True}
            row.prev_hash = prev
            row.hash = chain_hash(prev, event_body(row))
            prev = row.hash
        s.execute(text("UPDATE ledger_head SET hash = :h WHERE center_id = :c"),
                  {"h": prev, "c": last.center_id.hex if history.dialect.name == "sqlite" else last.center_id})
        s.commit()
    _, breach = verify(history)
    # The tree's stored subtree roots or the signed head name the rewrite; without a witness the
    # first seq is known only up to the head (test_attacks.py names it exactly with one).
    assert breach is not None and breach.kind in (Tamper.CHECKPOINT, Tamper.TREE) and breach.seq <= 10


def test_replay_rebuilds_the_projection_exactly(history):
    from esupervision.models.clocks.lights_query import light_counts, light_counts_by_scan

    now = datetime(2026, 12, 2, 12, tzinfo=SH)
    with Session(history) as s:
        live = snapshot(s)
        lights = light_counts(s, now=now)
    assert live["case"] and live["step"] and live["clock"]
    with Session(history) as s:
        counts = replay(s)
        s.commit()
    with Session(history) as s:
        rebuilt = snapshot(s)
        assert light_counts(s, now=now) == lights
        scanned = light_counts_by_scan(s, now=now)
    assert {k: v for k, v in counts.items() if k in live} == {name: len(rows) for name, rows in live.items()}
    assert rebuilt == live
    assert {d: {k: v[k] for k in ("white", "yellow", "red")} for d, v in lights.items()
            if any(v[k] for k in ("white", "yellow", "red"))} == scanned


def test_tree_heads_are_signed_outside_the_writers_and_verify(history):
    from esupervision.models.ledger import checkpoint
    from esupervision.models.ledger.ledger import LedgerHead
    from esupervision.models.ledger.merkle import root_of
    from esupervision.models.ledger.ledger import event_leaf

    with Session(history) as s:
        assert s.scalars(select(LedgerTreeHead)).all() == []   # appending signs nothing
    signed = sign(history)
    assert signed and sign(history) == []                     # nothing grew: nothing more to sign
    verifier = signer_from_settings().verifier()
    with Session(history) as s:
        for row in s.scalars(select(LedgerTreeHead)):
            head = checkpoint.verify(row.note, verifier)
            hashes = s.scalars(select(LedgerEvent.hash).where(LedgerEvent.center_id == row.center_id)
                               .order_by(LedgerEvent.seq)).all()
            assert head.size == row.size == len(hashes) == s.get(LedgerHead, row.center_id).seq
            assert head.root == root_of([event_leaf(h) for h in hashes])
    assert verify(history)[1] is None


def test_row_documents_encode_as_their_canonical_values():
    """A row given to the ledger as it holds it is written byte for byte as its canonical JSON
    values (ids and instants as text, JSON columns canonical), so replay compares like with like."""
    import uuid
    from datetime import date, timezone

    from esupervision.models.supervision.accountability import FaultRecord
    from esupervision.models.clocks.calendar import WorkCalendar
    from esupervision.models.clocks.clock import Basis, SubjectType, pause_clock, start_clock
    from esupervision.models.ledger.ledger import canonical_json, format_instant, row_fields, row_values

    clock = start_clock(WorkCalendar.build(), center_id=uuid.uuid4(), subject_type=SubjectType.CASE,
                        subject_id=uuid.uuid4(), started_at=T0, limit_days=5, basis=Basis.WORKING)
    pause_clock(clock, at=T0 + timedelta(hours=1), kind="supplement")
    fault = FaultRecord(
        id=uuid.uuid4(), key="late_report:x", center_id=uuid.uuid4(), kind="late_report", category="c",
        source="derived", subject_type="case", subject_id=uuid.uuid4(), occurred_at=T0,
        recorded_at=T0.astimezone(timezone.utc), description="办件 H1：迟报",
        evidence={"at": T0, "day": date(2026, 11, 26), "ids": (uuid.uuid4(), 2), "z": {"b": 1.5, "a": None}},
        event_ids=[3, 1], recorded_by="system:faults")
    for row in (clock, fault):
        assert canonical_json(row_fields(row)) == canonical_json(row_values(row))
    assert row_values(fault)["occurred_at"] == format_instant(T0) == "2026-11-26T01:00:00.000000Z"
