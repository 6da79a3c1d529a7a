"""The outbox: notices are written with the event that causes them, merge when duplicated, and
carry a clear error when their number or parameters are wrong."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.catalogue.catalogue import Center, Department, Window, create_staff
from esupervision.models.errors import DomainError
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.notices.notice import Notice, NoticeDraft, NoticeStatus, add_notices
from esupervision.models.cases.report import CaseAction
from esupervision.models.ledger.transaction import transaction
from esupervision.notify import templates
from esupervision.models.notices.phones import PhoneError, mask, to_e164
from esupervision.workers.lights import LightScheduler
from tests.builders import accept, apply, build_city, event, report

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
PHONE = "13800138000"


def notices(engine, **where) -> list[Notice]:
    with Session(engine) as s:
        query = select(Notice).order_by(Notice.created_at, Notice.template, Notice.recipient)
        for key, value in where.items():
            query = query.where(getattr(Notice, key) == value)
        return list(s.scalars(query))


def add_window_staff(engine) -> None:
    """A window clerk with a phone, and a department leader with another (plus one without)."""
    with transaction(engine, actor="test") as tx:
        center = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        market = tx.session.scalars(select(Department).where(Department.code == "SCJ")).one()
        window = tx.session.scalars(select(Window).where(Window.code == "W01")).one()
        create_staff(tx, center=center, code="S02", name="王芳", department=market, window=window,
                     phone="13900139000")
        create_staff(tx, center=center, code="L01", name="赵局", department=market, phone="+86 137 0013 7000",
                     is_leader=True, title="局长")
        create_staff(tx, center=center, code="S03", name="无电话", department=market, window=window)


# ----------------------------------------------------------------------------- rules


def test_phone_numbers_normalise_to_e164_and_bad_ones_are_refused():
    assert to_e164("138 0013 8000") == "+8613800138000"
    assert to_e164("0086-138-0013-8000") == "+8613800138000"
    assert to_e164("+1 (415) 555-2671") == "+14155552671"
    assert to_e164("4155552671", region="US") == "+14155552671"
    for bad in ["", "12345", "call me", "+86 138", "+999 1234567"]:
        with pytest.raises(PhoneError):
            to_e164(bad)
    assert mask("+8613800138000") == "+86 138****8000"


def test_every_template_renders_with_exactly_its_parameters():
    for code, template in templates.TEMPLATES.items():
        params = {name: "X" for name in template.params}
        text = templates.render(code, params)
        assert "{" not in text and text
    with pytest.raises(templates.TemplateError) as missing:
        templates.render("case_accepted", {"center": "中心", "number": "N1", "item": "许可"})
    assert missing.value.code == "TEMPLATE_PARAMS" and "days" in missing.value.message
    with pytest.raises(templates.TemplateError) as extra:
        templates.render("case_resumed", {"center": "中心", "number": "N1", "oops": 1})
    assert "oops" in extra.value.message
    with pytest.raises(templates.TemplateError) as unknown:
        templates.render("no_such", {})
    assert unknown.value.code == "TEMPLATE_UNKNOWN"


def test_a_value_ending_a_sentence_does_not_double_the_templates_punctuation():
    params = {"number": "N1", "message": "您窗口的办件即将到期（黄灯），请抓紧办理。", "reply_by": "11月30日"}
    assert templates.render("urge", params) == \
        "【电子监察】办件N1被催办：您窗口的办件即将到期（黄灯），请抓紧办理，请于11月30日前反馈。"
    # only where the template goes on with punctuation; a reason that ends the text keeps its own
    decided = templates.render("appeal_decided", {"subject": "窗口", "outcome": "维持", "reason": "证据充分。"})
    assert decided.endswith("理由：证据充分。")
    assert templates.fit("urge", {**params, "message": "。"})["message"] == "。"   # nothing left: kept as written


# ----------------------------------------------------------------------------- case events


def test_case_events_notify_the_applicant_in_the_same_transaction(engine, fixed_time):
    build_city(engine)
    fixed_time.set(T0 + timedelta(days=1, hours=1))
    accept(engine, "N1", T0, attributes={"applicant_phone": PHONE})
    report(engine,
           event("N1", CaseAction.REQUEST_SUPPLEMENT, T0 + timedelta(hours=1)),
           event("N1", CaseAction.SUPPLEMENT_RECEIVED, T0 + timedelta(hours=2)),
           event("N1", CaseAction.SUSPEND, T0 + timedelta(hours=3), attributes={"kind": "testing"}),
           event("N1", CaseAction.RESUME, T0 + timedelta(hours=4)),
           event("N1", CaseAction.EXTEND, T0 + timedelta(hours=5), attributes={"days": 3, "approved_by": "局长"}))
    apply(engine, event("N1", CaseAction.ADVANCE, T0 + timedelta(hours=6)))
    apply(engine, event("N1", CaseAction.COMPLETE, T0 + timedelta(days=1), attributes={"result": "approved"}))
    rows = [n for n in notices(engine) if n.template.startswith("case_")]   # not the evaluation request
    assert [n.template for n in sorted(rows, key=lambda n: n.ledger_event_id)] == [
        "case_accepted", "case_supplement", "case_resumed", "case_suspended", "case_resumed",
        "case_extended", "case_completed"]
    assert {n.recipient for n in rows} == {"+8613800138000"}
    assert all(n.status == NoticeStatus.QUEUED and n.channel == "sms" and n.recipient_kind == "applicant"
               for n in rows)
    by_template = {n.template: n for n in rows}
    assert by_template["case_accepted"].params == {"center": "市行政服务中心", "number": "N1",
                                                   "item": "食品经营许可", "days": 5}
    assert by_template["case_suspended"].params["procedure"] == "检测"
    assert by_template["case_extended"].params["days"] == 3
    assert by_template["case_completed"].params["result"] == "准予许可"
    assert "已受理" in templates.render("case_accepted", by_template["case_accepted"].params)


def test_a_refused_event_writes_no_notice(engine, fixed_time):
    build_city(engine)
    fixed_time.set(T0 + timedelta(days=1))
    accept(engine, "N2", T0, attributes={"applicant_phone": PHONE})
    with pytest.raises(DomainError):
        apply(engine, event("N2", CaseAction.RESUME, T0 + timedelta(hours=1)))   # not paused
    assert [n.template for n in notices(engine)] == ["case_accepted"]


def test_a_rolled_back_transaction_leaves_no_notice(engine, fixed_time):
    build_city(engine)
    fixed_time.set(T0 + timedelta(days=1))
    from esupervision.models.cases.casework import handle
    with pytest.raises(RuntimeError):
        with transaction(engine, actor="test") as tx:
            handle(tx, event("N3", CaseAction.ACCEPT, T0, center_code="C01", item_code="SCJ-001",
                             attributes={"applicant_phone": PHONE}), source="dept:test")
            tx.flush()
            assert tx.session.scalars(select(Notice)).all()   # written inside the transaction
            raise RuntimeError("crash before commit")
    assert notices(engine) == []


def test_a_repeated_event_and_a_repeated_draft_merge(engine, fixed_time):
    build_city(engine)
    fixed_time.set(T0 + timedelta(days=1))
    ev = event("N4", CaseAction.ACCEPT, T0, center_code="C01", item_code="SCJ-001",
               attributes={"applicant_phone": PHONE})
    report(engine, ev)
    report(engine, ev)   # the department system sends it again: a no-op
    assert len(notices(engine)) == 1
    draft = NoticeDraft(key="urge:1", subject_type="case", subject_id=notices(engine)[0].subject_id,
                        template="urge", params={"number": "N4", "message": "请加快", "reply_by": "明天"},
                        phone="139 0013 9000", recipient_kind="staff")
    for _ in range(2):
        with transaction(engine) as tx:
            add_notices(tx, [draft, draft])
    assert len(notices(engine, template="urge")) == 1


def test_bad_numbers_and_parameters_are_failed_notices_with_their_error(engine, fixed_time):
    build_city(engine)
    fixed_time.set(T0 + timedelta(days=1))
    accept(engine, "N5", T0, attributes={"applicant_phone": "12345"})
    [bad_phone] = notices(engine)
    assert (bad_phone.status, bad_phone.error_code, bad_phone.recipient) == ("failed", "INVALID_PHONE", "12345")
    with transaction(engine) as tx:
        add_notices(tx, [NoticeDraft(key="x", subject_type="case", subject_id=bad_phone.subject_id,
                                     template="urge", params={"number": "N5"}, phone=PHONE,
                                     recipient_kind="staff")])
    [bad_params] = notices(engine, template="urge")
    assert bad_params.status == "failed" and bad_params.error_code == "TEMPLATE_PARAMS"
    assert "message" in bad_params.error_message


def test_no_phone_on_file_writes_nothing(engine, fixed_time):
    build_city(engine)
    fixed_time.set(T0 + timedelta(days=1))
    accept(engine, "N6", T0)
    assert notices(engine) == []


# ----------------------------------------------------------------------------- lights


def test_yellow_reaches_the_window_and_red_also_the_leader(engine, fixed_time):
    build_city(engine)
    add_window_staff(engine)
    fixed_time.set(T0 + timedelta(minutes=1))
    accept(engine, "L1", T0, attributes={"applicant_phone": PHONE})
    scheduler = LightScheduler(engine)
    fixed_time.set(datetime(2026, 12, 3, 0, 0, 1, tzinfo=SH))
    scheduler.run_once()
    yellow = notices(engine, template="approaching_deadline")
    assert [n.recipient for n in yellow] == ["+8613900139000"]
    assert yellow[0].params == {"number": "L1", "deadline": "2026年12月03日 23:59"}
    assert yellow[0].recipient_kind == "staff" and yellow[0].case_id is not None
    fixed_time.set(datetime(2026, 12, 4, 0, 0, 1, tzinfo=SH))
    scheduler.run_once()
    scheduler.run_once()
    red = notices(engine, template="overdue")
    assert sorted((n.recipient, n.channel) for n in red) == [
        ("+8613700137000", "sms"), ("+8613700137000", "voice"),
        ("+8613900139000", "sms"), ("+8613900139000", "voice")]
    assert len(notices(engine, template="approaching_deadline")) == 1


# ----------------------------------------------------------------------------- old events


def test_old_events_and_a_replay_notify_nobody(engine, fixed_time):
    """An imported history, a report back-dated beyond the horizon (48 h), a light the scheduler
    catches up on days late and a replay of the ledger queue nothing; fresh events still do."""
    from esupervision.models.ledger.replay import replay

    build_city(engine)
    add_window_staff(engine)
    fixed_time.set(T0 + timedelta(days=10))
    accept(engine, "OLD1", T0, attributes={"applicant_phone": PHONE})            # 10 days late
    LightScheduler(engine).run_once()   # yellow and red of OLD1 fell due days ago
    report(engine, event("OLD1", CaseAction.REQUEST_SUPPLEMENT, T0 + timedelta(days=7, hours=23)))  # 2 days + 1 h
    with Session(engine) as s:
        lights = s.scalars(select(LedgerEvent).where(LedgerEvent.kind.like("light.%"))).all()
    assert lights, "the scheduler did announce the old lights"
    assert notices(engine) == []

    report(engine, event("OLD1", CaseAction.SUPPLEMENT_RECEIVED, T0 + timedelta(days=8, hours=1)))  # 47 h ago
    assert [n.template for n in notices(engine)] == ["case_resumed"]

    with transaction(engine, actor="test") as tx:
        replay(tx.session)
    assert [n.template for n in notices(engine)] == ["case_resumed"]


def test_the_horizon_is_a_setting(engine, fixed_time, monkeypatch):
    from esupervision.settings import get_settings

    monkeypatch.setattr(get_settings(), "notify_max_event_age_hours", 24 * 30)
    build_city(engine)
    fixed_time.set(T0 + timedelta(days=10))
    accept(engine, "OLD2", T0, attributes={"applicant_phone": PHONE})
    assert [n.template for n in notices(engine)] == ["case_accepted"]


def test_every_template_has_a_chinese_name():
    assert set(templates.LABELS) == set(templates.TEMPLATES)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in templates.LABELS.values())
    assert templates.label("urge") == "催办通知" and templates.label("no_such") == "no_such"
