"""The demo city of ``esv demo``: what a viewer relies on, built through the service functions
on SQLite and PostgreSQL."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.demo import PHASES, SOURCE as DEMO_SOURCE, DemoDatabaseNotEmpty, build_demo, plan_demo
from esupervision.demo_accounts import create_demo_accounts
from esupervision.models.clocks.calendar import default_calendar
from esupervision.models.cases.case import Case, CaseStatus, SuspendKind
from esupervision.models.catalogue.catalogue import Center, Department, Item, ItemMaterial, ItemStep, Staff
from esupervision.models.clocks.clock import LOCAL_TZ, Clock
from esupervision.models.ledger.ledger import LedgerEvent, verify_ledger
from esupervision.models.clocks.light import Light, light_at
from esupervision.models.ledger.replay import fold, snapshot
from esupervision.settings import get_settings
from tests.gql import GraphQLClient

CASES = 300


@pytest.fixture
def city(engine, fixed_time):
    """The demo with ``CASES`` cases, built at the fixed instant (a Thursday, 09:00 in Shanghai)."""
    phases: list[str] = []
    counts = build_demo(engine, now=fixed_time.now(), cases=CASES,
                        progress=lambda phase, done, total: phases.append(phase))
    return engine, counts, phases


def test_centers_departments_staff_and_catalogue(engine, fixed_time):
    counts = build_demo(engine, now=fixed_time.now(), cases=0)
    with Session(engine) as s:
        centers = s.scalars(select(Center)).all()
        by_level = Counter(c.level for c in centers)
        assert by_level["city"] == 1 and by_level["county"] == 3 and by_level["district"] == 2
        city = next(c for c in centers if c.level == "city")
        counties = [c for c in centers if c.level == "county"]
        for county in counties:
            townships = [c for c in centers if c.parent_id == county.id]
            assert 2 <= len(townships) <= 3 and all(t.level == "township" for t in townships)
            assert all(t.name.endswith("便民服务中心") for t in townships)
            assert s.scalar(select(func.count()).select_from(Department).where(Department.center_id == county.id)) >= 3
        assert all(c.parent_id == city.id for c in centers if c.level in ("county", "district"))

        departments = s.scalars(select(Department).where(Department.center_id == city.id)).all()
        assert len(departments) == 45
        assert {"市场监督管理局", "住房和城乡建设局", "人力资源和社会保障局", "住房公积金管理中心"} <= {d.name for d in departments}

        staff = s.scalars(select(Staff).where(Staff.center_id == city.id)).all()
        leaders = defaultdict(list)
        for person in staff:
            assert re.fullmatch(r"1390000\d{4}", person.phone or "")
            if person.is_leader:
                leaders[person.department_id].append(person)
        assert set(leaders) == {d.id for d in departments}
        assert all(len(ls) == 1 and ls[0].title in ("科长", "局长") for ls in leaders.values())
        assert all(p.window_id for p in staff if not p.is_leader)

        items = s.scalars(select(Item).where(Item.center_id == city.id)).all()
        assert len(items) == 677
        assert sum(i.in_center for i in items) == 564
        assert sum(i.supervised for i in items) == 502
        assert {i.kind for i in items} == {"licence", "non_licence", "public_service"}
        assert all(i.committed_days <= i.legal_days for i in items)
        assert {i.legal_days for i in items if i.kind == "licence" and not i.joint} >= {20}
        assert all(i.legal_days == 45 for i in items if i.joint and i.kind == "licence")
        assert any(i.committed_days == 0 for i in items) and any(i.committed_days == 1 for i in items)
        assert any(i.fee for i in items) and sum(not i.fee for i in items) > len(items) // 2
        joint = [i for i in items if i.joint]
        assert joint and all(i.co_department_ids for i in joint)

        steps = defaultdict(lambda: defaultdict(int))
        departments_per_seq = defaultdict(set)
        for step in s.scalars(select(ItemStep)):
            steps[step.item_id][step.seq] = max(steps[step.item_id][step.seq], step.limit_days)
            departments_per_seq[(step.item_id, step.seq)].add(step.department_id)
        assert all(sum(steps[i.id].values()) <= i.committed_days for i in items)
        assert all(max(len(departments_per_seq[(i.id, q)]) for q in steps[i.id]) > 1 for i in joint)
        codes = {i.id: i.code for i in items}
        forms = [m for m in s.scalars(select(ItemMaterial)) if m.form_url]
        assert forms and all(re.fullmatch(rf"/forms/{re.escape(codes[m.item_id])}/\d+\.pdf", m.form_url)
                             for m in forms)
    assert counts["centers"] == len(centers) and counts["city_departments"] == 45
    assert (counts["items"], counts["items_in_center"], counts["items_supervised"]) == (677, 564, 502)
    assert counts["cases"] == counts["events"] == counts["refused"] == 0


def test_cases_in_every_status_and_light_with_deadlines_at_day_end(city, fixed_time):
    engine, counts, phases = city
    now = fixed_time.now()
    assert counts["refused"] == 0 and counts["cases"] == CASES and counts["events"] > 4 * CASES
    assert set(phases) == set(PHASES)
    with Session(engine) as s:
        city_id = s.scalar(select(Center.id).where(Center.level == "city"))
        cases = s.scalars(select(Case).where(Case.center_id == city_id)).all()
        clocks = {c.id: c for c in s.scalars(select(Clock))}
        assert len(cases) == CASES
        assert {c.status for c in cases} == {status.value for status in CaseStatus}
        assert {c.channel for c in cases} == {"window", "online"}
        assert any(c.deemed_accepted for c in cases) and any(c.extension_days for c in cases)
        assert {"approved", "denied"} <= {c.result for c in cases}
        assert all(c.reason for c in cases if c.status in ("rejected", "prereview_failed"))
        assert all(re.fullmatch(r"99\d{15}[\dX]|91999900MA[0-9A-Z]{8}", c.applicant_id_number or "") for c in cases)
        assert all(c.applicant_name and c.applicant_phone for c in cases)

        suspended = {clocks[c.clock_id].pause_kind for c in cases if c.status == "suspended"}
        assert suspended == {kind.value for kind in SuspendKind}
        outcomes = {clocks[c.clock_id].outcome for c in cases if c.status == "completed"}
        assert outcomes == {"early", "on_time", "overdue"}

        running = [clocks[c.clock_id] for c in cases if c.status == "accepted"]
        assert {light_at(clock, now).light for clock in running} == {Light.WHITE, Light.YELLOW, Light.RED}
        # Some are open past their legal limit (法定时限) as well as their committed one, some not.
        over_legal = [c for c in cases if c.status == "accepted" and light_at(clocks[c.legal_clock_id], now).light
                      is Light.RED]
        red = [clock for clock in running if light_at(clock, now).light is Light.RED]
        assert 0 < len(over_legal) < len(red)
        assert all(c.legal_clock_id for c in cases if c.accepted_at is not None)

        # Every deadline is the end of its last day, 23:59:59 local (README "How time limits are
        # counted"): lights change at local midnights, and some change at the next one.
        sh = ZoneInfo("Asia/Shanghai")
        assert all(c.due_at.astimezone(sh).time() == time(23, 59, 59) for c in clocks.values() if c.due_at)
        next_midnight = datetime.combine(now.astimezone(sh).date() + timedelta(days=1), time(0), sh)
        turning = [c for c in clocks.values() if c.state == "running"
                   and light_at(c, now).light != light_at(c, next_midnight).light]
        assert len(turning) >= 20

        newest = s.scalar(select(func.max(LedgerEvent.occurred_at)))
        assert newest <= now


def test_counties_and_districts_inside_the_city_have_their_own_business(city, fixed_time):
    """The counties and districts the city's deployment keeps inside (not replicated) have items
    and cases of their own, so city-wide screens and statistics show every center."""
    engine, counts, _ = city
    assert counts["local_refused"] == 0 and counts["local_items"] == 3 * 6 * 2 + 2 * 5 * 2
    with Session(engine) as s:
        local = s.execute(select(Center.code, func.count(Case.id)).join(Case, Case.center_id == Center.id)
                          .where(Center.level.in_(["county", "district"])).group_by(Center.code)).all()
        items = s.scalar(select(func.count()).select_from(Item).join(Center, Center.id == Item.center_id)
                         .where(Center.level == "county"))
    assert {code for code, _ in local} == {"QH-LC", "QH-YX", "QH-BS", "QH-XJ", "QH-NH"}
    assert sum(n for _, n in local) == counts["local_cases"] and all(n > 0 for _, n in local)
    assert items == 36
    overview = GraphQLClient(engine).data("{ overview { centers { code lights { white yellow red paused } } } }")
    shown = {c["code"] for c in overview["overview"]["centers"] if any(c["lights"].values())}
    assert {"QH", "QH-LC", "QH-YX", "QH-BS"} <= shown


def test_every_record_is_in_the_ledger(city):
    engine, _, _ = city
    with Session(engine) as s:
        checked, breach = verify_ledger(s, get_settings().ledger_signing_key)
        assert breach is None and checked > 0
        assert fold(s) == snapshot(s)
        # Department systems reported as things happened; only a few reports came in late.
        late = s.scalar(select(func.count()).select_from(Case).where(Case.reported_late))
        assert 0 < late < CASES // 20



def test_the_historys_notices_count_as_sent_when_written_and_todays_wait_for_the_worker(city, fixed_time):
    """``esv serve --demo`` must not send weeks of history's notices at start (stamped today,
    voice calls held for the morning): they went out when they were written."""
    from esupervision.demo import settle_past_notices
    from esupervision.models.notices.notice import Notice

    engine, _, _ = city
    now = fixed_time.now()
    with Session(engine) as s:
        past = s.scalar(select(func.count()).select_from(Notice).where(
            Notice.status == "queued", Notice.created_at < now))
        current = s.scalar(select(func.count()).select_from(Notice).where(
            Notice.status == "queued", Notice.created_at >= now))
        failed = s.scalar(select(func.count()).select_from(Notice).where(Notice.status == "failed"))
    assert past > 100
    assert settle_past_notices(engine, before=now) == past
    with Session(engine) as s:
        queued = s.scalars(select(Notice).where(Notice.status == "queued")).all()
        assert len(queued) == current and all(n.created_at >= now for n in queued)
        sent = s.scalars(select(Notice).where(Notice.status == "sent")).all()
        assert len(sent) == past and all(n.sent_at == n.created_at and n.provider == "console" for n in sent)
        assert s.scalar(select(func.count()).select_from(Notice).where(Notice.status == "failed")) == failed
    assert settle_past_notices(engine, before=now) == 0



def test_esv_demo_prints_what_it_built_and_the_demo_accounts_whole(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from esupervision import db, settings
    from esupervision.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    try:
        result = CliRunner().invoke(main, ["demo", "--cases", "40"])
        with Session(db.get_engine()) as s:
            # the history's case reports (not the demo applicant's own two cases, made afterwards)
            reported = s.scalar(select(func.count()).select_from(LedgerEvent).join(
                Case, Case.id == LedgerEvent.subject_id).where(
                LedgerEvent.source == DEMO_SOURCE, Case.number.not_like("QH-DEMO-%")))
    finally:
        settings.get_settings.cache_clear()
        db.get_engine.cache_clear()
    assert result.exit_code == 0, result.output
    counts = json.loads(next(line for line in result.output.splitlines() if line.startswith("{")))
    # the cases' events and the tenders' are counted apart (one used to overwrite the other)
    assert counts["cases"] == 40 and counts["events"] == reported and counts["refused"] == 0
    assert counts["tender_events"] > 0 and counts["tender_refused"] == 0
    assert counts["past_notices_sent"] > 0
    assert "esv_demo_department_system_key" in result.output   # the key as it is used, not cut off


def test_building_twice_is_refused_and_changes_nothing(engine, fixed_time):
    build_demo(engine, now=fixed_time.now(), cases=10)
    with Session(engine) as s:
        before = s.scalar(select(func.count()).select_from(LedgerEvent))
    with pytest.raises(DemoDatabaseNotEmpty):
        build_demo(engine, now=fixed_time.now(), cases=10)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerEvent)) == before


def test_same_seed_and_instant_give_the_same_demo(fixed_time):
    now = fixed_time.now()
    first = plan_demo(default_calendar(), now=now, cases=CASES, seed=7)
    again = plan_demo(default_calendar(), now=now, cases=CASES, seed=7)
    other = plan_demo(default_calendar(), now=now, cases=CASES, seed=8)
    assert [r.event for r in first.reports] == [r.event for r in again.reports]
    assert [r.event for r in first.reports] != [r.event for r in other.reports]
    assert all(r.event.occurred_at <= now and r.reported_at <= now for r in first.reports)


SUPERVISION = """query($from: Date!, $to: Date!, $f: DateTime!, $t: DateTime!) {
  statistics(from: $from, to: $to, groupBy: DEPARTMENT) {
    totals { received completed onTime overdue onTimeRate urges urgesAnsweredOnTime orders ordersAnsweredOnTime
             errors complaints evaluations evaluationScore } }
  supervisionRules { name trigger action days }
  accountabilityRules { name threshold sanction }
  supervisionOrders(first: 100) { edges { node { number status escalationLevel repliedOnTime caseNumber automatic } } }
  urges(first: 100) { edges { node { number status automatic caseNumber } } }
  faults(first: 1) { totalCount }
  recorded: faults(filter: {kinds: ["service_attitude", "absent_from_post"]}, first: 50) {
    edges { node { kind status source } } }
  accountabilitySuggestions { status sanction }
  appeals { status subjectType }
  complaints(first: 100) { edges { node { kind status outcome light } } }
  evaluationSummary(from: $f, to: $t) { total praise bad deemed badRatings { caseNumber followUp { stage overdue } } }
  publishedReports { title periodFrom periodTo totals { received completed onTimeRate } } }"""
THEIRS = """query($f: DateTime!, $t: DateTime!) {
  supervisionOrders(first: 100) { edges { node { number status escalationLevel } } }
  faults(first: 1) { totalCount }
  appeals { status }
  complaints(first: 100) { edges { node { status } } }
  evaluationSummary(from: $f, to: $t) { badRatings { followUp { stage } } } }"""
CASE_SUPERVISION = """query($n: String!) { case(number: $n) { urges { number } orders { number status } } }"""


def test_supervision_tools_in_the_demo_through_graphql(city, fixed_time):
    """What the supervisor, the department leader and the window staff of the demo see of the
    supervision tools, through the GraphQL contract."""
    engine, counts, phases = city
    assert "supervision" in phases
    create_demo_accounts(engine)
    api = GraphQLClient(engine)
    api.login("supervisor")
    now = fixed_time.now()
    span = {"from": (now - timedelta(days=120)).date().isoformat(), "to": now.date().isoformat(),
            "f": (now - timedelta(days=120)).isoformat(), "t": (now + timedelta(hours=1)).isoformat()}
    seen = api.data(SUPERVISION, span)

    totals = seen["statistics"]["totals"]
    assert totals["urges"] > 0 and totals["orders"] > 0 and 0 < totals["ordersAnsweredOnTime"] < totals["orders"]
    assert totals["complaints"] > 0 and totals["evaluations"] > 0 and totals["errors"] > 0
    assert {(r["trigger"], r["action"], r["days"]) for r in seen["supervisionRules"]} == {
        ("light_yellow", "urge", None), ("red_for_days", "order", 2)}
    assert sorted((r["threshold"], r["sanction"]) for r in seen["accountabilityRules"]) == [
        (1, "EFFICIENCY_WARNING"), (2, "CIRCULATED_CRITICISM"), (3, "ADMONISHING_TALK")]   # 问责条例 第八条 order

    orders = [e["node"] for e in seen["supervisionOrders"]["edges"]]
    assert {o["automatic"] for o in orders} == {True, False}
    assert any(o["status"] == "REPLIED" and o["repliedOnTime"] for o in orders)            # on time
    assert any(o["status"] == "REPLIED" and o["escalationLevel"] == 1 for o in orders)     # late, by the leader
    assert any(o["status"] == "OPEN" and o["escalationLevel"] == 2 for o in orders)        # up to the center
    urges = [e["node"] for e in seen["urges"]["edges"]]
    assert {u["automatic"] for u in urges} == {True, False} and {u["status"] for u in urges} == {"OPEN", "REPLIED"}
    number = next(o["caseNumber"] for o in orders if o["caseNumber"] and o["status"] == "REPLIED")
    case = api.data(CASE_SUPERVISION, {"n": number})["case"]
    assert any(o["status"] == "REPLIED" for o in case["orders"])

    assert seen["faults"]["totalCount"] > 0
    recorded = [e["node"] for e in seen["recorded"]["edges"]]
    assert recorded and {f["source"] for f in recorded} == {"recorded"}
    assert "REVOKED" in {f["status"] for f in recorded}          # appealed, and revoked by the supervisor
    statuses = {s["status"] for s in seen["accountabilitySuggestions"]}
    assert {"CONFIRMED", "CHANGED", "DISMISSED"} <= statuses
    assert {a["status"] for a in seen["appeals"]} >= {"REVOKED", "PENDING"}

    complaints = [e["node"] for e in seen["complaints"]["edges"]]
    assert {c["kind"] for c in complaints} == {"COMPLAINT", "CONSULTATION"}
    assert {c["status"] for c in complaints} >= {"ANSWERED", "ASSIGNED"}
    assert any(c["status"] == "ANSWERED" and c["outcome"] == "OVERDUE" for c in complaints)
    assert any(c["status"] != "ANSWERED" and c["light"] == "RED" for c in complaints)
    summary = seen["evaluationSummary"]
    assert summary["total"] > summary["praise"] > 0 and summary["deemed"] > 0 and summary["bad"] > 0
    assert any(b["followUp"] and b["followUp"]["stage"] != "CLOSED" for b in summary["badRatings"])
    assert any(b["followUp"] and b["followUp"]["stage"] == "CLOSED" for b in summary["badRatings"])
    month = (now.astimezone(LOCAL_TZ).replace(day=1) - timedelta(days=1)).date()
    assert any(r["periodTo"] == month.isoformat() and r["totals"]["completed"] > 0 for r in seen["publishedReports"])

    # The department leader: the department's orders, faults, an appeal waiting, a complaint to answer.
    api.login("leader")
    mine = api.data(THEIRS, {"f": span["f"], "t": span["t"]})
    assert mine["supervisionOrders"]["edges"] and mine["faults"]["totalCount"] > 0
    assert {a["status"] for a in mine["appeals"]} >= {"PENDING"}
    assert any(e["node"]["status"] == "ASSIGNED" for e in mine["complaints"]["edges"])
    assert any(b["followUp"] and b["followUp"]["stage"] == "VERIFY" for b in mine["evaluationSummary"]["badRatings"])
    # The window staff: the order to their window, which they answer.
    api.login("window")
    waiting = [e["node"] for e in api.data(THEIRS, {"f": span["f"], "t": span["t"]})["supervisionOrders"]["edges"]
               if e["node"]["status"] == "OPEN" and e["node"]["escalationLevel"] == 0]
    assert waiting
    replied = api.data("""mutation($n: String!) { replyToOrder(input: {orderNumber: $n, reply: "已逐件说明原因"}) {
      status repliedOnTime } }""", {"n": waiting[0]["number"]})["replyToOrder"]
    assert replied == {"status": "REPLIED", "repliedOnTime": True}
