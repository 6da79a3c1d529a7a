"""Complaints and consultations (投诉、咨询): filed online by an applicant or the public, or by an SMS
starting 投诉/咨询 from any number; each on its own clock and light, assigned to a department (at
once when it names the filer's case), answered in time, the answer sent by SMS; read by role;
refusals change nothing; everything replays from the ledger."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.api.tokens import issue_access_token
from esupervision.models.clocks import timesource
from esupervision.models.access.scope import PUBLIC, Role, Viewer
from esupervision.models.cases.case import Case
from esupervision.models.catalogue.catalogue import Center, Department, Window, create_staff
from esupervision.models.clocks.clock import Clock, ClockState
from esupervision.models.public.complaint import (Complaint, ComplaintFilter, ComplaintKind, answer_complaint,
                                                  assign_complaint, file_complaint, search_complaints)
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent, verify_ledger
from esupervision.models.notices.notice import Notice
from esupervision.models.ledger.replay import replay, snapshot
from esupervision.models.clocks.tally import LightTally
from esupervision.models.cases.timeline import case_timeline
from esupervision.models.ledger.transaction import transaction
from esupervision.settings import get_settings
from tests.builders import accept, build_city
from tests.gql import GraphQLClient, create_accounts
from tests.sms import sms_sender

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
PHONE = "13800138000"
SUPERVISOR = Viewer(role=Role.SUPERVISOR, username="supervisor")
APPLICANT = Viewer(role=Role.APPLICANT, applicant_phone=PHONE)


@pytest.fixture
def city(engine, fixed_time):
    build_city(engine)
    with transaction(engine, actor="test") as tx:
        center = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        for code, phone in (("SCJ", "13700137000"), ("ZJJ", "13600136000")):
            dept = tx.session.scalars(select(Department).where(Department.code == code)).one()
            create_staff(tx, center=center, code=f"L-{code}", name=f"{code}局长", department=dept, phone=phone,
                         is_leader=True)
    fixed_time.set(T0 + timedelta(hours=1))
    accept(engine, "QH2026112600001", T0, attributes={"applicant_phone": PHONE})
    return engine


def ids(engine) -> dict[str, object]:
    with Session(engine) as s:
        return {code: s.scalars(select(Department.id).where(Department.code == code)).one() for code in ("SCJ", "ZJJ")}


def state(engine) -> tuple:
    with Session(engine) as s:
        return (s.scalar(select(func.count()).select_from(LedgerEvent)),
                s.scalar(select(func.count()).select_from(Notice)), snapshot(s),
                sorted((t.subject_type, str(t.department_id), t.day, t.kind, t.count)
                       for t in s.scalars(select(LightTally))))


def file(engine, filer: Viewer = PUBLIC, **kw) -> Complaint:
    kw.setdefault("kind", ComplaintKind.COMPLAINT)
    kw.setdefault("content", "窗口人员态度生硬，多次要求补交同一份材料")
    with transaction(engine, actor=filer.actor) as tx:
        return file_complaint(tx, filer=filer, **kw)


def notices(engine, template: str) -> list[Notice]:
    with Session(engine) as s:
        return list(s.scalars(select(Notice).where(Notice.template == template).order_by(Notice.created_at)))


def test_a_public_complaint_waits_for_assignment_on_its_own_clock(city):
    complaint = file(city, phone="139 0013 9000", name="赵先生")
    assert complaint.number == "TS-C01-20261126-0001" and complaint.status == "filed" and complaint.department_id is None
    assert complaint.complainant_phone == "13900139000"
    with Session(city) as s:
        clock = s.get(Clock, complaint.clock_id)
        center = s.get(Center, complaint.center_id)
    assert clock.subject_type == "complaint" and clock.limit_days == 5 and clock.state == ClockState.RUNNING.value
    assert complaint.due_at == clock.due_at == datetime(2026, 12, 3, 23, 59, 59, tzinfo=SH)
    assert center.code == "C01"   # no case named: the top-level center
    [told] = notices(city, "complaint_received")
    assert told.recipient == "+8613900139000" and told.params["complaint"] == "TS-C01-20261126-0001"
    consultation = file(city, kind=ComplaintKind.CONSULTATION, content="营业执照办理需要哪些材料？",
                        phone="13900139000")
    assert consultation.number == "ZX-C01-20261126-0001"
    with Session(city) as s:
        assert s.get(Clock, consultation.clock_id).limit_days == 2


def test_naming_ones_own_case_assigns_it_to_the_cases_department(city):
    complaint = file(city, APPLICANT, case_number="qh2026112600001")
    with Session(city) as s:
        case = s.scalars(select(Case).where(Case.number == "QH2026112600001")).one()
        clock = s.get(Clock, complaint.clock_id)
    assert complaint.status == "assigned" and complaint.case_id == case.id
    assert (complaint.department_id, complaint.window_id, complaint.item_id) == \
        (case.department_id, case.window_id, case.item_id)
    assert clock.department_id == case.department_id
    assert [n.recipient for n in notices(city, "complaint_assigned")] == ["+8613700137000"]
    # The public naming someone else's case is filed, unlinked, with the number kept as given.
    stranger = file(city, phone="13900139000", case_number="QH2026112600001")
    assert stranger.case_id is None and stranger.case_number_given == "QH2026112600001" and stranger.status == "filed"


@pytest.mark.parametrize(("filer", "kw", "code"), [
    (Viewer(role=Role.APPLICANT, applicant_phone="13900139000"), {"case_number": "QH2026112600001"},
     ErrorCode.CASE_NOT_FOUND),                                            # an applicant, someone else's case
    (PUBLIC, {"phone": None}, ErrorCode.INVALID_PHONE),
    (PUBLIC, {"phone": "12345"}, ErrorCode.INVALID_PHONE),
    (PUBLIC, {"phone": PHONE, "content": "   "}, ErrorCode.BAD_INPUT),
    (PUBLIC, {"phone": PHONE, "content": "长" * 1001}, ErrorCode.BAD_INPUT),
    (PUBLIC, {"phone": PHONE, "center_code": "NOPE"}, ErrorCode.CENTER_NOT_FOUND),
])
def test_bad_filings_are_refused_and_change_nothing(city, filer, kw, code):
    before = state(city)
    with pytest.raises(DomainError) as refused:
        file(city, filer, **kw)
    assert refused.value.code == code
    assert state(city) == before


def test_one_phone_files_a_bounded_number_a_day(city, fixed_time, monkeypatch):
    monkeypatch.setattr(get_settings(), "complaint_daily_limit", 2)
    file(city, phone="13900139000")
    file(city, phone="+86 139 0013 9000")
    before = state(city)
    with pytest.raises(DomainError) as flood:
        file(city, phone="13900139000")
    assert flood.value.code == ErrorCode.RATE_LIMITED and state(city) == before
    fixed_time.advance(hours=25)
    assert file(city, phone="13900139000").number == "TS-C01-20261127-0001"


def test_assigned_then_answered_in_time_and_the_answer_goes_by_sms(city, fixed_time):
    complaint = file(city, phone="13900139000")
    departments = ids(city)
    with transaction(city, actor="supervisor") as tx:
        assign_complaint(tx, viewer=SUPERVISOR, number=complaint.number, department_id=departments["ZJJ"])
    with transaction(city, actor="supervisor") as tx:   # moved to another department: its clock follows
        moved = assign_complaint(tx, viewer=SUPERVISOR, number=complaint.number, department_id=departments["SCJ"])
    with Session(city) as s:
        assert s.get(Clock, moved.clock_id).department_id == departments["SCJ"]
    assert [n.recipient for n in notices(city, "complaint_assigned")] == ["+8613600136000", "+8613700137000"]

    leader = Viewer(role=Role.DEPARTMENT_LEADER, username="scj-leader", department_id=departments["SCJ"])
    other = Viewer(role=Role.DEPARTMENT_LEADER, username="zjj-leader", department_id=departments["ZJJ"])
    before = state(city)
    for viewer, number, answer, code in ((other, complaint.number, "已处理", ErrorCode.COMPLAINT_NOT_FOUND),
                                         (leader, complaint.number, "  ", ErrorCode.BAD_INPUT),
                                         (leader, "TS000", "已处理", ErrorCode.COMPLAINT_NOT_FOUND)):
        with pytest.raises(DomainError) as refused, transaction(city, actor="x") as tx:
            answer_complaint(tx, viewer=viewer, number=number, answer=answer)
        assert refused.value.code == code
    assert state(city) == before

    fixed_time.advance(days=2)
    with transaction(city, actor="scj-leader") as tx:
        answered = answer_complaint(tx, viewer=leader, number=complaint.number, answer="已约谈窗口人员并当面致歉")
    assert answered.status == "answered" and answered.answered_by == "department_leader:scj-leader"
    with Session(city) as s:
        clock = s.get(Clock, answered.clock_id)
    assert clock.state == ClockState.FINISHED.value and clock.outcome in ("early", "on_time")
    [reply] = notices(city, "complaint_reply")
    assert reply.recipient == "+8613900139000" and reply.params["reply"] == "已约谈窗口人员并当面致歉"
    before = state(city)
    for change in (lambda tx: answer_complaint(tx, viewer=leader, number=complaint.number, answer="再答"),
                   lambda tx: assign_complaint(tx, viewer=SUPERVISOR, number=complaint.number,
                                               department_id=departments["ZJJ"])):
        with pytest.raises(DomainError) as twice, transaction(city, actor="x") as tx:
            change(tx)
        assert twice.value.code == ErrorCode.COMPLAINT_ANSWERED
    assert state(city) == before


def test_lights_filters_and_scopes(city, fixed_time):
    first = file(city, phone="13900139000")
    mine = file(city, APPLICANT, kind=ComplaintKind.CONSULTATION, content="何时能取证？",
                case_number="QH2026112600001")
    departments = ids(city)
    with Session(city) as s:
        window = s.scalars(select(Window.id).where(Window.code == "W01")).one()

    def numbers(viewer: Viewer, **flt) -> list[str]:
        with Session(city) as s:
            rows, total = search_complaints(s, viewer=viewer, flt=ComplaintFilter(**flt), now=timesource.now(),
                                            first=50)
        assert total == len(rows)
        return [r.number for r in rows]

    assert numbers(SUPERVISOR) == [mine.number, first.number]
    assert numbers(APPLICANT) == [mine.number]
    assert numbers(Viewer(role=Role.DEPARTMENT_LEADER, department_id=departments["SCJ"])) == [mine.number]
    assert numbers(Viewer(role=Role.DEPARTMENT_LEADER, department_id=departments["ZJJ"])) == []
    assert numbers(Viewer(role=Role.WINDOW_STAFF, window_id=window)) == [mine.number]
    assert numbers(PUBLIC) == []
    assert numbers(SUPERVISOR, lights=["white"]) == [mine.number, first.number]
    fixed_time.set(datetime(2026, 12, 1, 10, 0, tzinfo=SH))      # the consultation's 2 working days (Fri, Mon) are over
    assert numbers(SUPERVISOR, lights=["red"]) == [mine.number]
    assert numbers(SUPERVISOR, overdue=True) == [mine.number]
    assert numbers(SUPERVISOR, kinds=["complaint"], statuses=["filed"]) == [first.number]


def test_replay_rebuilds_complaints_and_the_timeline_lists_them(city, fixed_time):
    complaint = file(city, APPLICANT, case_number="QH2026112600001")
    fixed_time.advance(hours=3)
    with transaction(city, actor="supervisor") as tx:
        answer_complaint(tx, viewer=SUPERVISOR, number=complaint.number, answer="已督促部门加快办理")
    file(city, phone="13900139000")
    with Session(city) as s:
        case = s.scalars(select(Case).where(Case.number == "QH2026112600001")).one()
        entries = [(e.kind, e.title) for e in case_timeline(s, case) if e.kind.startswith("complaint")]
        assert entries == [("complaint.filed", f"收到投诉 {complaint.number}"),
                           ("complaint.answered", f"投诉 {complaint.number} 已答复")]
        assert verify_ledger(s, get_settings().ledger_signing_key)[1] is None
        live = snapshot(s)
        assert len(live["complaint"]) == 2
        replay(s)
        assert snapshot(s) == live
        s.rollback()


# ----------------------------------------------------------------------------- GraphQL

SUBMIT = """mutation($in: SubmitComplaintInput!) { submitComplaint(input: $in) {
  number kind kindLabel status statusLabel channel dueAt light complainantPhone caseNumber department { code } } }"""
ASSIGN = """mutation($n: String!, $d: ID!) { assignComplaint(number: $n, departmentId: $d) { status department { code } } }"""
ANSWER = """mutation($n: String!, $a: String!) { answerComplaint(number: $n, answer: $a) { status answer outcome light } }"""
LIST = """query($f: ComplaintFilter) { complaints(filter: $f) { totalCount edges { node { number status } } } }"""


def test_complaints_through_graphql(city):
    create_accounts(city)
    api = GraphQLClient(city)
    filed = api.as_public().data(SUBMIT, {"in": {"kind": "COMPLAINT", "content": "排队叫号混乱",
                                                "phone": "13900139000"}})["submitComplaint"]
    assert filed["status"] == "FILED" and filed["kindLabel"] == "投诉" and filed["channel"] == "online"
    assert filed["light"] == "WHITE" and filed["department"] is None and filed["complainantPhone"] == "139****9000"
    assert api.error_codes(SUBMIT, {"in": {"kind": "COMPLAINT", "content": "x"}}) == ["INVALID_PHONE"]
    mine = api.data(SUBMIT, {"in": {"kind": "CONSULTATION", "content": "还需多久？", "caseNumber": "QH2026112600001"}},
                    token=issue_access_token(APPLICANT, now=timesource.now()))["submitComplaint"]
    assert mine["status"] == "ASSIGNED" and mine["caseNumber"] == "QH2026112600001"
    assert mine["department"] == {"code": "SCJ"} and mine["complainantPhone"] == PHONE

    api.login("scj-leader")
    assert api.error_codes(ASSIGN, {"n": filed["number"], "d": str(ids(city)["SCJ"])}) == ["FORBIDDEN"]
    listed = api.data(LIST)["complaints"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["number"] == mine["number"]
    api.login("supervisor")
    assert api.error_codes(ASSIGN, {"n": filed["number"], "d": "not-an-id"}) == ["BAD_INPUT"]
    assigned = api.data(ASSIGN, {"n": filed["number"], "d": str(ids(city)["ZJJ"])})["assignComplaint"]
    assert assigned == {"status": "ASSIGNED", "department": {"code": "ZJJ"}}
    assert api.data(LIST, {"f": {"statuses": ["ASSIGNED"], "kinds": ["COMPLAINT"]}})["complaints"]["totalCount"] == 1
    assert api.error_codes(LIST, {"f": {"filedFrom": T0.isoformat(), "filedTo": (T0 - timedelta(days=1)).isoformat()}}) \
        == ["INVALID_PERIOD"]

    api.login("zjj-leader")
    answered = api.data(ANSWER, {"n": filed["number"], "a": "已调整叫号规则"})["answerComplaint"]
    assert answered["status"] == "ANSWERED" and answered["outcome"] in ("EARLY", "ON_TIME")
    assert api.error_codes(ANSWER, {"n": filed["number"], "a": "再答"}) == ["COMPLAINT_ANSWERED"]
    assert api.error_codes(ANSWER, {"n": mine["number"], "a": "不是我的"}) == ["COMPLAINT_NOT_FOUND"]

    api.login("supervisor")
    case = api.data('{ case(number: "QH2026112600001") { complaints { number kind status } } }')["case"]
    assert case == {"complaints": [{"number": mine["number"], "kind": "CONSULTATION", "status": "ASSIGNED"}]}


# ----------------------------------------------------------------------------- SMS

@pytest.fixture
def sms(city):
    return sms_sender(city)


def test_an_sms_files_a_complaint_from_any_number(sms, city):
    answer = sms("+14155552671", "投诉：3号窗口中午无人值守")
    assert "TS-C01-20261126-0001" in answer and "已登记" in answer
    with Session(city) as s:
        complaint = s.scalars(select(Complaint)).one()
    assert (complaint.channel, complaint.content, complaint.complainant_phone, complaint.status) == \
        ("sms", "3号窗口中午无人值守", "+14155552671", "filed")
    # From the applicant's own phone, naming their case: tied to it and its department.
    answer = sms("+8613800138000", "咨询 QH2026112600001 什么时候可以领证")
    assert "ZX-C01-20261126-0001" in answer
    with Session(city) as s:
        consultation = s.scalars(select(Complaint).where(Complaint.kind == "consultation")).one()
        assert consultation.case_id is not None and consultation.status == "assigned"
    before = state(city)
    assert "请在“投诉”或“咨询”后写明内容" in sms("+8613800138000", "投诉")
    assert state(city) == before
    assert "正在办理" in sms("+8613800138000", "QH2026112600001")   # status questions answer as before


def test_the_overview_shows_complaint_and_order_lights_beside_the_cases(city, fixed_time):
    # A screen watches the complaints and supervision orders a department must answer, on their
    # own clocks, beside its cases: white when filed, yellow near the deadline, red past it.
    from esupervision.models.supervision.orders import Target, issue_order

    file(city, APPLICANT, case_number="QH2026112600001")             # SCJ's, five working days
    with transaction(city, actor=SUPERVISOR.actor) as tx:
        issue_order(tx, target=Target(case_number="QH2026112600001"), message="请说明办理进度", by=SUPERVISOR,
                    reply_days=3)
    client = GraphQLClient(city)
    query = ("{ overview { centers { code complaintLights { white yellow red } orderLights { white yellow red } }"
             " departments { code complaintLights { white yellow red paused } orderLights { white yellow red } } } }")

    def scj() -> tuple[dict, dict, dict]:
        overview = client.data(query)["overview"]
        [row] = [d for d in overview["departments"] if d["code"] == "SCJ"]
        [center] = [c for c in overview["centers"] if c["code"] == "C01"]
        return row["complaintLights"], row["orderLights"], center

    complaints, orders, center = scj()
    assert complaints == {"white": 1, "yellow": 0, "red": 0, "paused": 0} and orders == {"white": 1, "yellow": 0, "red": 0}
    assert center["complaintLights"] == {"white": 1, "yellow": 0, "red": 0}
    fixed_time.set(datetime(2026, 12, 3, 12, 0, tzinfo=SH))   # the complaint's last day, the order past due
    complaints, orders, _ = scj()
    assert complaints["yellow"] == 1 and orders["red"] == 1
    fixed_time.set(datetime(2026, 12, 4, 9, 0, tzinfo=SH))
    complaints, orders, center = scj()
    assert complaints["red"] == 1 and center["complaintLights"]["red"] == 1 and center["orderLights"]["red"] == 1
