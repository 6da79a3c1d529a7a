"""The life of an idempotency key (models/access/idempotency.py; README "Retries and idempotency"),
through the model's functions: claimed, running, answered or released, reused, abandoned, expired."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from esupervision.models.access import idempotency
from esupervision.models.access.idempotency import ABANDONED_AFTER, KEPT, ClaimState

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WHO = {"principal": "supervisor:supervisor", "key": "k"}


def claim(engine, at: datetime, request_hash: str = "h1") -> idempotency.Claim:
    with Session(engine) as s:
        return idempotency.claim(s, **WHO, request_hash=request_hash, now=at)


def commit_change(engine) -> None:
    """What a transaction of the keyed request does: mark the key, in that transaction, and commit."""
    with Session(engine) as s:
        idempotency.mark_committed(s, **WHO)
        s.commit()


def finish(engine, status: int | None = 200, answer: str | None = '{"data": {}}') -> bool:
    with Session(engine) as s:
        return idempotency.finish(s, **WHO, status=status, answer=answer)


def test_a_committed_request_is_answered_again_and_another_request_refused(engine) -> None:
    assert claim(engine, T0).state is ClaimState.NEW
    assert claim(engine, T0 + timedelta(seconds=1)).state is ClaimState.RUNNING   # still running: wait
    commit_change(engine)
    assert finish(engine, 200, '{"data": {"urge": 1}}') is True
    again = claim(engine, T0 + timedelta(hours=1))
    assert (again.state, again.status, again.answer) == (ClaimState.REPLAY, 200, '{"data": {"urge": 1}}')
    assert claim(engine, T0 + timedelta(hours=1), "h2").state is ClaimState.REUSED


def test_a_request_that_committed_nothing_releases_its_key(engine) -> None:
    assert claim(engine, T0).state is ClaimState.NEW
    assert finish(engine, 200, '{"errors": []}') is False
    assert claim(engine, T0 + timedelta(seconds=1), "h2").state is ClaimState.NEW   # free, for any request


def test_an_abandoned_claim_is_taken_over_unless_it_committed(engine) -> None:
    # A request that died before committing anything leaves its key to the retry …
    assert claim(engine, T0).state is ClaimState.NEW
    assert claim(engine, T0 + ABANDONED_AFTER).state is ClaimState.NEW
    # … one that died after committing, before its answer was stored, is never run again.
    commit_change(engine)
    assert finish(engine, None, None) is False
    assert claim(engine, T0 + 2 * ABANDONED_AFTER).state is ClaimState.LOST


def test_a_key_is_kept_24_hours(engine) -> None:
    assert claim(engine, T0).state is ClaimState.NEW
    commit_change(engine)
    finish(engine)
    assert claim(engine, T0 + KEPT - timedelta(seconds=1), "h2").state is ClaimState.REUSED
    assert claim(engine, T0 + KEPT, "h2").state is ClaimState.NEW
