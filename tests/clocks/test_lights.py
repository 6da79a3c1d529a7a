"""Counts and lists by light: the tally agrees with the clocks whatever happens to the cases."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from esupervision.models.errors import DomainError
from esupervision.models.clocks.light import Light
from esupervision.models.clocks.lights_query import cases_by_light, light_counts, light_counts_by_scan, overview
from esupervision.models.cases.report import CaseAction
from tests.builders import build_city, event, report

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=SH)

ACTIONS = [CaseAction.ADVANCE, CaseAction.REQUEST_SUPPLEMENT, CaseAction.SUPPLEMENT_RECEIVED,
           CaseAction.SUSPEND, CaseAction.RESUME, CaseAction.EXTEND, CaseAction.COMPLETE, CaseAction.WITHDRAW]


def plain(counts):
    return {d: {k: v[k] for k in ("white", "yellow", "red")} for d, v in counts.items()
            if any(v[k] for k in ("white", "yellow", "red"))}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(st.tuples(st.integers(0, 7), st.sampled_from(ACTIONS), st.integers(1, 30 * 24)),
                       min_size=5, max_size=40),
       probe_hours=st.lists(st.integers(0, 40 * 24), min_size=3, max_size=6))
def test_tally_counts_equal_a_scan_of_the_clocks(engine, fixed_time, empty_tables, script, probe_hours):
    from esupervision.migrate import table_metadata

    empty_tables(engine, table_metadata().sorted_tables)
    build_city(engine)
    fixed_time.set(datetime(2027, 6, 1, tzinfo=SH))
    when = {n: T0 + timedelta(hours=n) for n in range(8)}
    report(engine, *[event(f"P{n}", CaseAction.ACCEPT, when[n], center_code="C01",
                           item_code="ZJJ-JOINT" if n % 3 == 0 else "SCJ-001") for n in range(8)])
    for n, action, hours in script:
        when[n] += timedelta(hours=hours)
        attrs = {"kind": "testing"} if action is CaseAction.SUSPEND else \
            {"days": 3, "approved_by": "局长"} if action is CaseAction.EXTEND else {}
        department = "SCJ" if action is CaseAction.ADVANCE and n % 2 else None
        report(engine, event(f"P{n}", action, when[n], attributes=attrs, department_code=department))
    with Session(engine) as s:
        for hours in probe_hours:
            now = T0 + timedelta(hours=hours)
            for subject in ("case", "step"):
                from esupervision.models.clocks.clock import SubjectType
                kind = SubjectType(subject)
                assert plain(light_counts(s, now=now, subject_type=kind)) == \
                    light_counts_by_scan(s, now=now, subject_type=kind)


def test_red_page_is_most_urgent_first_and_overview_counts(engine, fixed_time):
    build_city(engine)
    fixed_time.set(datetime(2026, 12, 31, tzinfo=SH))
    report(engine, *[event(f"R{n}", CaseAction.ACCEPT, T0 + timedelta(days=n), center_code="C01",
                           item_code="SCJ-001") for n in range(6)])
    now = datetime(2026, 11, 13, 12, tzinfo=SH)
    with Session(engine) as s:
        page = cases_by_light(s, light=Light.RED, now=now, limit=50)
        reds = [c.number for c, _ in page]
        assert reds and [clock.red_at for _, clock in page] == sorted(clock.red_at for _, clock in page)
        assert all(clock.red_at <= now for _, clock in page)
        body = overview(s, now=now)
    city = next(c for c in body["centers"] if c["center_code"] == "C01")
    assert city["lights"]["red"] == len(reds)
    assert sum(city["lights"][k] for k in ("white", "yellow", "red")) == 6


def test_department_feeds_reporting_at_once_keep_the_tally_and_the_chain(engine, fixed_time):
    """Several department systems report batches at the same moment (the API's processes do):
    every batch commits, each event once, on one unbroken chain, and the light tally, written
    last in each transaction, still agrees with the clocks."""
    import threading

    from sqlalchemy import func, select

    from esupervision.models.clocks.clock import SubjectType
    from esupervision.models.ledger.ledger import LedgerEvent, verify_ledger
    from esupervision.settings import get_settings

    build_city(engine)
    fixed_time.set(datetime(2026, 12, 31, tzinfo=SH))
    feeds, rounds = 3, 4
    barrier, outcomes, errors = threading.Barrier(feeds), [], []

    def feed(f: int) -> None:
        try:
            barrier.wait(10)
            for r in range(rounds):
                at = T0 + timedelta(hours=r)
                numbers = [f"F{f}-{r}-{n}" for n in range(5)]
                batch = [event(n, CaseAction.ACCEPT, at, center_code="C01", item_code="SCJ-001") for n in numbers]
                batch += [event(n, CaseAction.ADVANCE, at + timedelta(minutes=30)) for n in numbers[:3]]
                batch += [event(n, CaseAction.COMPLETE, at + timedelta(minutes=40), attributes={"result": "approved"})
                          for n in numbers[:1]]
                outcomes.extend(report(engine, *batch, source=f"dept:feed{f}"))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=feed, args=(f,)) for f in range(feeds)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert len(outcomes) == feeds * rounds * 9 and {o.status for o in outcomes} == {"accepted"}
    with Session(engine) as s:
        assert verify_ledger(s, get_settings().ledger_signing_key)[1] is None
        per_source = dict(s.execute(select(LedgerEvent.source, func.count()).where(
            LedgerEvent.source.like("dept:feed%")).group_by(LedgerEvent.source)).all())
        assert per_source == {f"dept:feed{f}": rounds * 9 for f in range(feeds)}
        for hours in (0, 12, 24 * 3, 24 * 10, 24 * 30):
            now = T0 + timedelta(hours=hours)
            for kind in (SubjectType.CASE, SubjectType.STEP):
                counts = plain(light_counts(s, now=now, subject_type=kind))
                assert counts == light_counts_by_scan(s, now=now, subject_type=kind)
        running = plain(light_counts(s, now=T0, subject_type=SubjectType.CASE))
        assert sum(sum(lights.values()) for lights in running.values()) == feeds * rounds * 4   # one of 5 completed
