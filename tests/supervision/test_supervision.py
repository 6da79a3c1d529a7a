"""Urges, supervision orders, escalation and automatic rules, through models/ (both engines)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.access.scope import Role, Viewer
from esupervision.models.access.account import Account, create_account
from esupervision.models.cases.case import Case, Step
from esupervision.models.catalogue.catalogue import Center, Department, Staff, Window, create_staff, create_window
from esupervision.models.clocks.clock import Clock
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.notices.notice import Notice
from esupervision.models.ledger.replay import replay, snapshot
from esupervision.models.cases.report import CaseAction
from esupervision.models.supervision.orders import (SupervisionOrder, Target, Urge, create_urge, issue_order,
                                                    reply_to_order, reply_to_urge)
from esupervision.models.supervision.rules import RuleSpec, SupervisionRule
from esupervision.models.supervision.orders import create_rule, disable_rule, update_rule
from esupervision.models.clocks.tally import LightTally
from esupervision.models.cases.timeline import case_timeline
from esupervision.models.ledger.transaction import transaction
from esupervision.notify import templates
from esupervision.workers.lights import announce_due
from tests.builders import apply, build_city, event

SH = ZoneInfo("Asia/Shanghai")
SUPERVISOR = Viewer(role=Role.SUPERVISOR, username="jc")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def city(engine, fixed_time):
    """tests.builders' city plus a window whose staff, leader and center admin have phones."""
    build_city(engine)
    with transaction(engine, actor="test") as tx:
        center = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        market = tx.session.scalars(select(Department).where(Department.code == "SCJ")).one()
        w2 = create_window(tx, center=center, department=market, code="W02", name="2号窗口")
        create_staff(tx, center=center, code="S02", name="王芳", department=market, window=w2, phone="13900000002")
        create_staff(tx, center=center, code="L01", name="刘局长", department=market, is_leader=True,
                     phone="13900000009", title="局长")
    with Session(engine) as s:
        ids = {"center": s.scalars(select(Center.id).where(Center.code == "C01")).one(),
               "county": s.scalars(select(Center.id).where(Center.code == "C01-X1")).one(),
               "market": s.scalars(select(Department.id).where(Department.code == "SCJ")).one(),
               "w2": s.scalars(select(Window.id).where(Window.code == "W02")).one(),
               "s02": s.scalars(select(Staff.id).where(Staff.code == "S02")).one(),
               "leader": s.scalars(select(Staff.id).where(Staff.code == "L01")).one()}
        admin = create_account(s, username="admin", password="demo", role=Role.CENTER_ADMIN,
                               display_name="中心主任", now=fixed_time.now(), center_id=ids["center"])
        admin.phone = "13900000001"
        s.commit()
        ids["admin"] = admin.id
    return ids


def accept_at_w2(engine, number: str, at: datetime) -> None:
    apply(engine, event(number, CaseAction.ACCEPT, at, center_code="C01", item_code="SCJ-001",
                        window_code="W02", staff_code="S02", applicant_name="李华"))


def counts(engine) -> dict[str, int]:
    with Session(engine) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Urge, SupervisionOrder, SupervisionRule, LedgerEvent, Notice, Clock)}


def scheduler_pass(engine) -> int:
    total = 0
    while True:
        with transaction(engine, actor="system:lights") as tx:
            done = announce_due(tx)
        total += done
        if done == 0:
            return total


def staff_viewer(ids, *, role=Role.WINDOW_STAFF, staff_id=None) -> Viewer:
    return Viewer(role=role, username="x", staff_id=staff_id, center_id=ids["center"],
                  department_id=ids["market"], window_id=ids["w2"])


# ----------------------------------------------------------------------------- urges

def test_urge_tells_the_staff_handling_the_case_by_sms_and_live(engine, fixed_time, city):
    accept_at_w2(engine, "U-1", fixed_time.now())
    with transaction(engine) as tx:
        urge = create_urge(tx, target=Target(case_number="U-1"), message="请加快审查。", by=SUPERVISOR)
        announced = tx.announcements
    with Session(engine) as s:
        row = s.get(Urge, urge.id)
        assert row.staff_id == city["s02"] and row.window_id == city["w2"] and row.department_id == city["market"]
        assert row.case_id is not None and row.item_id is not None and row.reply_due_at > fixed_time.now()
        assert row.number == "CB-C01-20261126-0001"   # sequential per center and day
        notice = s.scalars(select(Notice).where(Notice.subject_id == urge.id)).one()
        assert (notice.template, notice.channel, notice.recipient, notice.staff_id) == \
            ("urge", "sms", "+8613900000002", city["s02"])
        assert notice.params["number"] == "U-1" and notice.case_id == row.case_id
        # The supervisor wrote a sentence; the SMS goes on after it with its own "，请于…".
        assert row.message == "请加快审查。" and notice.params["message"] == "请加快审查"
        assert "被催办：请加快审查，请于" in templates.render(notice.template, notice.params)
        event_ = s.scalars(select(LedgerEvent).where(LedgerEvent.kind == "urge.created")).one()
        assert notice.ledger_event_id == event_.id and event_.actor == "supervisor:jc"
    assert [(t, m["staff_ids"]) for t, m, _ in announced if t == "supervision.event"] == [("supervision.event", [str(city["s02"])])]


def test_urge_on_a_finished_case_is_refused_and_nothing_changes(engine, fixed_time, city):
    accept_at_w2(engine, "U-2", fixed_time.now())
    apply(engine, event("U-2", CaseAction.WITHDRAW, fixed_time.now()))
    before = counts(engine)
    with pytest.raises(DomainError) as refused:
        with transaction(engine) as tx:
            create_urge(tx, target=Target(case_number="U-2"), message="请加快", by=SUPERVISOR)
    assert refused.value.code is ErrorCode.CASE_NOT_RUNNING
    with pytest.raises(DomainError) as refused:
        with transaction(engine) as tx:
            issue_order(tx, target=Target(case_number="U-2"), message="请加快", by=SUPERVISOR)
    assert refused.value.code is ErrorCode.CASE_NOT_RUNNING
    assert counts(engine) == before


def test_urges_of_a_window_and_a_department_and_who_may_urge(engine, fixed_time, city):
    with transaction(engine) as tx:
        window = create_urge(tx, target=Target(window_id=city["w2"]), message="窗口排队过长", by=SUPERVISOR)
        dept = create_urge(tx, target=Target(department_id=city["market"]), message="本月超期较多",
                           by=Viewer(role=Role.CENTER_ADMIN, username="admin", center_id=city["center"]))
    assert window.addressee_ids == [str(city["s02"])] and window.case_id is None
    assert dept.addressee_ids == [str(city["leader"])]
    with Session(engine) as s:
        templates = sorted(s.scalars(select(Notice.template)))
    assert templates == ["urge_unit", "urge_unit"]
    before = counts(engine)
    for who, target, code in [
        (Viewer(role=Role.CENTER_ADMIN, username="other", center_id=city["county"]), Target(window_id=city["w2"]),
         ErrorCode.FORBIDDEN),
        (staff_viewer(city), Target(window_id=city["w2"]), ErrorCode.FORBIDDEN),
        (SUPERVISOR, Target(window_id=city["w2"], department_id=city["market"]), ErrorCode.BAD_INPUT),
        (SUPERVISOR, Target(case_number="NO-SUCH"), ErrorCode.CASE_NOT_FOUND),
    ]:
        with pytest.raises(DomainError) as refused:
            with transaction(engine) as tx:
                create_urge(tx, target=target, message="催办", by=who)
        assert refused.value.code is code
    with pytest.raises(DomainError) as refused:
        with transaction(engine) as tx:
            create_urge(tx, target=Target(window_id=city["w2"]), message="  ", by=SUPERVISOR)
    assert refused.value.code is ErrorCode.BAD_INPUT
    assert counts(engine) == before


def test_urge_of_a_finished_step_is_refused_and_a_reply_is_kept(engine, fixed_time, city):
    accept_at_w2(engine, "U-3", fixed_time.now())
    apply(engine, event("U-3", CaseAction.ADVANCE, fixed_time.now()))
    with Session(engine) as s:
        done = s.scalars(select(Step).where(Step.name == "受理")).one()
        running = s.scalars(select(Step).where(Step.name == "审查")).one()
    before = counts(engine)
    with pytest.raises(DomainError) as refused:
        with transaction(engine) as tx:
            create_urge(tx, target=Target(step_id=done.id), message="催办", by=SUPERVISOR)
    assert refused.value.code is ErrorCode.URGE_TARGET_FINISHED
    assert counts(engine) == before
    with transaction(engine) as tx:
        urge = create_urge(tx, target=Target(step_id=running.id), message="审查环节请加快", by=SUPERVISOR)
    with pytest.raises(DomainError) as refused:
        with transaction(engine) as tx:
            reply_to_urge(tx, urge_id=urge.id, reply="已办", by=Viewer(role=Role.WINDOW_STAFF, username="w9"))
    assert refused.value.code is ErrorCode.ORDER_NOT_ADDRESSEE
    with transaction(engine) as tx:
        reply_to_urge(tx, urge_id=urge.id, reply="已安排专人审查", by=staff_viewer(city, staff_id=city["s02"]))
    with Session(engine) as s:
        row = s.get(Urge, urge.id)
        assert row.reply == "已安排专人审查" and row.replied_at == fixed_time.now()


# ----------------------------------------------------------------------------- orders

def test_order_reply_only_by_the_addressee_and_it_finishes_the_clock(engine, fixed_time, city):
    accept_at_w2(engine, "O-1", fixed_time.now())
    with transaction(engine) as tx:
        order = issue_order(tx, target=Target(case_number="O-1"), message="请说明进度", by=SUPERVISOR, reply_days=2)
    with Session(engine) as s:
        clock = s.get(Clock, order.clock_id)
        assert clock.subject_type == "order" and clock.state == "running"
        assert order.due_at == clock.due_at == local(2026, 11, 30, 23, 59, 59)
        notices = sorted((n.template, n.channel) for n in s.scalars(select(Notice).where(Notice.subject_id == order.id)))
        assert notices == [("supervision_order", "sms"), ("supervision_order", "voice")]
    before = counts(engine)
    other_dept = Viewer(role=Role.DEPARTMENT_LEADER, username="zjj", center_id=city["center"], department_id=None)
    for who in (other_dept, SUPERVISOR, Viewer(role=Role.WINDOW_STAFF, username="w1", staff_id=city["leader"])):
        with pytest.raises(DomainError) as refused:
            with transaction(engine) as tx:
                reply_to_order(tx, order_id=order.id, reply="已办理", by=who)
        assert refused.value.code is ErrorCode.ORDER_NOT_ADDRESSEE
    assert counts(engine) == before
    fixed_time.advance(hours=3)
    with transaction(engine) as tx:
        reply_to_order(tx, order_id=order.id, reply="已完成审查，明日办结", by=staff_viewer(city, staff_id=city["s02"]),
                       finish_by=local(2026, 11, 27, 17, 0))
    with Session(engine) as s:
        row = s.get(SupervisionOrder, order.id)
        assert (row.status, row.replied_on_time, row.escalation_level) == ("replied", True, 0)
        clock = s.get(Clock, order.clock_id)
        assert (clock.state, clock.outcome) == ("finished", "early")
    with pytest.raises(DomainError) as refused:
        with transaction(engine) as tx:
            reply_to_order(tx, order_id=order.id, reply="再次反馈", by=staff_viewer(city, staff_id=city["s02"]))
    assert refused.value.code is ErrorCode.ORDER_ALREADY_REPLIED


def test_an_unanswered_order_escalates_to_the_leader_then_the_center(engine, fixed_time, city):
    accept_at_w2(engine, "O-2", fixed_time.now())
    with transaction(engine) as tx:
        order = issue_order(tx, target=Target(case_number="O-2"), message="请说明进度", by=SUPERVISOR, reply_days=1)
    # Due at the end of Friday 27th: red from Saturday's midnight.
    fixed_time.set(local(2026, 11, 28, 0, 5))
    scheduler_pass(engine)
    with Session(engine) as s:
        row = s.get(SupervisionOrder, order.id)
        assert (row.escalation_level, row.status) == (1, "open")
        assert row.due_at == local(2026, 12, 1, 23, 59, 59)        # two working days: Mon, Tue
        assert str(city["leader"]) in row.addressee_ids
        first = s.scalars(select(Clock).where(Clock.subject_id == order.id).order_by(Clock.started_at)).all()
        assert [c.state for c in first] == ["finished", "running"] and first[0].outcome == "overdue"
        escalated = s.scalars(select(LedgerEvent).where(LedgerEvent.kind == "order.escalated")).one()
        assert escalated.data["level"] == 1 and escalated.actor == "system:escalation"
        to_leader = s.scalars(select(Notice).where(Notice.ledger_event_id == escalated.id)).all()
        assert sorted((n.template, n.channel, n.staff_id) for n in to_leader) == [
            ("order_overdue", "sms", city["leader"]), ("order_overdue", "voice", city["leader"])]
    fixed_time.set(local(2026, 12, 2, 0, 5))
    scheduler_pass(engine)
    with Session(engine) as s:
        row = s.get(SupervisionOrder, order.id)
        assert row.escalation_level == 2 and row.leadership_ids == [str(city["admin"])]
        top = s.scalars(select(LedgerEvent).where(LedgerEvent.kind == "order.escalated").order_by(LedgerEvent.id)).all()
        assert [e.data["level"] for e in top] == [1, 2]
        assert s.scalars(select(Notice.recipient).where(Notice.ledger_event_id == top[1].id)).all() == \
            ["+8613900000001", "+8613900000001"]
    # The top level's clock running out changes nothing more.
    fixed_time.set(local(2026, 12, 10, 0, 5))
    scheduler_pass(engine)
    with Session(engine) as s:
        assert s.get(SupervisionOrder, order.id).escalation_level == 2
    admin = Viewer(role=Role.CENTER_ADMIN, username="admin", center_id=city["center"])
    with transaction(engine) as tx:
        reply_to_order(tx, order_id=order.id, reply="中心已协调办结", by=admin)
    with Session(engine) as s:
        row = s.get(SupervisionOrder, order.id)
        assert (row.status, row.replied_on_time) == ("replied", False)
        case = s.scalars(select(Case).where(Case.number == "O-2")).one()
        kinds = [e.kind for e in case_timeline(s, case)]
    assert kinds.count("order.escalated") == 2 and "order.issued" in kinds and "order.replied" in kinds


# ----------------------------------------------------------------------------- rules

def test_rules_urge_on_yellow_and_order_after_two_red_working_days(engine, fixed_time, city):
    with transaction(engine) as tx:
        yellow = create_rule(tx, by=SUPERVISOR, spec=RuleSpec(name="黄灯催办窗口", trigger="light_yellow",
                                                              action="urge", message="办件即将到期，请抓紧办理"))
        red = create_rule(tx, by=SUPERVISOR, spec=RuleSpec(name="红灯两日督办", trigger="red_for_days", days=2,
                                                           action="order", reply_days=1, message="办件超期两个工作日，请说明原因"))
    accept_at_w2(engine, "R-1", fixed_time.now())      # due Thursday 3 December
    fixed_time.set(local(2026, 12, 3, 0, 5))            # yellow on its last day
    scheduler_pass(engine)
    with Session(engine) as s:
        urge = s.scalars(select(Urge)).one()
        assert (urge.rule_id, urge.created_by, urge.staff_id) == (yellow.id, "system:rules", city["s02"])
        created = s.scalars(select(LedgerEvent).where(LedgerEvent.kind == "urge.created")).one()
        assert created.actor == "system:rules" and created.data["rule"]["id"] == str(yellow.id)
    fixed_time.set(local(2026, 12, 4, 0, 5))            # red on Friday: the two-day timer starts
    scheduler_pass(engine)
    fixed_time.set(local(2026, 12, 7, 12, 0))           # one red working day: nothing yet
    scheduler_pass(engine)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(SupervisionOrder)) == 0
    fixed_time.set(local(2026, 12, 8, 0, 5))            # Friday and Monday red: order
    scheduler_pass(engine)
    with Session(engine) as s:
        order = s.scalars(select(SupervisionOrder)).one()
        assert (order.rule_id, order.issued_by, order.reply_days) == (red.id, "system:rules", 1)
        issued = s.scalars(select(LedgerEvent).where(LedgerEvent.kind == "order.issued")).one()
        assert issued.actor == "system:rules" and issued.data["rule"]["id"] == str(red.id)
        assert s.scalars(select(Urge)).one().id == urge.id       # the yellow rule fired once


def test_a_disabled_rule_and_a_completed_case_fire_nothing(engine, fixed_time, city):
    with transaction(engine) as tx:
        rule = create_rule(tx, by=SUPERVISOR, spec=RuleSpec(name="黄灯催办", trigger="light_yellow",
                                                            action="urge", message="请抓紧"))
        create_rule(tx, by=SUPERVISOR, spec=RuleSpec(name="红灯一日督办", trigger="red_for_days", days=1,
                                                     action="order", message="请说明原因"))
    with transaction(engine) as tx:
        disable_rule(tx, rule_id=rule.id, by=SUPERVISOR)
    accept_at_w2(engine, "R-2", fixed_time.now())
    fixed_time.set(local(2026, 12, 4, 0, 5))
    scheduler_pass(engine)
    apply(engine, event("R-2", CaseAction.WITHDRAW, fixed_time.now()))
    fixed_time.set(local(2026, 12, 8, 0, 5))
    scheduler_pass(engine)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Urge)) == 0
        assert s.scalar(select(func.count()).select_from(SupervisionOrder)) == 0
        ended = s.scalars(select(LedgerEvent).where(LedgerEvent.kind == "rule.watch_ended")).one()
        assert ended.data["reason"] == "case_not_red" and ended.data["acted"] is None


@pytest.mark.parametrize(("spec", "code"), [
    (dict(trigger="light_purple", action="urge"), ErrorCode.RULE_UNKNOWN_TRIGGER),
    (dict(trigger="light_yellow", action="fine"), ErrorCode.RULE_UNKNOWN_ACTION),
    (dict(trigger="red_for_days", action="order"), ErrorCode.BAD_INPUT),
    (dict(trigger="light_yellow", action="urge", reply_days=0), ErrorCode.BAD_INPUT),
])
def test_a_rule_naming_an_unknown_trigger_or_action_is_refused(engine, fixed_time, city, spec, code):
    with transaction(engine) as tx:
        rule = create_rule(tx, by=SUPERVISOR, spec=RuleSpec(name="黄灯催办", trigger="light_yellow",
                                                            action="urge", message="请抓紧"))
    before = counts(engine)
    with pytest.raises(DomainError) as refused:
        with transaction(engine) as tx:
            create_rule(tx, by=SUPERVISOR, spec=RuleSpec(name="新规则", message="请抓紧", **spec))
    assert refused.value.code is code
    with pytest.raises(DomainError) as refused:
        with transaction(engine) as tx:
            update_rule(tx, rule_id=rule.id, by=SUPERVISOR, spec=RuleSpec(name="改", message="请抓紧", **spec))
    assert refused.value.code is code
    assert counts(engine) == before
    with Session(engine) as s:
        assert s.get(SupervisionRule, rule.id).trigger == "light_yellow"


# ----------------------------------------------------------------------------- replay

def test_replay_rebuilds_urges_orders_rules_and_their_clocks(engine, fixed_time, city):
    with transaction(engine) as tx:
        create_rule(tx, by=SUPERVISOR, spec=RuleSpec(name="黄灯催办", trigger="light_yellow", action="urge",
                                                     message="请抓紧"))
        create_rule(tx, by=SUPERVISOR, spec=RuleSpec(name="红灯一日督办", trigger="red_for_days", days=1,
                                                     action="order", message="请说明原因"))
    accept_at_w2(engine, "P-1", fixed_time.now())
    accept_at_w2(engine, "P-2", fixed_time.now())
    with transaction(engine) as tx:
        issue_order(tx, target=Target(case_number="P-2"), message="请说明", by=SUPERVISOR, reply_days=1)
        urge = create_urge(tx, target=Target(window_id=city["w2"]), message="窗口排队", by=SUPERVISOR)
    with transaction(engine) as tx:
        reply_to_urge(tx, urge_id=urge.id, reply="已增开窗口", by=staff_viewer(city, staff_id=city["s02"]))
    for day in (3, 4, 8):
        fixed_time.set(local(2026, 12, day, 0, 5))
        scheduler_pass(engine)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(SupervisionOrder)) >= 2
        assert s.scalar(select(func.count()).select_from(Urge)) >= 2
        live = snapshot(s)
        tally_live = sorted(s.execute(select(LightTally.subject_type, LightTally.department_id, LightTally.day,
                                             LightTally.kind, LightTally.count).where(LightTally.count != 0)).all())
    with Session(engine) as s:
        replay(s)
        s.commit()
    with Session(engine) as s:
        assert snapshot(s) == live
        # The tally kept as orders and timers start and stop equals the one rebuilt from clocks.
        assert sorted(s.execute(select(LightTally.subject_type, LightTally.department_id, LightTally.day,
                                       LightTally.kind, LightTally.count).where(LightTally.count != 0)).all()) == tally_live


def test_urge_a_tender_stage_reaches_the_authority_leader(engine, fixed_time, city):
    from esupervision.models.tenders.tender import TenderStageRow
    from tests.tenders.test_tender import T0, ev, publish_attrs
    from tests.tenders.test_tender import apply as tender_apply
    from esupervision.models.tenders.rules import TenderAction

    tender_apply(engine, ev("ZB-U-1", TenderAction.PUBLISH, T0, **publish_attrs(center_code="C01")))
    with Session(engine) as s:
        stage = s.scalars(select(TenderStageRow).where(TenderStageRow.status == "running")
                          .order_by(TenderStageRow.seq)).first()
    before = counts(engine)
    with pytest.raises(DomainError) as refused:       # the authority (住建局) has no leader on record yet
        with transaction(engine) as tx:
            create_urge(tx, target=Target(tender_stage_id=stage.id), message="请督促按期开标", by=SUPERVISOR)
    assert refused.value.code is ErrorCode.NO_ADDRESSEE
    assert counts(engine) == before
    with transaction(engine, actor="test") as tx:
        center = tx.session.get(Center, city["center"])
        build = tx.session.scalars(select(Department).where(Department.code == "ZJJ")).one()
        leader = create_staff(tx, center=center, code="L02", name="赵局长", department=build, is_leader=True,
                              phone="13900000008")
    with transaction(engine) as tx:
        urge = create_urge(tx, target=Target(tender_stage_id=stage.id), message="请督促按期开标", by=SUPERVISOR)
    assert (urge.target_kind, urge.tender_stage_id, urge.addressee_ids) == ("tender_stage", stage.id, [str(leader.id)])
    with Session(engine) as s:
        notice = s.scalars(select(Notice).where(Notice.subject_id == urge.id)).one()
        assert (notice.template, notice.recipient) == ("urge_unit", "+8613900000008")
        assert "ZB-U-1" in notice.params["target"]


def test_a_step_rule_urges_the_step_that_turned_red(engine, fixed_time, city):
    with transaction(engine) as tx:
        rule = create_rule(tx, by=SUPERVISOR, spec=RuleSpec(name="环节超期催办", trigger="light_red", subject="step",
                                                            action="urge", message="本环节已超期，请立即办理"))
    accept_at_w2(engine, "R-3", fixed_time.now())      # 受理 (1 working day) due Friday 27th
    fixed_time.set(local(2026, 11, 28, 0, 5))
    scheduler_pass(engine)
    with Session(engine) as s:
        step = s.scalars(select(Step).where(Step.name == "受理")).one()
        urge = s.scalars(select(Urge)).one()
    assert (urge.target_kind, urge.step_id, urge.rule_id, urge.created_by) == ("step", step.id, rule.id, "system:rules")


def test_document_numbers_run_per_center_and_day_and_two_writers_never_share_one(engine, fixed_time, city):
    """Urge, order and complaint numbers are read out on the phone (CB-C01-20261126-0001): sequential
    per center and local day, unique across centers; writers at once get consecutive numbers."""
    import threading

    from esupervision.models.catalogue.numbering import next_number

    with Session(engine) as s:
        city_id = s.scalars(select(Center.id).where(Center.code == "C01")).one()
        county_id = s.scalars(select(Center.id).where(Center.code == "C01-X1")).one()
    day = fixed_time.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    with transaction(engine) as tx:
        first = next_number(tx.session, kind="CB", center_id=city_id, day=day, existing=Urge.number)
        second = next_number(tx.session, kind="CB", center_id=city_id, day=day, existing=Urge.number)
        county = next_number(tx.session, kind="CB", center_id=county_id, day=day, existing=Urge.number)
        order = next_number(tx.session, kind="DB", center_id=city_id, day=day, existing=SupervisionOrder.number)
    assert (first, second) == ("CB-C01-20261126-0001", "CB-C01-20261126-0002")
    assert county == "CB-C01-X1-20261126-0001" and order == "DB-C01-20261126-0001"
    with pytest.raises(RuntimeError):   # a transaction that rolls back gives its number back
        with transaction(engine) as tx:
            next_number(tx.session, kind="CB", center_id=city_id, day=day)
            raise RuntimeError("rolled back")

    taken: list[str] = []
    start = threading.Barrier(4)

    def writer() -> None:
        start.wait()
        for _ in range(5):
            with transaction(engine) as tx:
                taken.append(next_number(tx.session, kind="CB", center_id=city_id, day=day))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == [f"CB-C01-20261126-{n:04d}" for n in range(3, 23)]
