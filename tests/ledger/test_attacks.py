"""Attacks on a copy of a demo-like database (SQLite and PostgreSQL), each detected by the
verification with the public key and the witness alone, and named by the first seq affected.

The attacker here can do anything to the database (rewrite rows, recompute every hash, rebuild
the stored tree and the head) but holds no signing key and cannot change the witness."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlmodel import Session

from esupervision.models.cases.case import Case, CaseStatus
from esupervision.models.clocks.clock import Clock
from esupervision.models.ledger.audit import audit
from esupervision.models.ledger.ledger import (NODE_LEVEL, LedgerEvent, LedgerHead, LedgerTreeHead, LedgerTreeNode,
                                               Tamper, canonical_json, chain_digest, event_body, event_leaf)
from esupervision.models.ledger.merkle import CompactRange
from esupervision.models.ledger.replay import fold
from tests.ledger.conftest import DemoCopy


def check(copy: DemoCopy, projections: bool = False):
    with Session(copy.engine) as s:
        return audit(s, copy.verifier, witness=copy.witness, projections=projections)


def rewrite_from(copy: DemoCopy, center_id: uuid.UUID, seq: int, change) -> None:  # noqa: ANN001
    """What a thorough attacker does: change event ``seq``, then re-hash every event after it, and
    rebuild the stored tree and the chain's head to match (only the signatures cannot follow)."""
    with Session(copy.engine) as s:
        rows = s.scalars(select(LedgerEvent).where(LedgerEvent.center_id == center_id)
                         .order_by(LedgerEvent.seq)).all()
        compact, nodes, prev = CompactRange(), [], rows[0].prev_hash
        for row in rows:
            if row.seq == seq:
                change(row)
            if row.seq >= seq:
                row.prev_hash = prev
                row.hash = chain_digest(prev, canonical_json(event_body(row))).hex()
            prev = row.hash
            nodes += [(level, index, node) for level, index, node in compact.append(event_leaf(row.hash))
                      if level >= NODE_LEVEL]
        s.flush()
        s.execute(delete(LedgerTreeNode).where(LedgerTreeNode.center_id == center_id))
        s.add_all(LedgerTreeNode(center_id=center_id, level=level, node_index=index, hash=node.hex())
                  for level, index, node in nodes)
        head = s.get(LedgerHead, center_id)
        head.hash, head.frontier = prev, compact.dumps()
        s.commit()


def test_an_untouched_ledger_verifies_with_the_public_key_and_the_witness(demo_copy: DemoCopy) -> None:
    report = check(demo_copy, projections=True)
    assert report.intact, report.lines()
    assert report.events > 1000 and report.projections_checked
    city = next(c for c in report.chains if c.center_id == demo_copy.city_chain())
    assert city.heads_checked >= 4 and city.uncovered == 0     # two heads, in the database and at the witness


def test_deleted_heads_and_rewritten_history_are_named_at_the_first_rewritten_seq(demo_copy: DemoCopy) -> None:
    city = demo_copy.city_chain()
    with Session(demo_copy.engine) as s:
        target = s.scalars(select(LedgerEvent).where(LedgerEvent.center_id == city, LedgerEvent.kind == "case.complete")
                           .order_by(LedgerEvent.seq).offset(3).limit(1)).one()
        target_seq, target_id = target.seq, target.id
        s.execute(delete(LedgerTreeHead))     # "verify never expects a checkpoint"
        s.commit()

    def backdate(row: LedgerEvent) -> None:
        row.occurred_at = row.occurred_at - timedelta(days=3)

    rewrite_from(demo_copy, city, target_seq, backdate)
    report = check(demo_copy)
    first = report.breaches[0]
    city_breaches = [b for b in report.breaches if b.center_id == city]
    assert min(b.seq for b in city_breaches) == target_seq
    rewritten = next(b for b in city_breaches if b.kind is Tamper.REWRITTEN)
    assert rewritten.seq == target_seq and rewritten.event_id == target_id
    # Every head the witness holds was removed from the database: each is named too.
    removed = [b for b in report.breaches if b.kind is Tamper.CHECKPOINT and "removed" in b.detail]
    assert len(removed) == sum(len(demo_copy.witness.sizes(o)) for o in demo_copy.witness.origins())
    assert first.seq <= target_seq

    # A witness holding only the signed heads still catches it, naming the seq after the last head proven.
    for origin in demo_copy.witness.origins():
        for bundle in (demo_copy.witness.root / origin / "leaves").iterdir():
            bundle.unlink()
    unproven = next(b for b in check(demo_copy).breaches if b.center_id == city and b.kind is Tamper.REWRITTEN)
    assert unproven.seq <= target_seq


def test_a_cut_tail_with_its_head_moved_back_is_named_at_the_first_missing_seq(demo_copy: DemoCopy) -> None:
    city = demo_copy.city_chain()
    with Session(demo_copy.engine) as s:
        size = s.get(LedgerHead, city).seq
        keep = size - 7
        s.execute(delete(LedgerEvent).where(LedgerEvent.center_id == city, LedgerEvent.seq > keep))
        hashes = s.scalars(select(LedgerEvent.hash).where(LedgerEvent.center_id == city).order_by(LedgerEvent.seq)).all()
        compact = CompactRange()
        for hash_ in hashes:
            compact.append(event_leaf(hash_))
        # The thorough attacker: head, compact range, stored roots and signed heads all moved back.
        s.execute(update(LedgerHead).where(LedgerHead.center_id == city)
                  .values(seq=keep, hash=hashes[-1], frontier=compact.dumps()))
        for node in s.scalars(select(LedgerTreeNode).where(LedgerTreeNode.center_id == city)):
            if (node.node_index + 1) << node.level > keep:
                s.delete(node)
        s.execute(delete(LedgerTreeHead).where(LedgerTreeHead.center_id == city, LedgerTreeHead.size > keep))
        s.commit()
    breaches = [b for b in check(demo_copy).breaches if b.center_id == city]
    assert breaches and breaches[0].seq == keep + 1 and breaches[0].kind in (Tamper.DELETED, Tamper.CHECKPOINT)
    assert any(b.kind is Tamper.DELETED and b.seq == keep + 1 and "witness" in b.detail for b in breaches)


def test_a_row_at_seq_0_completing_a_case_is_named_and_never_replayed(demo_copy: DemoCopy,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with Session(demo_copy.engine) as s:
        case = s.scalars(select(Case).where(Case.status == CaseStatus.ACCEPTED.value).order_by(Case.number)).first()
        model = s.scalars(select(LedgerEvent).where(LedgerEvent.subject_id == case.id).order_by(LedgerEvent.id)).first()
        forged = LedgerEvent(center_id=model.center_id, seq=0, kind="case.complete", subject_type="case",
                             subject_id=case.id, actor=model.actor, source=None, occurred_at=model.occurred_at,
                             recorded_at=model.recorded_at, data={"result": "approved"},
                             changes=[{"table": "case", "id": str(case.id),
                                       "set": {"status": CaseStatus.COMPLETED.value, "result": "approved"}}],
                             prev_hash=model.prev_hash, hash="0" * 64)
        forged.hash = chain_digest(forged.prev_hash, canonical_json(event_body(forged))).hex()
        s.add(forged)
        s.commit()
        forged_id, case_id = forged.id, str(case.id)
    report = check(demo_copy, projections=True)
    inserted = [b for b in report.breaches if b.kind is Tamper.INSERTED]
    assert [(b.seq, b.event_id) for b in inserted] == [(0, forged_id)]
    assert report.differences == []            # the row changes nothing: replay folds chain positions only
    with Session(demo_copy.engine) as s:
        assert fold(s)["case"][case_id]["status"] == CaseStatus.ACCEPTED.value
    assert replay_refused(demo_copy, monkeypatch)


def replay_refused(copy: DemoCopy, monkeypatch: pytest.MonkeyPatch) -> bool:
    """``esv ledger replay`` on the copy (public key from ESV_LEDGER_PUBLIC_KEY_FILE) refuses."""
    from click.testing import CliRunner

    from esupervision import db
    from esupervision.cli import main
    from esupervision.settings import get_settings
    monkeypatch.setattr(get_settings(), "database_url", copy.url)
    monkeypatch.setattr(get_settings(), "ledger_public_key_file", str(copy.key_file))
    monkeypatch.setattr(get_settings(), "ledger_witness", str(copy.witness.root))
    db.get_engine.cache_clear()
    try:
        result = CliRunner().invoke(main, ["ledger", "replay"])
    finally:
        db.get_engine.cache_clear()
    return result.exit_code == 1 and "not replayed" in result.output and "seq 0" in result.output


def test_projections_edited_in_their_tables_are_named_by_row_and_column(demo_copy: DemoCopy) -> None:
    with Session(demo_copy.engine) as s:
        case = s.scalars(select(Case).where(Case.status == CaseStatus.ACCEPTED.value).order_by(Case.number)).first()
        clock = s.get(Clock, case.clock_id)
        due = clock.due_at
        from esupervision.models.supervision.orders import Urge
        from esupervision.models.tenders.records import TenderStageRow
        urge = s.scalars(select(Urge).order_by(Urge.number)).first()
        stage = s.scalars(select(TenderStageRow).order_by(TenderStageRow.id)).first()
        ids = {"case": case.id, "clock": clock.id, "urge": urge.id, "tender_stage": stage.id}
        s.execute(update(Case).where(Case.id == case.id).values(status=CaseStatus.COMPLETED.value))
        s.execute(update(Clock).where(Clock.id == clock.id).values(due_at=due + timedelta(days=10)))
        s.execute(update(Urge).where(Urge.id == urge.id).values(message="已办结"))
        s.execute(update(TenderStageRow).where(TenderStageRow.id == stage.id).values(
            started_at=stage.started_at - timedelta(days=1)))
        s.commit()
    report = check(demo_copy, projections=True)
    assert report.breaches == []                  # the ledger itself is intact
    named = {(d.table, d.row_id, d.column) for d in report.differences}
    assert named == {("case", str(ids["case"]), "status"), ("clock", str(ids["clock"]), "due_at"),
                     ("urge", str(ids["urge"]), "message"), ("tender_stage", str(ids["tender_stage"]), "started_at")}
    case_difference = next(d for d in report.differences if d.table == "case")
    assert (case_difference.ledger, case_difference.live) == ("accepted", "completed")
    assert case_difference.written_by is not None and case_difference.written_by[1] > 0


def test_verify_from_the_command_line_needs_only_the_public_key(demo_copy: DemoCopy) -> None:
    """``esv ledger verify --public-key FILE --witness DIR`` with a signing seed in the environment
    that is no key at all: intact exits 0; after a cut tail it exits 1 naming the first seq."""
    env = {**os.environ, "DATABASE_URL": demo_copy.url, "ESV_LEDGER_SIGNING_KEY": "not-a-key"}
    command = [sys.executable, "-m", "esupervision.cli", "ledger", "verify", "--public-key", str(demo_copy.key_file),
               "--witness", str(demo_copy.witness.root), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["intact"] is True
    city = demo_copy.city_chain()
    with Session(demo_copy.engine) as s:
        size = s.get(LedgerHead, city).seq
        last = s.scalars(select(LedgerEvent.hash).where(LedgerEvent.center_id == city, LedgerEvent.seq == size - 3)).one()
        s.execute(delete(LedgerEvent).where(LedgerEvent.center_id == city, LedgerEvent.seq > size - 3))
        s.execute(update(LedgerHead).where(LedgerHead.center_id == city).values(seq=size - 3, hash=last))
        s.commit()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    breaches = json.loads(done.stdout)["breaches"]
    assert any(b["center_id"] == str(city) and b["seq"] == size - 2 and b["kind"] == "deleted" for b in breaches)


def test_a_whole_log_deleted_is_named_and_a_log_of_another_database_is_only_listed(demo_copy: DemoCopy) -> None:
    import shutil

    origins = demo_copy.witness.origins()
    county = next(uuid.UUID(o.rsplit("/", 1)[1]) for o in origins
                  if len(demo_copy.witness.sizes(o)) > 1 and uuid.UUID(o.rsplit("/", 1)[1]) != demo_copy.city_chain())
    # Another database's log at the same witness (a demo built again): listed, not a breach.
    stranger = uuid.uuid4()
    shutil.copytree(demo_copy.witness.root / origins[0], demo_copy.witness.root / "esupervision/ledger" / str(stranger))
    with Session(demo_copy.engine) as s:
        for model in (LedgerEvent, LedgerTreeNode, LedgerTreeHead, LedgerHead):
            s.execute(delete(model).where(model.center_id == county))
        s.commit()
    report = check(demo_copy)
    assert [c.center_id for c in report.chains if c.foreign] == [stranger]
    breaches = [b for b in report.breaches if b.center_id == county]
    assert breaches[0].seq == 1 and breaches[0].kind in (Tamper.DELETED, Tamper.CHECKPOINT)
    assert any(b.kind is Tamper.DELETED and b.seq == 1 for b in breaches)
    assert all(b.center_id == county for b in report.breaches)
