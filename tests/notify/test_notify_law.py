"""Notices the law requires, and instants and states as people read them (SQLite and PostgreSQL).

- 行政许可法 第三十二条 第一款 第四项: a 补正 tells every missing material at once (一次性告知)
  and why; one that names no material or no reason stops no clock (``SUPPLEMENT_INCOMPLETE``).
- 行政许可法 第三十八条 第二款: 不予受理 and 不予许可 state the reason and the right to 行政复议
  (within 60 days, 行政复议法 第二十条) or 行政诉讼 (within 6 months, 行政诉讼法 第四十六条).
- An item of 0 committed working days is accepted as 即办件, 当日办结, never "承诺0个工作日".
- Every instant in an SMS, a call or an error text is local Chinese time (2026年12月08日 17:00),
  every status a Chinese word: never a UTC ISO string or an English code name.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.base import day_text, local_time
from esupervision.models.cases.case import Case
from esupervision.models.cases.report import CaseAction
from esupervision.models.catalogue.catalogue import (Center, ItemSpec, MaterialSpec, StepSpec, create_item)
from esupervision.models.clocks.clock import Basis
from esupervision.models.errors import DomainError
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.ledger.transaction import transaction
from esupervision.models.notices.notice import Notice
from esupervision.models.supervision.accountability import period_words
from esupervision.notify import templates
from tests.builders import accept, apply, build_city, event, report
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
PHONE = "13800138000"
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
CODE_WORDS = re.compile(r"\b(submitted|prereviewed|accepted|supplement|suspended|completed|rejected|withdrawn|"
                        r"approved|denied|request_supplement|advance|complete)\b")
REVIEW = "60日内依法申请行政复议"          # 行政复议法 第二十条
LAWSUIT = "6个月内依法向人民法院提起行政诉讼"  # 行政诉讼法 第四十六条


@pytest.fixture
def city(engine, fixed_time):
    build_city(engine)
    with transaction(engine, actor="test") as tx:
        center = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        create_item(tx, center=center, spec=ItemSpec(
            code="SCJ-MAT", name="食品经营许可（新办）", department_code="SCJ", legal_days=20, committed_days=5,
            steps=[StepSpec("审查", 5)],
            materials=[MaterialSpec("营业执照副本"), MaterialSpec("食品安全管理制度"), MaterialSpec("经营场所平面图")]))
        create_item(tx, center=center, spec=ItemSpec(
            code="SCJ-NOW", name="食品经营许可证补办", department_code="SCJ", legal_days=5, committed_days=0))
    fixed_time.set(T0 + timedelta(hours=8))
    return engine


def applied(engine, number: str, item: str = "SCJ-MAT") -> None:
    accept(engine, number, T0, item=item, attributes={"applicant_phone": PHONE})


def texts(engine, template: str | None = None) -> list[str]:
    """The applicant's notices as they would be sent, oldest first."""
    with Session(engine) as s:
        query = select(Notice).where(Notice.recipient_kind == "applicant").order_by(Notice.created_at, Notice.id)
        rows = [n for n in s.scalars(query) if template is None or n.template == template]
    return [templates.render(n.template, n.params) for n in rows]


def ledger_size(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(LedgerEvent))


# ----------------------------------------------------------------------------- 补正 (art. 32)


def test_a_supplement_tells_every_missing_material_at_once_with_its_reason(city):
    """行政许可法 第三十二条 第一款 第四项: 一次性告知申请人需要补正的全部内容. Materials are names of
    the item's materials in the catalogue or free text; the reason goes with them."""
    applied(city, "M1")
    apply(city, event("M1", CaseAction.REQUEST_SUPPLEMENT, T0 + timedelta(hours=1), attributes={
        "missing_materials": ["营业执照副本", "食品安全管理制度", "法定代表人身份证明（复印件）", "营业执照副本"],
        "reason": "营业执照已过有效期，其余两项未提交。"}))
    [text] = texts(city, "case_supplement")
    assert text == ("【市行政服务中心】您的办件M1需补正材料（一次性告知）：营业执照副本、食品安全管理制度、"
                    "法定代表人身份证明（复印件）。原因：营业执照已过有效期，其余两项未提交。"
                    "请补齐后提交，补正期间暂停计时。")
    with Session(city) as s:
        data = s.scalars(select(LedgerEvent.data).where(LedgerEvent.kind == "case.request_supplement")).one()
        assert s.scalars(select(Case.status).where(Case.number == "M1")).one() == "supplement"
    assert data["missing_materials"] == ["营业执照副本", "食品安全管理制度", "法定代表人身份证明（复印件）"]
    assert data["other_materials"] == ["法定代表人身份证明（复印件）"]   # free text, not in the catalogue
    assert data["reason"] == "营业执照已过有效期，其余两项未提交。"
    # one text separated by 、 is a list too (a department system sending a single field)
    applied(city, "M2")
    apply(city, event("M2", CaseAction.REQUEST_SUPPLEMENT, T0 + timedelta(hours=1), attributes={
        "missing_materials": "经营场所平面图、 食品安全管理制度", "reason": "平面图未标注尺寸"}))
    assert "：经营场所平面图、食品安全管理制度。原因：平面图未标注尺寸。" in texts(city, "case_supplement")[1]


@pytest.mark.parametrize("attributes, missing", [
    ({"missing_materials": [], "reason": "材料不全"}, "材料"),
    ({"missing_materials": [" ", ""], "reason": "材料不全"}, "材料"),
    ({"missing_materials": None, "reason": "材料不全"}, "材料"),
    ({"missing_materials": ["营业执照副本"], "reason": "  "}, "原因"),
    ({"missing_materials": ["营业执照副本"], "reason": None}, "原因"),
])
def test_a_supplement_naming_no_material_or_no_reason_is_refused_and_stops_no_clock(city, attributes, missing):
    """行政许可法 第三十二条: a 补正 that does not tell the applicant everything at once is no 补正;
    it is refused with a code and a Chinese message, and nothing changes (the clock runs on)."""
    applied(city, "M3")
    before = ledger_size(city)
    with pytest.raises(DomainError) as refused:
        apply(city, event("M3", CaseAction.REQUEST_SUPPLEMENT, T0 + timedelta(hours=1), attributes=attributes))
    assert refused.value.code == "SUPPLEMENT_INCOMPLETE"
    assert "第三十二条" in refused.value.message and missing in refused.value.message
    assert ledger_size(city) == before and texts(city, "case_supplement") == []
    with Session(city) as s:
        assert s.scalars(select(Case.status).where(Case.number == "M3")).one() == "accepted"
    # a department system's batch: that event refused, the others applied
    [bad, good] = report(city, event("M3", CaseAction.REQUEST_SUPPLEMENT, T0 + timedelta(hours=2),
                                     attributes=attributes),
                         event("M3", CaseAction.ADVANCE, T0 + timedelta(hours=3)))
    assert (bad.status, bad.code, good.status) == ("refused", "SUPPLEMENT_INCOMPLETE", "accepted")


def test_request_supplement_through_graphql_names_the_materials(city):
    create_accounts(city)
    applied(city, "M4")
    api = GraphQLClient(city)
    api.login("scj-leader")
    body = api('mutation { requestSupplement(number: "M4", reason: "缺营业执照") { status } }')
    [error] = body["errors"]
    assert error["extensions"]["code"] == "SUPPLEMENT_INCOMPLETE" and "一次性列明" in error["message"]
    case = api.data('mutation { requestSupplement(number: "M4", reason: "营业执照已过有效期", '
                    'missingMaterials: ["营业执照副本"]) { status clock { paused } } }')["requestSupplement"]
    assert case == {"status": "SUPPLEMENT", "clock": {"paused": True}}
    assert "：营业执照副本。原因：营业执照已过有效期。" in texts(city, "case_supplement")[0]


def test_an_imported_history_keeps_a_supplement_its_log_did_not_list(city):
    """``esv import`` replays what happened elsewhere: an old log names no material, and its pause
    is kept as it happened (its notices are history too: nobody is told)."""
    applied(city, "M5")
    outcome = apply(city, event("M5", CaseAction.REQUEST_SUPPLEMENT, T0 + timedelta(hours=1),
                                attributes={"missing_materials": [], "reason": ""}), source="import:bpic15")
    assert outcome.status == "accepted"
    with Session(city) as s:
        assert s.scalars(select(Case.status).where(Case.number == "M5")).one() == "supplement"


# ----------------------------------------------------------------------------- refusals (art. 38)


def test_refusals_state_their_reason_and_the_right_to_review_or_to_sue(city):
    """行政许可法 第三十八条 第二款: 不予受理 (reject) and 不予许可 (complete, denied) state why and
    that the applicant may apply for 行政复议 within 60 days (行政复议法 第二十条) or sue within 6
    months (行政诉讼法 第四十六条)."""
    for number in ("R1", "R2", "R3"):
        applied(city, number)
    apply(city, event("R1", CaseAction.REJECT, T0 + timedelta(hours=1), attributes={"reason": "申请事项不属于本机关职权范围"}))
    apply(city, event("R2", CaseAction.COMPLETE, T0 + timedelta(hours=2),
                      attributes={"result": "denied", "reason": "经营场所不符合食品安全要求。"}))
    apply(city, event("R3", CaseAction.COMPLETE, T0 + timedelta(hours=3), attributes={"result": "denied"}))
    [rejected] = texts(city, "case_rejected")
    assert rejected == ("【市行政服务中心】您的办件R1（食品经营许可（新办））不予受理（退件），理由：申请事项不属于本机关职权范围。"
                        "如不服，可自知道该决定之日起60日内依法申请行政复议，或者6个月内依法向人民法院提起行政诉讼。")
    denied, unexplained = texts(city, "case_denied")
    assert "结果：不予许可，理由：经营场所不符合食品安全要求。如不服" in denied
    assert REVIEW in denied and LAWSUIT in denied
    # no reason given: the applicant is still told where it stands and of the remedies (and the
    # department's silence is a fault for supervision: refusal_without_reason)
    assert "理由：详见不予许可决定书。" in unexplained and REVIEW in unexplained and LAWSUIT in unexplained
    assert texts(city, "case_completed") == []


def test_an_item_of_no_days_is_accepted_as_done_the_same_day(city):
    """即办件: 0 committed working days reads 即办件，当日办结, not 承诺0个工作日."""
    applied(city, "Z1", item="SCJ-NOW")
    applied(city, "Z2")
    at_once, five = texts(city)
    assert at_once == "【市行政服务中心】您的办件Z1（食品经营许可证补办）已受理，即办件，当日办结。"
    assert "0个工作日" not in at_once
    assert five.endswith("已受理，承诺5个工作日内办结。")


def test_an_item_counted_in_natural_days_says_natural_days(city):
    """A limit in 自然日 is told as 自然日 (a "工作日" would promise a later date than the law's);
    its extension likewise."""
    with transaction(city, actor="test") as tx:
        center = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        create_item(tx, center=center, spec=ItemSpec(
            code="SCJ-NAT", name="临时占道许可", department_code="SCJ", legal_days=20, committed_days=10,
            basis=Basis.NATURAL))
    applied(city, "N1", item="SCJ-NAT")
    report(city, event("N1", CaseAction.EXTEND, T0 + timedelta(hours=5), attributes={"days": 3, "approved_by": "局长"}))
    accepted, extended = texts(city)
    assert accepted == "【市行政服务中心】您的办件N1（临时占道许可）已受理，承诺10个自然日内办结。"
    assert extended.endswith("经批准延期3个自然日。") and "工作日" not in accepted + extended


# ----------------------------------------------------------------------------- instants and words


def test_an_instant_reads_in_local_chinese_form():
    utc = datetime(2026, 12, 8, 9, 0, tzinfo=timezone.utc)
    assert local_time(utc, "Asia/Shanghai") == "2026年12月08日 17:00"
    assert local_time("2026-12-08T09:00:00Z", "Asia/Shanghai") == "2026年12月08日 17:00"
    assert local_time(None, "Asia/Shanghai") == "未定"
    assert day_text(date(2026, 12, 8)) == day_text("2026-12-08") == "2026年12月08日"
    assert day_text(datetime(2026, 12, 7, 16, 30, tzinfo=timezone.utc), "Asia/Shanghai") == "2026年12月08日"
    with pytest.raises(ValueError):
        local_time(datetime(2026, 12, 8, 9, 0), "Asia/Shanghai")      # a naive instant is no instant
    assert [period_words(p) for p in ("2026-11", "2026-Q4", "2026")] == ["2026年11月", "2026年第四季度", "2026年"]


def test_error_texts_name_instants_and_states_in_chinese(city, fixed_time):
    """Refusals say when in local Chinese time and what state in Chinese words (not "当前状态
    suspended", not 2026-11-26T09:00:00+00:00)."""
    applied(city, "E1")
    with pytest.raises(DomainError) as future:
        apply(city, event("E1", CaseAction.ADVANCE, fixed_time.now() + timedelta(hours=2)))
    assert future.value.code == "EVENT_IN_FUTURE"
    assert local_time(fixed_time.now() + timedelta(hours=2), "Asia/Shanghai") in future.value.message
    apply(city, event("E1", CaseAction.SUSPEND, T0 + timedelta(hours=1), attributes={"kind": "testing"}))
    with pytest.raises(DomainError) as wrong:
        apply(city, event("E1", CaseAction.REQUEST_SUPPLEMENT, T0 + timedelta(hours=2)))
    assert wrong.value.code == "INVALID_TRANSITION" and "特别程序中" in wrong.value.message
    with pytest.raises(DomainError) as running:
        apply(city, event("E1", CaseAction.COMPLETE, T0 + timedelta(hours=2)))
    assert running.value.code == "CASE_NOT_RUNNING" and "特别程序中" in running.value.message
    apply(city, event("E1", CaseAction.RESUME, T0 + timedelta(hours=3)))
    apply(city, event("E1", CaseAction.COMPLETE, T0 + timedelta(hours=4), attributes={"result": "approved"}))
    with pytest.raises(DomainError) as finished:
        apply(city, event("E1", CaseAction.ADVANCE, T0 + timedelta(hours=5)))
    assert finished.value.code == "CASE_FINISHED" and "已结束（已办结）" in finished.value.message
    with pytest.raises(DomainError) as resumed:
        apply(city, event("E1", CaseAction.RESUME, T0 + timedelta(hours=5)))
    for refusal in (future, wrong, running, finished, resumed):
        assert not ISO_INSTANT.search(refusal.value.message), refusal.value.message
        assert not CODE_WORDS.search(refusal.value.message.split(" (")[0]), refusal.value.message


def test_no_notice_text_carries_an_iso_instant_or_a_code_name(city):
    applied(city, "W1")
    report(city,
           event("W1", CaseAction.REQUEST_SUPPLEMENT, T0 + timedelta(hours=1)),
           event("W1", CaseAction.SUPPLEMENT_RECEIVED, T0 + timedelta(hours=2)),
           event("W1", CaseAction.SUSPEND, T0 + timedelta(hours=3), attributes={"kind": "expert_review"}),
           event("W1", CaseAction.RESUME, T0 + timedelta(hours=4)),
           event("W1", CaseAction.EXTEND, T0 + timedelta(hours=5), attributes={"days": 3, "approved_by": "局长"}),
           event("W1", CaseAction.COMPLETE, T0 + timedelta(hours=6), attributes={"result": "approved"}))
    sent = texts(city)
    assert len(sent) >= 7 and any("专家评审" in t for t in sent)
    for text in sent:
        assert not ISO_INSTANT.search(text) and not CODE_WORDS.search(text), text
