"""Signed tree heads on a timer and at the end of each burst of commits, published to the witness
directory (append-only checkpoint files, with the chain hashes each added)."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.cases.report import CaseAction
from esupervision.models.ledger import checkpoint
from esupervision.models.ledger.checkpoint import origin_for
from esupervision.models.ledger.ledger import LedgerEvent, LedgerHead, LedgerTreeHead, signer_from_settings
from esupervision.witness import DirectoryWitness, WitnessConflict
from esupervision.workers.ledger import HeadSigner
from tests.builders import accept, apply, build_city, event

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=SH)


@pytest.fixture
def city(engine, fixed_time):  # noqa: ANN001, ANN201
    build_city(engine)
    return engine


def lengths(engine) -> dict:  # noqa: ANN001
    with Session(engine) as s:
        return {h.center_id: h.seq for h in s.scalars(select(LedgerHead))}


def test_heads_come_on_a_timer_while_events_arrive_and_when_a_burst_ends(city, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    witness = DirectoryWitness(tmp_path / "witness")
    signer = HeadSigner(city, witness, signer_from_settings(), interval=3600.0)
    assert signer.tick() > 0                        # never signed: the catalogue's chains get heads now
    accept(city, "A1", T0)
    assert signer.tick() == 0                       # still arriving, and the last head is recent
    apply(city, event("A1", CaseAction.ADVANCE, T0 + timedelta(minutes=5)))
    assert signer.tick() == 0
    assert signer.tick() == 1                       # nothing new since the last look: the burst ended
    assert signer.tick() == 0                       # nothing more to sign
    chains = lengths(city)
    for center_id, size in chains.items():
        origin = origin_for("esupervision", center_id)
        assert witness.latest_size(origin) == size
        assert witness.sizes(origin)[-1] == size
        heads = [checkpoint.verify(note, signer_from_settings().verifier()) for note in witness.checkpoints(origin)]
        assert [h.size for h in heads] == witness.sizes(origin)
        with Session(city) as s:
            hashes = s.scalars(select(LedgerEvent.hash).where(LedgerEvent.center_id == center_id)
                               .order_by(LedgerEvent.seq)).all()
        assert list(witness.leaves(origin)) == list(enumerate(hashes, start=1))

    monkeypatch.setattr(signer, "interval", 0.0)    # a head every look while events keep arriving
    accept(city, "A2", T0 + timedelta(hours=1))
    assert signer.tick() == 1
    accept(city, "A3", T0 + timedelta(hours=2))
    assert signer.tick() == 1


def test_the_witness_directory_is_append_only(city, tmp_path: Path) -> None:  # noqa: ANN001
    witness = DirectoryWitness(tmp_path / "witness")
    HeadSigner(city, witness, signer_from_settings()).tick()
    with Session(city) as s:
        head = s.scalars(select(LedgerTreeHead).order_by(LedgerTreeHead.size.desc())).first()
        origin = origin_for("esupervision", head.center_id)
        note, size = head.note, head.size
    assert witness.publish(origin, size, note, []) is False          # the same head again: nothing changes
    forged = note.split("\n")
    forged[2] = "A" * 43 + "="                                      # another root at the same size
    with pytest.raises(WitnessConflict):
        witness.publish(origin, size, "\n".join(forged), [])
    assert witness.checkpoint(origin, size) == note
    files = sorted(p.relative_to(witness.root).as_posix() for p in witness.root.rglob("*") if p.is_file())
    assert f"{origin}/checkpoint/{size:020d}" in files and f"{origin}/leaves/{size:020d}" in files
    assert not any(name.endswith(".tmp") for name in files)
