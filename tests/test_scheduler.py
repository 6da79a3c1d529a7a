"""The light scheduler announces each transition once, on the ledger and on the channel."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.ledger import LedgerEvent
from esupervision.models.transaction import set_publisher, transaction
from esupervision.workers.channel import InProcessChannel
from esupervision.workers.lights import LightScheduler, announce_due, next_due
from tests.builders import accept, build_city

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)


@pytest.fixture
def channel():
    ch = InProcessChannel()
    set_publisher(ch.publish)
    yield ch
    set_publisher(None)


def light_events(engine) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return [(e.kind, e.data.get("number")) for e in s.scalars(
            select(LedgerEvent).where(LedgerEvent.kind.like("light.%")).order_by(LedgerEvent.id))]


def test_yellow_then_red_announced_once_each(engine, fixed_time, channel):
    build_city(engine)
    fixed_time.set(T0 + timedelta(minutes=1))
    accept(engine, "S1", T0)   # case: yellow at 12-03 00:00, red at 12-04 00:00 (steps have their own)
    heard: list[dict] = []
    channel.subscribe(lambda topic, msg: heard.append(msg) if topic == "light.changed" else None)
    scheduler = LightScheduler(engine)
    assert scheduler.run_once() == 0
    fixed_time.set(datetime(2026, 12, 3, 0, 0, 1, tzinfo=SH))
    scheduler.run_once()
    fixed_time.set(datetime(2026, 12, 4, 0, 0, 1, tzinfo=SH))
    scheduler.run_once()
    scheduler.run_once()   # nothing left to say
    case_events = [kind for kind, number in light_events(engine) if number == "S1"]
    with Session(engine) as s:
        kinds = s.scalars(select(LedgerEvent.kind).where(LedgerEvent.kind.like("light.%"),
                                                          LedgerEvent.subject_type == "case")).all()
    assert kinds == ["light.yellow", "light.red"]
    assert "light.red" in case_events
    case_msgs = [m for m in heard if m["subject_type"] == "case"]
    assert [m["light"] for m in case_msgs] == ["yellow", "red"]
    assert case_msgs[1]["due_instant"].startswith("2026-12-03T16:00:00")   # 12-04 00:00 +08:00


def test_next_due_is_the_earliest_pending_instant(engine, fixed_time):
    build_city(engine)
    fixed_time.set(T0 + timedelta(minutes=1))
    assert next_due(engine) is None
    accept(engine, "S2", T0)
    # The first step (受理, 1 working day) turns red at the end of 11-27; its yellow is at once.
    assert next_due(engine) is not None and next_due(engine) <= datetime(2026, 11, 28, tzinfo=SH)


@pytest.mark.postgres_only   # SKIP LOCKED sharing is a PostgreSQL behaviour; SQLite has one writer
def test_concurrent_schedulers_never_announce_twice(engine, fixed_time):
    build_city(engine)
    fixed_time.set(T0 + timedelta(minutes=1))
    for n in range(40):
        accept(engine, f"P{n}", T0)
    fixed_time.set(datetime(2026, 12, 10, tzinfo=SH))
    barrier = threading.Barrier(3)

    def work() -> None:
        barrier.wait()
        while True:
            with transaction(engine) as tx:
                if announce_due(tx, limit=7) == 0:
                    return

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with Session(engine) as s:
        announced = Counter((e.data["clock_id"], e.kind) for e in s.scalars(
            select(LedgerEvent).where(LedgerEvent.kind.like("light.%"))))
    assert announced and set(announced.values()) == {1}
    # every case clock (40) went straight to red and was announced once
    assert sum(1 for _, kind in announced if kind == "light.red") >= 40


def test_scheduler_thread_announces_when_due(engine, channel):
    """Real time: a clock due in a moment is announced by the running thread."""
    from esupervision.models.report import CaseAction
    from tests.builders import apply, event

    build_city(engine)
    now = datetime.now(SH)
    got = threading.Event()
    channel.subscribe(lambda topic, msg: got.set() if msg.get("number") == "RT1" and msg["light"] == "red" else None)
    apply(engine, event("RT1", CaseAction.ACCEPT, now - timedelta(seconds=5), center_code="C01",
                        item_code="SCJ-001", attributes={"due_at": (now + timedelta(seconds=1)).isoformat()}))
    scheduler = LightScheduler(engine, max_sleep=0.2)
    thread = scheduler.start_thread()
    try:
        assert got.wait(15), "the red light was never announced"
    finally:
        scheduler.stop()
        thread.join(5)
