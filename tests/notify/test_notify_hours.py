"""When notices go out, by category (setting ``notice_hours``, each template's category in
``models/notices/templates.py``): login codes, answers and alarms at any hour; applicants' notices
08:00–21:00 every day; staff urges, orders and warnings 08:30–17:30 on the center's working days
(its calendar: holidays, 调休 and the center's own overrides); calls never at night, urgent or
not (the demo's "urgent" order called a leader at 00:15). A held notice goes out when its window
opens, in the order written."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.catalogue.catalogue import Center
from esupervision.models.clocks.calendar import add_override, default_calendar
from esupervision.models.ledger.transaction import transaction
from esupervision.models.notices.notice import Notice, NoticeDraft, add_notices
from esupervision.notify import templates
from esupervision.notify.gateway import Gateway, relay
from esupervision.notify.limits import Hours, notice_hours, opens_at, send_at
from esupervision.settings import Settings
from tests.builders import build_city
from tests.notify.test_notify_delivery import CN, SH, notice, queue
from tests.notify.test_notify_support import aliyun, notify_settings, public_port, twilio  # noqa: F401

POLICY = notice_hours(Settings().notice_hours)   # the defaults


@pytest.fixture
def settings(twilio, aliyun, public_port) -> Settings:  # noqa: F811
    return notify_settings(twilio, aliyun, public_port, notice_hours=Settings().notice_hours)
WORKING = default_calendar().is_working
ORDER = {"number": "N1", "message": "请立即办理", "reply_by": "2026年11月30日 17:30"}


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


@pytest.mark.parametrize("template, channel, now, expected", [
    # login codes, answers to what a person just sent, alarms: any hour
    ("login_code", "sms", at(11, 27, 3, 0), None),
    ("status_accepted", "sms", at(11, 26, 23, 40), None),
    ("ledger_breach", "sms", at(11, 28, 2, 30), None),
    # applicants: 08:00–21:00, every day
    ("case_accepted", "sms", at(11, 26, 21, 0), at(11, 27, 8, 0)),
    ("case_accepted", "sms", at(11, 27, 7, 59), at(11, 27, 8, 0)),
    ("case_accepted", "sms", at(11, 28, 10, 0), None),                  # a Saturday: applicants, yes
    # staff: 08:30–17:30 on working days
    ("urge", "sms", at(11, 26, 9, 0), None),
    ("urge", "sms", at(11, 27, 17, 30), at(11, 30, 8, 30)),             # Friday evening → Monday
    ("overdue", "sms", at(9, 30, 18, 0), at(10, 8, 8, 30)),             # 国庆节: after the holiday
    ("overdue", "sms", at(10, 10, 9, 0), None),                         # 调休: a Saturday worked
    ("supervision_order", "sms", at(11, 27, 0, 15), at(11, 27, 8, 30)),
    # calls: never at night, urgent or not; staff calls in working hours
    ("supervision_order", "voice", at(11, 27, 0, 15), at(11, 27, 8, 30)),   # the demo's 00:15 call
    ("ledger_breach", "voice", at(11, 28, 2, 30), at(11, 28, 8, 0)),        # an alarm still waits for day
    ("case_accepted", "voice", at(11, 26, 21, 30), at(11, 27, 8, 0)),
])
def test_each_category_goes_out_in_its_hours(template, channel, now, expected):
    category = templates.get(template).category
    assert send_at(now, category=category, channel=channel, policy=POLICY, tz="Asia/Shanghai",
                   is_working=WORKING) == expected


def test_hours_are_settings_and_a_window_may_pass_midnight():
    night = Hours.parse("22:00-06:00")
    assert (night.start, night.end, night.working_days) == (time(22), time(6), False)
    assert opens_at(at(11, 26, 23, 0), night, tz="Asia/Shanghai", is_working=WORKING) is None
    assert opens_at(at(11, 27, 5, 59), night, tz="Asia/Shanghai", is_working=WORKING) is None
    assert opens_at(at(11, 27, 12, 0), night, tz="Asia/Shanghai", is_working=WORKING) == at(11, 27, 22, 0)
    assert str(Hours.parse("workdays 8:30-17:30")) == "工作日08:30-17:30"
    everyone = notice_hours({"staff": "07:00-22:00"})           # no "voice": calls keep the category's hours
    assert send_at(at(11, 28, 21, 0), category="staff", channel="voice", policy=everyone, tz="Asia/Shanghai",
                   is_working=WORKING) is None
    for bad in ("8-17", "workday 08:30-17:30", "25:00-26:00", ""):
        with pytest.raises(ValidationError):
            Settings(notice_hours={"staff": bad})


def test_held_notices_go_out_when_the_window_opens_in_the_order_written(engine, settings, aliyun, fixed_time):
    fixed_time.set(at(11, 26, 22, 0))
    gateway = Gateway(engine, settings)
    written = []
    for n in (1, 2, 3):
        written.append(queue(engine, params={"center": "市行政服务中心", "number": f"N{n}"}))
        fixed_time.advance(minutes=1)
    code = queue(engine, template="login_code", params={"code": "123456", "minutes": 5})
    for notice_id in reversed(written):
        assert gateway.deliver(notice_id).outcome == "held"
    assert gateway.deliver(code).outcome == "sent"                # a login code goes at any hour
    row = notice(engine, written[0])
    assert (row.status, row.error_code, row.not_before) == ("queued", "QUIET_HOURS", at(11, 27, 8, 0))
    assert row.error_message == "不在申请人通知的发送时段，短信于2026年11月27日 08:00发出"
    fixed_time.set(at(11, 27, 7, 59))
    assert relay(engine, lambda ids: None, settings) == 0
    fixed_time.set(at(11, 27, 8, 0))
    enqueued: list[uuid.UUID] = []
    assert relay(engine, enqueued.extend, settings) == 3
    assert enqueued == written                                   # in the order written
    gateway.deliver_many(list(reversed(enqueued)))               # however a batch names them
    assert [s.params["number"] for s in aliyun.sms() if "number" in s.params] == ["N1", "N2", "N3"]


def test_staff_notices_wait_for_a_working_day_of_their_centers_calendar(engine, settings, aliyun, fixed_time):
    """The center's own calendar counts: a day it closes (an override) is no working day."""
    build_city(engine)
    with Session(engine) as s:
        center_id = s.scalars(select(Center.id).where(Center.code == "C01")).one()
        add_override(s, center_id=center_id, day=date(2026, 11, 27), working=False, name="本地停工")
        s.commit()
    fixed_time.set(at(11, 26, 17, 45))                          # Thursday, after hours
    with transaction(engine) as tx:
        add_notices(tx, [NoticeDraft(key=f"k{n}", subject_type="urge", subject_id=uuid.uuid4(), template="urge",
                                     params={"number": "N1", "message": "请加快办理", "reply_by": "2026年12月01日 17:30"},
                                     phone=CN, recipient_kind="staff", center_id=center, channels=["sms"])
                         for n, center in ((1, center_id), (2, None))])
    with Session(engine) as s:
        ids = {row.center_id: row.id for row in s.scalars(select(Notice))}
    gateway = Gateway(engine, settings)
    assert {gateway.deliver(i).outcome for i in ids.values()} == {"held"}
    assert notice(engine, ids[center_id]).not_before == at(11, 30, 8, 30)   # its Friday is closed
    assert notice(engine, ids[None]).not_before == at(11, 27, 8, 30)        # the national calendar's Friday


def test_an_urgent_order_never_calls_a_leader_at_night(engine, settings, aliyun, fixed_time):
    fixed_time.set(at(11, 27, 0, 15))
    gateway = Gateway(engine, settings)
    call = queue(engine, template="supervision_order", params=ORDER, channels=("voice",))
    assert notice(engine, call).urgent                            # still marked urgent where listed
    assert gateway.deliver(call).outcome == "held" and aliyun.calls() == []
    row = notice(engine, call)
    assert row.not_before == at(11, 27, 8, 30)
    assert row.error_message == "不在工作人员通知的发送时段，语音呼叫于2026年11月27日 08:30发出"
    fixed_time.set(at(11, 27, 8, 30))
    assert relay(engine, lambda ids: None, settings) == 1
    assert gateway.deliver(call).outcome == "sent" and len(aliyun.calls()) == 1
