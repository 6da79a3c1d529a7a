"""法定时限 beside 承诺时限: every accepted case has a legal-limit clock on its item's legal limit.

行政许可法 第四十二条: a licence is decided within 20 working days of acceptance; when it cannot
be, the head of the organ may approve one extension of 10 working days. 第四十五条: the time of
hearings, tenders, auctions, inspection, testing, quarantine, appraisal and expert review is not
counted (nor, here, the time of 补正). Passing the legal limit is what liability attaches to:
a light of its own, a ``legal_limit_exceeded`` fault, a column in the statistics, the Excel sheet,
the PDF report and the overview. On both engines.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from esupervision.models.cases.case import Case
from esupervision.models.cases.report import CaseAction
from esupervision.models.clocks.clock import Clock, SubjectType
from esupervision.models.clocks.light import Light, light_at
from esupervision.models.clocks.lights_query import (
    light_counts,
    light_counts_by_scan,
    overview,
)
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.ledger.replay import replay, snapshot
from esupervision.models.ledger.transaction import transaction
from esupervision.models.notices.notice import Notice
from esupervision.models.supervision.accountability import (
    FAULT_LABELS,
    Fault,
    FaultKind,
)
from esupervision.models.supervision.statistics import GroupBy, compute_statistics
from esupervision.workers.lights import announce_due
from sqlalchemy import func, select
from sqlmodel import Session

from tests.builders import accept, apply, build_city, event
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
# Monday. SCJ-001 (食品经营许可): committed 5 working days, legal 20 (art. 42), extension 10.
A = datetime(2026, 11, 2, 9, 0, tzinfo=SH)
# A 补正 tells the applicant at once every missing material and why (art. 32 (4)).
SUPPLEMENT = {"missing_materials": ["食品安全管理制度文本"], "reason": "材料不齐全"}


def local(y: int, m: int, d: int, h: int = 0, minute: int = 0, s: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, s, tzinfo=SH)


def end_of(day: date) -> datetime:
    """The deadline instant of a limit ending on ``day`` (23:59:59 local)."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SH)


@pytest.fixture
def city(engine, fixed_time):
    build_city(engine)
    fixed_time.set(A)
    return engine


def at(fixed_time, instant: datetime) -> datetime:
    """Events are reported as they happen: the clock of the test follows them."""
    fixed_time.set(instant)
    return instant


def clocks(engine, number: str) -> tuple[Case, Clock, Clock]:
    """The case, its committed clock and its legal-limit clock."""
    with Session(engine) as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        return case, s.get(Clock, case.clock_id), s.get(Clock, case.legal_clock_id)


def announce(engine) -> int:
    with transaction(engine, actor="system:lights") as tx:
        return announce_due(tx)


def faults(engine, kind: FaultKind) -> list[Fault]:
    with Session(engine) as s:
        return list(s.scalars(select(Fault).where(Fault.kind == kind.value)))


# ----------------------------------------------------------------------------- the clocks

def test_a_committed_limit_shorter_than_the_legal_one_goes_red_first(city, fixed_time):
    accept(city, "L1", A)
    case, committed, legal = clocks(city, "L1")
    assert legal.subject_type == SubjectType.LEGAL_LIMIT and legal.subject_id == case.id
    assert legal.started_at == committed.started_at and legal.limit_days == 20 and committed.limit_days == 5
    assert committed.due_at == end_of(date(2026, 11, 9))       # 5 working days
    assert legal.due_at == end_of(date(2026, 11, 30))          # 20 working days (art. 42)
    committed_red = local(2026, 11, 10, 0, 0, 1)
    assert light_at(committed, committed_red).light is Light.RED
    assert light_at(legal, committed_red).light is Light.WHITE
    assert light_at(legal, local(2026, 11, 30, 23, 59, 58)).light is not Light.RED
    assert light_at(legal, local(2026, 12, 1, 0, 0, 1)).light is Light.RED

    api = GraphQLClient(city)
    create_accounts(city)
    query = '{ case(number: "L1") { light overLegalLimit legalDueAt dueAt legalClock { limitDays light } } }'
    fixed_time.set(committed_red)
    api.login("supervisor")
    shown = api.data(query)["case"]
    assert shown["light"] == "RED" and shown["overLegalLimit"] is False
    assert datetime.fromisoformat(shown["legalDueAt"]) == legal.due_at
    assert shown["legalClock"] == {"limitDays": 20, "light": "WHITE"}
    fixed_time.set(local(2026, 12, 1, 0, 0, 1))
    api.login("supervisor")
    shown = api.data(query)["case"]
    assert shown["overLegalLimit"] is True and shown["legalClock"]["light"] == "RED"


def test_supplement_and_special_procedures_stop_both_clocks(city, fixed_time):
    accept(city, "L2", A)
    # 补正 Tue 11-03 → Mon 11-09: 11-04, 05, 06, 09 are not counted.
    apply(city, event("L2", CaseAction.REQUEST_SUPPLEMENT, at(fixed_time, local(2026, 11, 3, 10)),
                      attributes=SUPPLEMENT))
    _, committed, legal = clocks(city, "L2")
    assert committed.state == legal.state == "paused"
    apply(city, event("L2", CaseAction.SUPPLEMENT_RECEIVED, at(fixed_time, local(2026, 11, 9, 15))))
    _, committed, legal = clocks(city, "L2")
    assert committed.paused_days == legal.paused_days == 4
    assert committed.due_at == end_of(date(2026, 11, 13)) and legal.due_at == end_of(date(2026, 12, 4))
    # 第四十五条: expert review Tue 11-10 → Thu 11-12: 11-11 and 11-12 are not counted either.
    apply(city, event("L2", CaseAction.SUSPEND, at(fixed_time, local(2026, 11, 10, 10)),
                      attributes={"kind": "expert_review"}))
    apply(city, event("L2", CaseAction.RESUME, at(fixed_time, local(2026, 11, 12, 10))))
    _, committed, legal = clocks(city, "L2")
    assert committed.paused_days == legal.paused_days == 6
    assert committed.due_at == end_of(date(2026, 11, 17)) and legal.due_at == end_of(date(2026, 12, 8))
    assert [p["kind"] for p in legal.pauses] == ["supplement", "expert_review"]


def test_an_approved_extension_moves_both_and_the_legal_one_by_the_law_at_most(city, fixed_time):
    accept(city, "L3", A)
    accept(city, "L4", A)
    apply(city, event("L3", CaseAction.EXTEND, at(fixed_time, local(2026, 11, 5, 10)),
                      attributes={"days": 10, "approved_by": "王局长"}))
    _, committed, legal = clocks(city, "L3")
    assert committed.due_at == end_of(date(2026, 11, 23))     # 5 + 10
    assert legal.due_at == end_of(date(2026, 12, 14))         # 20 + 10 (art. 42)
    assert legal.extended_days == 10
    # Committed 5 + 20 approved stays within 20 + 10; the legal limit moves by 10, never more.
    apply(city, event("L4", CaseAction.EXTEND, local(2026, 11, 5, 10), attributes={"days": 20, "approved_by": "王局长"}))
    _, committed, legal = clocks(city, "L4")
    assert committed.due_at == end_of(date(2026, 12, 7))      # 25
    assert legal.due_at == end_of(date(2026, 12, 14)) and legal.extended_days == 10


def test_the_end_of_a_case_finishes_its_legal_clock(city, fixed_time):
    for number in ("L5", "L6", "L7"):
        accept(city, number, A)
    apply(city, event("L5", CaseAction.COMPLETE, at(fixed_time, local(2026, 11, 20, 10)),
                      attributes={"result": "approved"}))
    apply(city, event("L6", CaseAction.REJECT, local(2026, 11, 20, 10), attributes={"reason": "材料不全"}))
    apply(city, event("L7", CaseAction.WITHDRAW, local(2026, 11, 20, 10)))
    states = {number: (clocks(city, number)[2].state, clocks(city, number)[2].outcome) for number in ("L5", "L6", "L7")}
    # 11-20 is past the committed limit (11-09) but well within the legal one (11-30).
    assert states == {"L5": ("finished", "early"), "L6": ("finished", "early"), "L7": ("cancelled", None)}
    assert clocks(city, "L5")[1].outcome == "overdue"


# ----------------------------------------------------------------------------- lights and faults

def test_the_legal_red_is_announced_with_the_case_number_and_derived_as_one_fault(city, fixed_time):
    accept(city, "L8", A)
    fixed_time.set(local(2026, 11, 10, 0, 0, 1))          # the committed clock turns red
    announce(city)
    assert faults(city, FaultKind.CASE_OVERDUE) and not faults(city, FaultKind.LEGAL_LIMIT_EXCEEDED)
    fixed_time.set(local(2026, 12, 1, 0, 0, 1))           # past the legal limit
    announce(city)
    announce(city)                                       # nothing new: nothing twice
    case, _, legal = clocks(city, "L8")
    with Session(city) as s:
        red = s.scalars(select(LedgerEvent).where(LedgerEvent.kind == "light.red",
                                                  LedgerEvent.subject_type == "legal_limit")).all()
        assert len(red) == 1 and red[0].subject_id == case.id and red[0].data["number"] == "L8"
        assert red[0].occurred_at == legal.red_at
    (fault,) = faults(city, FaultKind.LEGAL_LIMIT_EXCEEDED)
    assert fault.case_id == case.id and fault.subject_id == case.id and fault.category == "timeliness"
    assert fault.event_ids == [red[0].id] and fault.evidence["legal_days"] == 20
    assert "超过法定时限" in fault.description and FAULT_LABELS[FaultKind.LEGAL_LIMIT_EXCEEDED] == "超过法定时限"
    # Completing it later, past the legal limit, derives no second fault.
    apply(city, event("L8", CaseAction.COMPLETE, at(fixed_time, local(2026, 12, 2, 10)),
                      attributes={"result": "approved"}))
    assert clocks(city, "L8")[2].outcome == "overdue"
    assert len(faults(city, FaultKind.LEGAL_LIMIT_EXCEEDED)) == 1
    assert len(faults(city, FaultKind.CASE_OVERDUE)) == 1


def test_a_case_completed_past_its_legal_limit_without_a_red_announcement_gets_the_fault_then(city, fixed_time):
    # Reported only afterwards (late): no scheduler ever announced its legal red.
    fixed_time.set(local(2026, 12, 4, 12))
    accept(city, "L9", A)
    apply(city, event("L9", CaseAction.COMPLETE, local(2026, 12, 3, 10), attributes={"result": "approved"}))
    (fault,) = faults(city, FaultKind.LEGAL_LIMIT_EXCEEDED)
    assert fault.evidence["days_late"] == 3 and "超过法定时限 3 个工作日办结" in fault.description
    with Session(city) as s:
        assert s.get(LedgerEvent, fault.event_ids[0]).kind == "case.complete"


def test_legal_lights_send_no_notices_and_never_count_as_cases(city, fixed_time):
    with transaction(city, actor="test") as tx:   # the window has a phone: the committed lights notify it
        from esupervision.models.catalogue.catalogue import (
            Center,
            Department,
            Window,
            create_staff,
        )
        center = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        scj = tx.session.scalars(select(Department).where(Department.code == "SCJ")).one()
        w01 = tx.session.scalars(select(Window).where(Window.code == "W01")).one()
        create_staff(tx, center=center, code="S-W01", name="周窗口", department=scj, window=w01,
                     phone="13800138104")
        create_staff(tx, center=center, code="L-SCJ", name="王局长", department=scj, phone="13800138101",
                     is_leader=True)
    accept(city, "LA", A, attributes={"applicant_phone": "13800138001"})
    written = []
    for instant in (local(2026, 11, 7, 0, 0, 1), local(2026, 11, 10, 0, 0, 1),     # committed yellow, red
                    local(2026, 11, 25, 0, 0, 1), local(2026, 12, 1, 0, 0, 1)):    # legal yellow, red
        fixed_time.set(instant)
        announce(city)
        with Session(city) as s:
            written.append(s.scalar(select(func.count()).select_from(Notice)))
    assert written[0] < written[1] == written[2] == written[3]     # the legal lights told nobody
    with Session(city) as s:
        lights = s.execute(select(LedgerEvent.subject_type, LedgerEvent.kind)
                           .where(LedgerEvent.kind.like("light.%"), LedgerEvent.subject_type != "step")
                           .order_by(LedgerEvent.id)).all()
        assert [tuple(x) for x in lights] == [("case", "light.yellow"), ("case", "light.red"),
                                              ("legal_limit", "light.yellow"), ("legal_limit", "light.red")]
        sent = s.execute(select(Notice.subject_type, Notice.template)).all()
        assert {t for _, t in sent} >= {"approaching_deadline", "overdue"}
        assert all(subject != "legal_limit" for subject, _ in sent)
        now = local(2026, 12, 1, 12)
        by_light = light_counts(s, now=now)
        assert sum(d["red"] for d in by_light.values()) == 1 and sum(sum(d.values()) for d in by_light.values()) == 1
        assert light_counts_by_scan(s, now=now) == {d: {k: v for k, v in c.items() if k != "paused"}
                                                    for d, c in by_light.items()}
        body = overview(s, now=now)
    (scj,) = [d for d in body["departments"] if d["department_code"] == "SCJ"]
    assert scj["lights"]["red"] == 1 and scj["over_legal_limit"] == 1
    assert body["centers"][0]["over_legal_limit"] == 1


def test_a_case_paused_after_its_legal_limit_stays_over_it(city, fixed_time):
    accept(city, "LP", A)
    apply(city, event("LP", CaseAction.REQUEST_SUPPLEMENT, at(fixed_time, local(2026, 12, 2, 10)),
                      attributes=SUPPLEMENT))
    with Session(city) as s:
        body = overview(s, now=local(2026, 12, 10))
    assert body["centers"][0]["over_legal_limit"] == 1
    api = GraphQLClient(city)
    create_accounts(city)
    api.login("supervisor")
    assert api.data('{ case(number: "LP") { overLegalLimit legalClock { paused } } }')["case"] == {
        "overLegalLimit": True, "legalClock": {"paused": True}}


# ----------------------------------------------------------------------------- statistics and reports

@pytest.fixture
def november(city, fixed_time):
    """Four cases of SCJ-001 accepted Mon 11-02: completed past the legal limit (12-03), past the
    committed one only (11-20), on time (11-05); one still running at the end of November, and
    past its legal limit on 12-01."""
    for number in ("S1", "S2", "S3", "S4"):
        accept(city, number, A)
    done = (("S3", local(2026, 11, 5, 10), {"result": "approved"}),
            ("S2", local(2026, 11, 20, 10), {"result": "denied", "reason": "不符合条件"}),
            ("S1", local(2026, 12, 3, 10), {"result": "approved"}))
    for number, instant, result in done:
        apply(city, event(number, CaseAction.COMPLETE, at(fixed_time, instant), attributes=result))
    fixed_time.set(local(2026, 12, 4, 10))
    announce(city)
    return city


def test_statistics_count_the_cases_completed_past_their_legal_limit(november):
    with Session(november) as s:
        table = compute_statistics(s, period_from=date(2026, 11, 1), period_to=date(2026, 12, 31),
                                   group_by=GroupBy.DEPARTMENT)
        only_november = compute_statistics(s, period_from=date(2026, 11, 1), period_to=date(2026, 11, 30),
                                           group_by=GroupBy.ITEM)
    assert (table.totals.completed, table.totals.overdue, table.totals.over_legal_limit) == (3, 2, 1)
    assert [r.over_legal_limit for r in table.rows] == [1]
    assert only_november.totals.over_legal_limit == 0 and only_november.totals.overdue == 1
    # The overview counts the running one; the statistics only what was completed.
    with Session(november) as s:
        assert overview(s, now=local(2026, 12, 4, 10))["centers"][0]["over_legal_limit"] == 1


def test_the_statistics_api_and_its_excel_sheet_show_the_column(november):
    from tests.supervision.test_statistics_api import read_xlsx

    create_accounts(november)
    api = GraphQLClient(november)
    api.login("supervisor")
    data = api.data("""{ statistics(from: "2026-11-01", to: "2026-12-31", groupBy: DEPARTMENT) {
        rows { keyCode overdue overLegalLimit } totals { overLegalLimit } excelUrl } }""")["statistics"]
    assert data["rows"] == [{"keyCode": "SCJ", "overdue": 2, "overLegalLimit": 1}]
    assert data["totals"] == {"overLegalLimit": 1}
    _, cells = read_xlsx(api.http.get(data["excelUrl"]).content)
    header = cells[3]
    column = header.index("超法定时限")
    assert header[column - 1] == "超期办结"
    assert [row[column] for row in cells[4:]] == ["1", "1"]          # SCJ, then 合计


def test_the_published_report_and_its_pdf_show_the_column(november):
    from esupervision.models.catalogue.catalogue import Center
    from esupervision.models.supervision.publication import publish_report

    from esupervision import report_pdf
    from tests.supervision.test_publication import pdf_text

    with Session(november) as s:
        center = s.scalars(select(Center.id).where(Center.code == "C01")).one()
    with transaction(november, actor="supervisor:test") as tx:
        snapshot_ = publish_report(tx, center_id=center, period_from=date(2026, 12, 1),
                                   period_to=date(2026, 12, 3)).report.snapshot
    assert snapshot_["totals"]["over_legal_limit"] == 1
    assert {d["name"]: d["over_legal_limit"] for d in snapshot_["departments"]} == {"市场监督管理局": 1,
                                                                                   "住房和城乡建设局": 0}
    text = pdf_text(report_pdf.leaders_pdf(snapshot_)).replace("\n", "")
    assert "超法定时限" in text and "其中超过法定时限 1 件" in text
    create_accounts(november)
    api = GraphQLClient(november)
    shown = api.data("{ publishedReports { totals { overLegalLimit } departments { name overLegalLimit } } }")
    (report,) = shown["publishedReports"]
    assert report["totals"] == {"overLegalLimit": 1}
    assert {d["name"]: d["overLegalLimit"] for d in report["departments"]} == {"市场监督管理局": 1, "住房和城乡建设局": 0}


def test_the_public_overview_counts_running_cases_over_their_legal_limit(november):
    api = GraphQLClient(november)
    data = api.data("{ overview { centers { code overLegalLimit lights { red } } "
                    "departments { code overLegalLimit lights { red } } } }")["overview"]
    assert data["centers"] == [{"code": "C01", "overLegalLimit": 1, "lights": {"red": 1}}]
    assert [d for d in data["departments"] if d["code"] == "SCJ"] == [
        {"code": "SCJ", "overLegalLimit": 1, "lights": {"red": 1}}]


def test_replay_rebuilds_the_legal_clocks_and_the_column(november):
    def figures(s: Session) -> Any:
        return compute_statistics(s, period_from=date(2026, 11, 1), period_to=date(2026, 12, 31),
                                  group_by=GroupBy.WINDOW)

    with Session(november) as s:
        live, before = snapshot(s), figures(s)
        legal = s.scalar(select(func.count()).select_from(Clock).where(Clock.subject_type == "legal_limit"))
    assert legal == 4 and before.totals.over_legal_limit == 1
    with Session(november) as s:
        replay(s)
        s.commit()
    with Session(november) as s:
        assert snapshot(s) == live
        assert figures(s) == before
        assert overview(s, now=local(2026, 12, 4, 10))["centers"][0]["over_legal_limit"] == 1


def test_the_overview_count_opens_as_the_list_of_cases_behind_it(november):
    """Every number is traceable to its cases: ``cases(filter: {overLegalLimit: true})`` lists the
    cases whose ``overLegalLimit`` is true (行政许可法第四十二条), the open ones being the
    overview's 超法定时限 count; ``false`` lists the others."""
    create_accounts(november)
    api = GraphQLClient(november)
    api.login("supervisor")
    listed = """query($over: Boolean, $statuses: [CaseStatus!]) {
        cases(first: 50, filter: {overLegalLimit: $over, statuses: $statuses}) {
        totalCount edges { node { number overLegalLimit } } } }"""
    every = {e["node"]["number"]: e["node"]["overLegalLimit"]
             for e in api.data(listed, {"over": None})["cases"]["edges"]}
    over = api.data(listed, {"over": True})["cases"]
    assert sorted(e["node"]["number"] for e in over["edges"]) == sorted(n for n, o in every.items() if o)
    assert over["totalCount"] == 2 and all(e["node"]["overLegalLimit"] for e in over["edges"])
    within = api.data(listed, {"over": False})["cases"]
    assert sorted(e["node"]["number"] for e in within["edges"]) == sorted(n for n, o in every.items() if not o)
    open_over = api.data(listed, {"over": True, "statuses": ["ACCEPTED", "SUPPLEMENT", "SUSPENDED"]})
    shown = api.data("{ overview { centers { overLegalLimit } } }")["overview"]["centers"]
    assert open_over["cases"]["totalCount"] == sum(c["overLegalLimit"] for c in shown) == 1
