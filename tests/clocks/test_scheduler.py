"""The light scheduler announces each transition once, on the ledger and on the channel."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.clocks import transitions as transition_handlers
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.ledger.transaction import set_publisher, transaction
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
    from esupervision.models.cases.report import CaseAction
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


# ----------------------------------------------------------------------------- prepared passes

YELLOW_S1 = datetime(2026, 12, 3, 0, 0, tzinfo=SH)   # S1's case clock turns yellow at this midnight


def committed(engine) -> tuple[int, str | None]:
    """Light events and S1's announced light as another connection sees them, without waiting
    for the open pass (a raw read: SQLite's engine would BEGIN IMMEDIATE and wait for its lock)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT count(*) FROM ledger_event WHERE kind LIKE 'light.%'")
        (events,) = cursor.fetchone()
        cursor.execute('SELECT k.announced_light FROM clock k JOIN "case" c ON c.clock_id = k.id '
                       "WHERE c.number = 'S1'")
        (light,) = cursor.fetchone()
        raw.rollback()
        return events, light
    finally:
        raw.close()


@pytest.fixture
def before_midnight(engine, fixed_time):
    """S1 accepted; everything due before its yellow midnight already announced; 10 s before it."""
    build_city(engine)
    fixed_time.set(T0 + timedelta(minutes=1))
    accept(engine, "S1", T0)
    fixed_time.set(YELLOW_S1 - timedelta(minutes=1))
    while LightScheduler(engine).run_once():
        pass
    fixed_time.set(YELLOW_S1 - timedelta(seconds=10))
    return fixed_time


def test_a_prepared_pass_is_invisible_until_its_instant_then_committed_at_it(engine, before_midnight, channel):
    from esupervision.models.ledger.ledger import verify_ledger
    from esupervision.settings import get_settings
    from esupervision.workers import lights

    heard: list[dict] = []
    channel.subscribe(lambda topic, msg: heard.append(msg) if topic == "light.changed" else None)
    handled: list[tuple[datetime, list]] = []

    def handler(tx, transitions):   # registered handlers run in the pass, with its Transitions
        handled.append((tx.now, transitions))

    lights.on_transition("case", handler)
    seen_before: list[tuple[int, str | None]] = []
    events_before = committed(engine)[0]

    def until_instant(at: datetime) -> bool:
        seen_before.append(committed(engine))
        assert heard == []                      # nothing published yet
        before_midnight.set(at)                 # the instant comes
        return True

    try:
        count = lights.announce_at(engine, YELLOW_S1, until_instant=until_instant)
    finally:
        transition_handlers.handlers_for("case").remove(handler)
    assert count >= 1
    assert seen_before == [(events_before, "white")]     # prepared, written, not visible
    events, light = committed(engine)
    assert light == "yellow" and events > events_before
    (message,) = [m for m in heard if m["number"] == "S1" and m["subject_type"] == "case"]
    assert message["light"] == "yellow" and message["previous"] == "white"
    with Session(engine) as s:
        event = s.scalars(select(LedgerEvent).where(LedgerEvent.kind == "light.yellow",
                                                    LedgerEvent.subject_type == "case")).one()
    assert event.occurred_at == YELLOW_S1 and event.recorded_at == YELLOW_S1
    assert message["ledger_id"] == event.id
    ((now, transitions),) = handled
    assert now == YELLOW_S1
    assert [(t.light, t.previous, t.number, t.event.kind) for t in transitions] == [
        ("yellow", "white", "S1", "light.yellow")]
    with Session(engine) as s:
        assert verify_ledger(s, get_settings().ledger_signing_key)[1] is None


@pytest.mark.parametrize("comes", [False, True], ids=["stopped", "instant-not-reached"])
def test_a_prepared_pass_whose_instant_does_not_come_announces_nothing(engine, before_midnight, channel, comes):
    from esupervision.workers.lights import announce_at

    heard: list[dict] = []
    channel.subscribe(lambda topic, msg: heard.append(msg))
    events_before = committed(engine)[0]
    # Stopped while waiting, or the waiter returns before the time source reaches the instant.
    assert announce_at(engine, YELLOW_S1, until_instant=lambda at: comes) == 0
    assert committed(engine) == (events_before, "white") and heard == []
    before_midnight.set(YELLOW_S1)
    assert LightScheduler(engine).run_once() >= 1          # the ordinary pass still says it, once
    assert committed(engine) == (events_before + 1, "yellow")


@pytest.mark.postgres_only   # SKIP LOCKED sharing is a PostgreSQL behaviour; SQLite has one writer
def test_another_scheduler_skips_what_a_prepared_pass_holds(engine, before_midnight):
    from esupervision.workers.lights import announce_at

    others: list[int] = []

    def until_instant(at: datetime) -> bool:
        before_midnight.set(at)
        with transaction(engine) as tx:            # a second scheduler's pass at the instant
            others.append(announce_due(tx))
        others.append(announce_at(engine, at, until_instant=lambda _: True))   # or its own prepared one
        return True

    assert announce_at(engine, YELLOW_S1, until_instant=until_instant) >= 1
    assert others == [0, 0]
    with Session(engine) as s:
        announced = Counter((e.data["clock_id"], e.kind) for e in s.scalars(
            select(LedgerEvent).where(LedgerEvent.kind.like("light.%"))))
    assert set(announced.values()) == {1}
    assert LightScheduler(engine).run_once() == 0


def test_the_lead_grows_with_the_instants_transitions_and_is_bounded(engine):
    scheduler = LightScheduler(engine, max_lead=30)
    assert scheduler.lead(1) < 1
    assert scheduler.lead(1) < scheduler.lead(5_000) < scheduler.lead(16_667) <= 30
    assert scheduler.lead(10_000_000) == 30


def test_the_running_thread_never_announces_before_the_instant(engine, channel):
    """Real time: the thread prepares the pass ahead; the message comes at the instant, not before."""
    from esupervision.models.cases.report import CaseAction
    from tests.builders import apply, event

    build_city(engine)
    now = datetime.now(SH)
    due = now + timedelta(seconds=2)
    heard: list[tuple[datetime, dict]] = []
    got = threading.Event()

    def listen(topic: str, msg: dict) -> None:
        if msg.get("number") == "RT2" and msg.get("light") == "red":
            heard.append((datetime.now(SH), msg))
            got.set()

    channel.subscribe(listen)
    apply(engine, event("RT2", CaseAction.ACCEPT, now - timedelta(seconds=5), center_code="C01",
                        item_code="SCJ-001", attributes={"due_at": due.isoformat()}))
    # ahead_from=1: even this one clock's pass is prepared ahead (PostgreSQL; SQLite never does)
    scheduler = LightScheduler(engine, max_sleep=0.2, ahead_from=1)
    thread = scheduler.start_thread()
    try:
        assert got.wait(15), "the red light was never announced"
    finally:
        scheduler.stop()
        thread.join(5)
    ((heard_at, message),) = heard
    red_at = datetime.fromisoformat(message["due_instant"])
    assert heard_at >= red_at
    assert datetime.fromisoformat(message["announced_at"]) >= red_at
