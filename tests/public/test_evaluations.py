"""Evaluations (好差评): a completed case asks its applicant for a rating; the applicant rates it once,
by portal or by SMS reply; a bad rating opens a follow-up (核实、整改、回访) on its own clock; no
rating in 7 days counts as 基本满意 when the scheduler reaches the window's end; the summary shows
the praise rate beside every bad rating's follow-up; everything replays from the ledger."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.api.tokens import issue_access_token
from esupervision.models.clocks import timesource
from esupervision.models.access.scope import Role, Viewer
from esupervision.models.cases.case import Case
from esupervision.models.catalogue.catalogue import Center, Department, create_staff
from esupervision.models.clocks.clock import Clock, ClockState
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.public.evaluation import (Evaluation, EvaluationRequest, FollowUp, FollowUpStage,
                                                   evaluation_summary, rate_case, record_follow_up)
from esupervision.models.ledger.ledger import LedgerEvent, verify_ledger
from esupervision.models.notices.notice import Notice
from esupervision.models.ledger.replay import replay, snapshot
from esupervision.models.cases.report import CaseAction
from esupervision.models.cases.timeline import case_timeline
from esupervision.models.ledger.transaction import transaction
from esupervision.settings import get_settings
from esupervision.workers.lights import announce_due
from tests.builders import accept, apply, build_city, event
from tests.gql import GraphQLClient, create_accounts
from tests.sms import sms_sender

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
PHONE = "13800138000"
OTHER = "13900139000"
SUPERVISOR = Viewer(role=Role.SUPERVISOR, username="supervisor")


def complete(engine, number: str, phone: str = PHONE, at: datetime = T0) -> None:
    accept(engine, number, at, attributes={"applicant_phone": phone})
    apply(engine, event(number, CaseAction.COMPLETE, at + timedelta(hours=2), attributes={"result": "approved"}))


@pytest.fixture
def city(engine, fixed_time):
    build_city(engine)
    with transaction(engine, actor="test") as tx:
        center = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        scj = tx.session.scalars(select(Department).where(Department.code == "SCJ")).one()
        create_staff(tx, center=center, code="L01", name="王局长", department=scj, phone="13700137000",
                     is_leader=True)
    fixed_time.set(T0 + timedelta(hours=3))
    complete(engine, "QH2026112600001")
    complete(engine, "QH2026112600002", phone=OTHER)
    return engine


def state(engine) -> tuple:
    """Everything a refused rating must leave as it was."""
    with Session(engine) as s:
        return (s.scalar(select(func.count()).select_from(LedgerEvent)),
                s.scalar(select(func.count()).select_from(Notice)), snapshot(s))


def rate(engine, number: str, score: int, phone: str = PHONE, comment: str | None = None, channel: str = "portal"):
    with transaction(engine, actor=f"applicant:{phone}") as tx:
        return rate_case(tx, number=number, score=score, phone=phone, comment=comment, channel=channel)


def test_completion_opens_a_rating_window_and_asks_the_applicant(city):
    with Session(city) as s:
        request = s.scalars(select(EvaluationRequest).join(Case, Case.id == EvaluationRequest.case_id)
                            .where(Case.number == "QH2026112600001")).one()
        clock = s.get(Clock, request.clock_id)
        asked = s.scalars(select(Notice).where(Notice.template == "evaluation_request",
                                               Notice.recipient == "+8613800138000")).one()
    assert request.status == "pending" and request.phone == PHONE
    assert clock.subject_type == "evaluation" and clock.state == ClockState.RUNNING.value
    # 7 natural days after the completion was recorded, at the local midnight ending the 7th day.
    assert request.closes_at == datetime(2026, 12, 4, 0, 0, tzinfo=SH)
    assert asked.params["number"] == "QH2026112600001" and "回复数字1-5" in asked.params["link"]


def test_an_imported_history_asks_nobody(city):
    complete(city, "QH2025102600001", at=T0 - timedelta(days=30))
    with Session(city) as s:
        case_id = s.scalars(select(Case.id).where(Case.number == "QH2025102600001")).one()
        assert s.scalars(select(EvaluationRequest).where(EvaluationRequest.case_id == case_id)).first() is None
        assert not s.scalars(select(Notice).where(Notice.case_id == case_id,
                                                  Notice.template == "evaluation_request")).all()


def test_a_good_rating_is_kept_once_and_stops_the_window(city):
    evaluation = rate(city, "QH2026112600001", 5, comment="办事快")
    assert (evaluation.score, evaluation.deemed, evaluation.channel) == (5, False, "portal")
    with Session(city) as s:
        request = s.scalars(select(EvaluationRequest).where(EvaluationRequest.case_id == evaluation.case_id)).one()
        assert request.status == "rated"
        assert s.get(Clock, request.clock_id).state == ClockState.FINISHED.value
        assert s.scalar(select(func.count()).select_from(FollowUp)) == 0
    before = state(city)
    with pytest.raises(DomainError) as second:
        rate(city, "QH2026112600001", 1)
    assert second.value.code == ErrorCode.EVALUATION_EXISTS
    assert state(city) == before


@pytest.mark.parametrize(("number", "score", "phone", "code"), [
    ("QH2026112600002", 5, PHONE, ErrorCode.CASE_NOT_FOUND),        # someone else's case
    ("QH-NONE", 5, PHONE, ErrorCode.CASE_NOT_FOUND),
    ("QH2026112600001", 0, PHONE, ErrorCode.INVALID_SCORE),
    ("QH2026112600001", 6, PHONE, ErrorCode.INVALID_SCORE),
    ("QH2026112600003", 4, PHONE, ErrorCode.EVALUATION_NOT_OPEN),   # still running
])
def test_bad_ratings_are_refused_and_change_nothing(city, number, score, phone, code):
    accept(city, "QH2026112600003", T0, attributes={"applicant_phone": PHONE})
    before = state(city)
    with pytest.raises(DomainError) as refused:
        rate(city, number, score, phone=phone)
    assert refused.value.code == code
    assert state(city) == before


def test_a_bad_rating_opens_a_follow_up_handled_in_order(city, fixed_time):
    rate(city, "QH2026112600001", 1, comment="窗口推诿")
    with Session(city) as s:
        follow_up = s.scalars(select(FollowUp)).one()
        clock = s.get(Clock, follow_up.clock_id)
        told = s.scalars(select(Notice).where(Notice.template == "follow_up_assigned")).one()
    assert clock.subject_type == "follow_up" and clock.limit_days == 15 and clock.basis == "working"
    assert follow_up.due_at == clock.due_at and follow_up.stage == "verify"
    assert told.recipient == "+8613700137000" and told.params["label"] == "非常不满意"

    before = state(city)
    with pytest.raises(DomainError) as early, transaction(city, actor="test") as tx:
        record_follow_up(tx, viewer=SUPERVISOR, number="QH2026112600001", stage=FollowUpStage.REVISIT,
                         note="电话回访", satisfied=True)
    assert early.value.code == ErrorCode.FOLLOW_UP_STAGE_ORDER and state(city) == before

    for stage, note in ((FollowUpStage.VERIFY, "调取录像，情况属实"), (FollowUpStage.RECTIFY, "窗口人员批评教育")):
        fixed_time.advance(days=1)
        with transaction(city, actor="test") as tx:
            record_follow_up(tx, viewer=SUPERVISOR, number="QH2026112600001", stage=stage, note=note)
    fixed_time.advance(days=1)
    with transaction(city, actor="test") as tx:
        done = record_follow_up(tx, viewer=SUPERVISOR, number="QH2026112600001", stage=FollowUpStage.REVISIT,
                                note="申请人表示认可", satisfied=True)
    assert done.stage == "closed" and done.revisit_satisfied is True
    assert [r["stage"] for r in done.stages] == ["verify", "rectify", "revisit"]
    with Session(city) as s:
        assert s.get(Clock, done.clock_id).outcome == "early"


def test_no_rating_in_seven_days_counts_as_basically_satisfied(city, fixed_time):
    rate(city, "QH2026112600002", 4, phone=OTHER)
    fixed_time.set(datetime(2026, 12, 3, 23, 0, tzinfo=SH))
    with transaction(city, actor="system:lights") as tx:
        announce_due(tx)
    with Session(city) as s:
        assert s.scalar(select(func.count()).select_from(Evaluation)) == 1
    # Past the window's end a late rating is refused; the scheduler writes the deemed one.
    fixed_time.set(datetime(2026, 12, 4, 0, 5, tzinfo=SH))
    with pytest.raises(DomainError) as late:
        rate(city, "QH2026112600001", 1)
    assert late.value.code == ErrorCode.EVALUATION_CLOSED
    with transaction(city, actor="system:lights") as tx:
        announce_due(tx)
    with Session(city) as s:
        deemed = s.scalars(select(Evaluation).where(Evaluation.deemed.is_(True))).one()
        request = s.scalars(select(EvaluationRequest).where(EvaluationRequest.case_id == deemed.case_id)).one()
        kinds = list(s.scalars(select(LedgerEvent.kind).where(LedgerEvent.kind.like("evaluation.%"))))
    assert (deemed.score, deemed.channel, request.status) == (3, "deemed", "deemed")
    assert deemed.rated_at == datetime(2026, 12, 4, 0, 0, tzinfo=SH)
    assert kinds.count("evaluation.deemed") == 1 and kinds.count("evaluation.rated") == 1
    with transaction(city, actor="system:lights") as tx:   # a second pass has nothing left to deem
        announce_due(tx)
    with Session(city) as s:
        assert s.scalar(select(func.count()).select_from(Evaluation)) == 2


def test_the_summary_shows_praise_beside_the_bad_ratings_follow_ups(city, fixed_time):
    for n in range(3, 8):
        complete(city, f"QH202611260000{n}", at=T0 + timedelta(minutes=n))
    for number, score in (("QH2026112600001", 5), ("QH2026112600003", 4), ("QH2026112600004", 3),
                          ("QH2026112600005", 2), ("QH2026112600006", 5)):
        rate(city, number, score)
    with transaction(city, actor="test") as tx:
        record_follow_up(tx, viewer=SUPERVISOR, number="QH2026112600005", stage=FollowUpStage.VERIFY, note="核实中")
    with Session(city) as s:
        summary = evaluation_summary(s, viewer=SUPERVISOR, start=T0, end=T0 + timedelta(days=1),
                                     now=timesource.now(), praise_min=3, bad_max=2)
        assert summary.by_score == {5: 2, 4: 1, 3: 1, 2: 1, 1: 0} and summary.total == 5
        assert (summary.praise, summary.bad, summary.praise_rate) == (4, 1, 0.8)
        [bad] = summary.bad_ratings
        assert bad.case_number == "QH2026112600005" and bad.follow_up.stage == "rectify"
        assert summary.follow_ups_open == 1 and summary.follow_ups_overdue == 0
        leader = Viewer(role=Role.DEPARTMENT_LEADER, department_id=s.scalars(
            select(Department.id).where(Department.code == "ZJJ")).one())
        assert evaluation_summary(s, viewer=leader, start=T0, end=T0 + timedelta(days=1), now=timesource.now(),
                                  praise_min=3, bad_max=2).total == 0
        with pytest.raises(DomainError) as backwards:
            evaluation_summary(s, viewer=SUPERVISOR, start=T0, end=T0 - timedelta(days=1), now=timesource.now(),
                               praise_min=3, bad_max=2)
        assert backwards.value.code == ErrorCode.INVALID_PERIOD


def test_the_timeline_and_the_ledger_replay_include_ratings(city, fixed_time):
    rate(city, "QH2026112600001", 2, comment="等太久")
    with transaction(city, actor="test") as tx:
        record_follow_up(tx, viewer=SUPERVISOR, number="QH2026112600001", stage=FollowUpStage.VERIFY, note="属实")
    fixed_time.set(datetime(2026, 12, 4, 1, 0, tzinfo=SH))
    with transaction(city, actor="system:lights") as tx:
        announce_due(tx)
    with Session(city) as s:
        case = s.scalars(select(Case).where(Case.number == "QH2026112600001")).one()
        kinds = [e.kind for e in case_timeline(s, case)]
        assert {"evaluation.requested", "evaluation.rated", "follow_up.opened", "follow_up.verify"} <= set(kinds)
        checked, breach = verify_ledger(s, get_settings().ledger_signing_key)
        assert breach is None and checked > 0
        live = snapshot(s)
        assert len(live["evaluation"]) == 2 and len(live["follow_up"]) == 1 and len(live["evaluation_request"]) == 2
        replay(s)
        assert snapshot(s) == live
        s.rollback()


# ----------------------------------------------------------------------------- GraphQL

RATE = """mutation($n: String!, $s: Int!, $c: String) { rateCase(number: $n, score: $s, comment: $c) {
  score scoreLabel comment deemed channel followUp { stage } } }"""
FOLLOW = """mutation($n: String!, $st: FollowUpStage!, $note: String!, $ok: Boolean) {
  recordFollowUp(number: $n, stage: $st, note: $note, satisfied: $ok) { stage stageLabel records { stage note }
  overdue light department { code } } }"""
SUMMARY = """query($f: DateTime!, $t: DateTime!) { evaluationSummary(from: $f, to: $t) { total praise praiseRate bad
  deemed byScore { score label count } badRatings { caseNumber score comment followUp { stage records { label } } } } }"""


def applicant_token(phone: str) -> str:
    return issue_access_token(Viewer(role=Role.APPLICANT, applicant_phone=phone), now=timesource.now())


def test_rating_and_follow_up_through_graphql(city):
    create_accounts(city)
    api = GraphQLClient(city)
    mine = applicant_token(PHONE)
    assert api.error_codes(RATE, {"n": "QH2026112600002", "s": 5}, token=mine) == ["CASE_NOT_FOUND"]
    assert api.error_codes(RATE, {"n": "QH2026112600001", "s": 9}, token=mine) == ["INVALID_SCORE"]
    rated = api.data(RATE, {"n": "QH2026112600001", "s": 2, "c": "材料被要求重复提交"}, token=mine)["rateCase"]
    assert rated == {"score": 2, "scoreLabel": "不满意", "comment": "材料被要求重复提交", "deemed": False,
                     "channel": "portal", "followUp": None}   # the applicant does not see the internal record
    assert api.error_codes(RATE, {"n": "QH2026112600001", "s": 5}, token=mine) == ["EVALUATION_EXISTS"]
    assert api.as_public().error_codes(RATE, {"n": "QH2026112600001", "s": 5}) == ["UNAUTHENTICATED"]

    api.login("zjj-leader")
    assert api.error_codes(FOLLOW, {"n": "QH2026112600001", "st": "VERIFY", "note": "x"}) == ["FOLLOW_UP_NOT_FOUND"]
    api.login("scj-leader")
    step = api.data(FOLLOW, {"n": "QH2026112600001", "st": "VERIFY", "note": "属实"})["recordFollowUp"]
    assert step["stage"] == "RECTIFY" and step["records"] == [{"stage": "VERIFY", "note": "属实"}]
    assert step["department"] == {"code": "SCJ"} and step["overdue"] is False and step["light"] == "WHITE"
    assert api.error_codes(FOLLOW, {"n": "QH2026112600001", "st": "REVISIT", "note": "x", "ok": True}) == \
        ["FOLLOW_UP_STAGE_ORDER"]

    api.login("supervisor")
    summary = api.data(SUMMARY, {"f": T0.isoformat(), "t": (T0 + timedelta(days=1)).isoformat()})["evaluationSummary"]
    assert summary["total"] == 1 and summary["bad"] == 1 and summary["praiseRate"] == 0.0
    assert summary["badRatings"] == [{"caseNumber": "QH2026112600001", "score": 2, "comment": "材料被要求重复提交",
                                      "followUp": {"stage": "RECTIFY", "records": [{"label": "核实"}]}}]
    assert api.error_codes(SUMMARY, {"f": T0.isoformat(), "t": (T0 - timedelta(days=1)).isoformat()}) == \
        ["INVALID_PERIOD"]
    case = api.data('{ case(number: "QH2026112600001") { evaluation { score followUp { stage } } } }')["case"]
    assert case == {"evaluation": {"score": 2, "followUp": {"stage": "RECTIFY"}}}


# ----------------------------------------------------------------------------- SMS

@pytest.fixture
def sms(city):
    return sms_sender(city)


def test_an_sms_reply_rates_the_case_once(sms, city):
    assert "未找到待评价的办件" in sms("+8613700001111", "5")
    before = state(city)
    assert "未找到待评价的办件" in sms("+8613700001111", "1 很差")
    assert state(city) == before
    answer = sms("+8613800138000", "２ 排队太久")          # full-width digits as phones type them
    assert "QH2026112600001" in answer and "不满意" in answer
    with Session(city) as s:
        evaluation = s.scalars(select(Evaluation)).one()
        assert (evaluation.score, evaluation.comment, evaluation.channel) == (2, "排队太久", "sms")
        assert s.scalar(select(func.count()).select_from(FollowUp)) == 1
    assert "未找到待评价的办件" in sms("+8613800138000", "5")   # rated already: the second changes nothing
    # A case number still gets its status back, as before.
    assert "已办结" in sms("+8613800138000", "查询 QH2026112600001")
