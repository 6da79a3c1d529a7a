"""The demo city's supervision activity (监察), lived day by day while ``build_demo`` replays the
cases, through the service functions the GraphQL mutations call:

- five weeks before ``now`` the supervision office switches on the default automatic rules (urge
  the window when a case turns yellow; order supervision when a case has been red for 2 working
  days) and the default accountability rules (2 overdue cases of a staff member in a quarter ->
  诫勉谈话, 3 -> 通报批评, an unanswered order -> 效能告诫);
- every working afternoon (``AFTERNOON``) the supervisor urges and orders now and then, the
  addressees answer (most on time, some late after escalation to their leader, a few never, so
  the order climbs to the center's leadership and becomes a fault), faults are recorded, pending
  accountability suggestions are decided (confirmed, changed, dismissed), a department appeals,
  the public and applicants complain and consult (answered on time, late, or not yet), applicants
  rate completed cases and bad ratings are followed up (核实、整改、回访);
- on the first working afternoon of the month last month's efficiency report is published;
- at ``now`` the featured department and window (those the ``leader`` and ``window`` demo logins
  get, ``demo_accounts.busiest_desk``) get an open order, an urge, a pending complaint, a bad
  rating under follow-up and an appeal, so each login has something of its own to act on.

Fates (reply on time, late, never ...) come from the seed and the record's number, so the same
seed and ``now`` give the same story. Actions that no longer apply (a case finished meanwhile) are
skipped, as a person would skip them.
"""
from __future__ import annotations

import logging
import random
import uuid
import zlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from esupervision.models.supervision import accountability as acc
from esupervision.models.supervision import orders as sup
from esupervision.models.access.scope import PUBLIC, Role, Viewer
from esupervision.models.base import utc
from esupervision.models.cases.case import Case, CaseStatus
from esupervision.models.catalogue.catalogue import Center, CenterLevel, Department, Staff
from esupervision.models.clocks.clock import LOCAL_TZ, Clock
from esupervision.models.public.complaint import (Complaint, ComplaintKind, ComplaintStatus, answer_complaint,
                                                  assign_complaint, file_complaint)
from esupervision.models.errors import DomainError
from esupervision.models.public.evaluation import (EvaluationRequest, FollowUp, FollowUpStage, RequestStatus, rate_case,
                                                   record_follow_up)
from esupervision.models.supervision.publication import previous_month, publish_report
from esupervision.models.supervision.rules import Action, RuleSpec, Trigger
from esupervision.models.ledger.transaction import Transaction, transaction

log = logging.getLogger(__name__)

AFTERNOON = time(16, 30)          # when the day's supervision happens (before the windows close)
RULES_BEFORE = 25                 # working days before ``now`` the rules are switched on
SUPERVISOR = Viewer(role=Role.SUPERVISOR, username="supervisor")
PUBLIC_PHONES = ("13912345678", "13700001111", "13655556666", "18688889999", "15011112222")
ORDER_FATES = (("on_time", 0.6), ("late", 0.3), ("never", 0.1))
URGE_REPLIED = 0.7
RECORD_EVERY = 5                  # a supervisor records a conduct fault every fifth working day
RATED = 0.35
SCORES = ((5, 0.8), (4, 0.12), (3, 0.045), (2, 0.02), (1, 0.015))
RATING_COMMENTS = {5: "办事效率高，窗口服务热情。", 4: "总体满意。", 2: "等候时间太长，材料被要求反复修改。",
                   1: "超期未办结，多次电话无人答复。"}
DECISIONS = (("confirm", 0.5), ("change", 0.2), ("dismiss", 0.2), ("pending", 0.1))
COMPLAINT_FATES = (("on_time", 0.65), ("late", 0.2), ("never", 0.15))

CONSULTATIONS = ("请问办理食品经营许可需要准备哪些材料？", "营业执照变更能否全程网办？", "公积金提取需要本人到场吗？",
                 "不动产登记周六能办理吗？", "办件进度在哪里查询？")
COMPLAINTS = ("窗口人员态度生硬，多次让我补交同一份材料。", "承诺5个工作日办结，已经超期仍无答复。",
              "窗口中午无人值守，等候一个多小时。", "网上申报后一直显示待受理，电话无人接听。")
ANSWERS = ("已核实情况并向您致歉，相关人员已批评教育，您的办件已加快办理。", "已电话联系您说明所需材料，欢迎来窗口办理。",
           "经核实，已督促窗口限时办结，并调整午间值守安排。")
URGE_TEXT = "该件已亮红灯，请立即办理并反馈原因及预计办结时间。"
ORDER_TEXT = "该件超期未办结，请查明原因、限期办结，于期限内书面反馈。"
REPLIES = ("已加快办理，今日完成审查，明日出具决定。", "申请人材料原件核验已完成，两个工作日内办结。",
           "因现场核查排期延误，已调整人员，本周内办结。")
LATE_REPLY = "经部门领导督促，已查明延误原因（人员请假、交接不清），本周内办结并整改。"
RECORDED_FAULTS = (("service_attitude", "电子眼抽查：窗口人员对申请人态度生硬，推诿咨询。"),
                   ("absent_from_post", "电子眼抽查：工作时间窗口无人值守超过30分钟。"))
FOLLOW_UP_NOTES = {FollowUpStage.VERIFY: "已电话联系申请人核实情况，属实。",
                   FollowUpStage.RECTIFY: "已对窗口人员批评教育，一次性告知清单已更新。",
                   FollowUpStage.REVISIT: "回访申请人，对整改结果表示满意。"}


def _fate(seed: int, key: str, choices: tuple[tuple[Any, float], ...]) -> Any:
    """A choice fixed by the seed and the record's number, not by the order of events."""
    rng = random.Random(zlib.crc32(f"{seed}:{key}".encode()))
    values, weights = zip(*choices)
    return rng.choices(values, weights)[0]


class Fates:
    """Each record's fate: the first few records take every fate once (so even a small demo
    shows each), the rest draw from the weights."""

    def __init__(self, seed: int, kind: str, choices: tuple[tuple[Any, float], ...]) -> None:
        self.seed, self.kind, self.choices = seed, kind, choices
        self.first = [value for value, _ in choices]
        self.known: dict[str, Any] = {}

    def __call__(self, key: str) -> Any:
        if key not in self.known:
            self.known[key] = self.first.pop(0) if self.first else _fate(self.seed, f"{self.kind}:{key}", self.choices)
        return self.known[key]


def _story_key(label: str, at: datetime, rule_id: uuid.UUID | None) -> str:
    """A record's key for its fate: what and when, never its random id or number, so the same
    seed gives the same story on any engine."""
    return f"{utc(at).isoformat()}|{label}|{'rule' if rule_id else 'person'}"


def _chance(seed: int, key: str, p: float) -> bool:
    return random.Random(zlib.crc32(f"{seed}:{key}".encode())).random() < p


class SupervisionStory:
    """The supervision office's working days in the demo; ``afternoon`` is called by the replay
    at ``AFTERNOON`` of each working day, ``finish`` once at ``now``."""

    def __init__(self, engine: Engine, *, working_days: list[date], now: datetime, seed: int,
                 counts: dict[str, int]) -> None:
        self.engine, self.now, self.seed, self.counts = engine, utc(now), seed, counts
        self.rules_on = working_days[max(0, len(working_days) - 1 - RULES_BEFORE)]
        self.rng = random.Random(f"{seed}:supervision")
        self.published: set[tuple[date, date]] = set()
        self.appealed = False
        self.supervised_days = 0
        self.appeal_filed: uuid.UUID | None = None
        self.order_fate = Fates(seed, "order", ORDER_FATES)
        self.complaint_fate = Fates(seed, "complaint", COMPLAINT_FATES)
        self.decision = Fates(seed, "decision", DECISIONS)
        self.people: dict[str, Viewer] = {}
        self.leaders: dict[uuid.UUID, Viewer] = {}
        self.city_code = ""
        self.city_departments: list[uuid.UUID] = []

    # -- helpers ---------------------------------------------------------------------------

    def _act(self, at: datetime, who: Viewer | str, change: Callable[[Transaction], Any], what: str) -> Any:
        """One action in its own transaction; a refusal is skipped (counted), never fatal."""
        try:
            actor = who if isinstance(who, str) else who.actor
            with transaction(self.engine, now=at, actor=actor) as tx:
                done = change(tx)
        except DomainError as exc:
            self.counts["supervision_skipped"] += 1
            log.debug("demo supervision: %s skipped: %s", what, exc.code)
            return None
        if done is not None:
            self.counts[what] += 1
        return done

    def _read(self, at: datetime, query: Callable[[Transaction], Any]) -> Any:
        with transaction(self.engine, now=at, actor="demo") as tx:
            return query(tx)

    def _people(self) -> None:
        """Every staff member as the viewer they sign in as, and each department's leader."""
        with transaction(self.engine, actor="demo") as tx:
            for staff in tx.session.scalars(select(Staff).order_by(Staff.code)):
                role = Role.DEPARTMENT_LEADER if staff.is_leader else Role.WINDOW_STAFF
                who = Viewer(role=role, username=staff.code, staff_id=staff.id, center_id=staff.center_id,
                             department_id=staff.department_id, window_id=staff.window_id)
                self.people[str(staff.id)] = who
                if staff.is_leader and staff.department_id is not None:
                    self.leaders.setdefault(staff.department_id, who)
            self.city_code = tx.session.scalar(select(Center.code).where(Center.level == CenterLevel.CITY.value))
            self.city_departments = list(tx.session.scalars(
                select(Department.id).join(Center, Center.id == Department.center_id)
                .where(Center.level == CenterLevel.CITY.value).order_by(Department.code)))

    def _leader(self, department_id: uuid.UUID) -> Viewer:
        return self.leaders.get(department_id) or Viewer(role=Role.DEPARTMENT_LEADER, username="leader",
                                                          department_id=department_id)

    def _addressee(self, addressees: list[str], department_id: uuid.UUID) -> Viewer:
        return (self.people.get(addressees[0]) if addressees else None) or self._leader(department_id)

    @staticmethod
    def _red_cases(tx: Transaction, limit: int) -> list[str]:
        """Numbers of running cases red now, the longest overdue first (what a supervisor sees)."""
        return list(tx.session.scalars(
            select(Case.number).join(Clock, Clock.id == Case.clock_id)
            .where(Case.status == CaseStatus.ACCEPTED.value, Clock.state == "running", Clock.red_at <= tx.now)
            .order_by(Clock.due_at, Case.number).limit(limit)))

    # -- set-up ----------------------------------------------------------------------------

    def switch_on_rules(self, at: datetime) -> None:
        """The default automatic rules and accountability rules, as a supervisor enters them."""
        actor = SUPERVISOR.actor
        for spec in (RuleSpec(name="黄灯自动催办窗口", trigger=Trigger.LIGHT_YELLOW, action=Action.URGE,
                              message="您窗口的办件即将到期（黄灯），请抓紧办理。", reply_days=1),
                     RuleSpec(name="红灯持续2个工作日自动督办", trigger=Trigger.RED_FOR_DAYS, action=Action.ORDER,
                              message="办件已超期2个工作日仍未办结，请查明原因并限期反馈。", days=2, reply_days=2)):
            self._act(at, actor, lambda tx, spec=spec: sup.create_rule(tx, spec=spec, by=SUPERVISOR),
                      "supervision_rules")
        # 问责条例 第八条: 通报 is lighter than 诫勉, so two overdue cases are criticised, three admonished.
        for spec in (acc.RuleSpec(name="一季度内办件超期2次：通报批评", fault_kinds=["case_overdue"],
                                  subject_level="staff", threshold=2, period="quarter",
                                  sanction="circulated_criticism", show_names=True),
                     acc.RuleSpec(name="一季度内办件超期3次：诫勉谈话", fault_kinds=["case_overdue"],
                                  subject_level="staff", threshold=3, period="quarter", sanction="admonishing_talk"),
                     acc.RuleSpec(name="督办逾期未反馈：效能告诫", fault_kinds=["order_unanswered"],
                                  subject_level="department", threshold=1, period="month",
                                  sanction="efficiency_warning")):
            self._act(at, actor, lambda tx, spec=spec: acc.create_rule(tx, spec), "accountability_rules")

    # -- every working afternoon -----------------------------------------------------------

    def afternoon(self, at: datetime) -> None:
        """What the office, the departments and the public do on this afternoon."""
        day = at.astimezone(LOCAL_TZ).date()
        if not self.people:
            self._people()
        if day == self.rules_on:
            self.switch_on_rules(at)
        if day >= self.rules_on:
            self._supervise(at)
            self._answer_orders(at)
            self._answer_urges(at)
            self._decide_suggestions(at)
            self._appeal(at)
        self._complaints(at)
        self._ratings(at)
        self._follow_ups(at)
        self._publish(at, day)

    def _supervise(self, at: datetime) -> None:
        """The supervisor's own urges and orders: a red case most days, now and then more."""
        rng = self.rng
        red = self._read(at, lambda tx: self._red_cases(tx, 20))
        if red and rng.random() < 0.6:
            number = rng.choice(red)
            self._act(at, SUPERVISOR.actor, lambda tx: sup.create_urge(
                tx, target=sup.Target(case_number=number), message=URGE_TEXT, by=SUPERVISOR), "urges")
        if red and rng.random() < 0.35:
            number = rng.choice(red)
            self._act(at, SUPERVISOR.actor, lambda tx: sup.issue_order(
                tx, target=sup.Target(case_number=number), message=ORDER_TEXT, by=SUPERVISOR, reply_days=3), "orders")
        self.supervised_days += 1
        if self.supervised_days % RECORD_EVERY == 2:     # the camera spot checks of the week
            kind, text = rng.choice(RECORDED_FAULTS)
            person = rng.choice([who for who in self.people.values() if who.window_id is not None])
            self._act(at, SUPERVISOR.actor, lambda tx: acc.record_fault(
                tx, kind=kind, description=text, staff_id=person.staff_id, occurred_at=tx.now), "recorded_faults")

    def _answer_orders(self, at: datetime) -> None:
        """Open orders: answered on time, late (by the leader once escalated), or never."""
        def open_orders(tx: Transaction) -> list[tuple[str, uuid.UUID, int, list[str], uuid.UUID]]:
            rows = tx.session.scalars(select(sup.SupervisionOrder).where(
                sup.SupervisionOrder.status == sup.OrderStatus.OPEN, sup.SupervisionOrder.issued_at < tx.now))
            return sorted((_story_key(o.target_label, o.issued_at, o.rule_id), o.id, o.escalation_level,
                           list(o.addressee_ids), o.department_id) for o in rows)
        for key, order_id, level, addressees, department_id in self._read(at, open_orders):
            fate = self.order_fate(key)
            if fate == "never" or (fate == "late" and level == 0):
                continue

            who = self._addressee(addressees, department_id) if level == 0 else self._leader(department_id)
            text = REPLIES[zlib.crc32(key.encode()) % len(REPLIES)] if level == 0 else LATE_REPLY
            self._act(at, who, lambda tx, order_id=order_id, text=text, who=who: sup.reply_to_order(
                tx, order_id=order_id, reply=text, by=who, finish_by=tx.now + timedelta(days=2)),
                "order_replies" if level == 0 else "order_replies_late")

    def _answer_urges(self, at: datetime) -> None:
        def open_urges(tx: Transaction) -> list[tuple[str, uuid.UUID, list[str], uuid.UUID]]:
            since = tx.now - timedelta(days=1)
            rows = tx.session.scalars(select(sup.Urge).where(sup.Urge.replied_at.is_(None),  # type: ignore[union-attr]
                                                             sup.Urge.created_at >= since,
                                                             sup.Urge.created_at < tx.now))
            return sorted((_story_key(u.target_label, u.created_at, u.rule_id), u.id, list(u.addressee_ids),
                           u.department_id) for u in rows)
        for key, urge_id, addressees, department_id in self._read(at, open_urges):
            if not _chance(self.seed, key, URGE_REPLIED):
                continue
            who = self._addressee(addressees, department_id)
            text = REPLIES[zlib.crc32(key.encode()) % len(REPLIES)]
            self._act(at, who, lambda tx, urge_id=urge_id, text=text, who=who: sup.reply_to_urge(
                tx, urge_id=urge_id, reply=text, by=who), "urge_replies")

    def _decide_suggestions(self, at: datetime) -> None:
        """Suggestions older than two days get the supervisor's decision (most of them)."""
        def pending(tx: Transaction) -> list[tuple[str, uuid.UUID, str]]:
            model = acc.AccountabilitySuggestion
            rows = tx.session.execute(
                select(model.id, model.suggested_sanction, model.created_at, model.period, acc.AccountabilityRule.name,
                       Department.code, Staff.code)
                .join(acc.AccountabilityRule, acc.AccountabilityRule.id == model.rule_id)
                .join(Department, Department.id == model.department_id, isouter=True)
                .join(Staff, Staff.id == model.staff_id, isouter=True)
                .where(model.status == acc.SuggestionStatus.PENDING.value, model.created_at < tx.now - timedelta(days=2)))
            return sorted((_story_key(f"{rule}|{period}|{dept}|{staff}", created, None), suggestion_id, sanction)
                          for suggestion_id, sanction, created, period, rule, dept, staff in rows)
        for key, suggestion_id, sanction in self._read(at, pending):
            decision = self.decision(key)
            if decision == "pending":
                continue
            other = "rectification" if sanction != "rectification" else "efficiency_warning"
            label = acc.SANCTION_LABELS[acc.Sanction(other)]
            reason = {"confirm": None, "change": f"初次超期且已主动整改，改为{label}。",
                      "dismiss": "超期系申请人补正材料延误所致，不予追究。"}[decision]

            def decide(tx: Transaction, suggestion_id=suggestion_id, decision=decision, reason=reason,
                       other=other) -> Any:
                return acc.decide_suggestion(tx, suggestion_id=suggestion_id,
                                             decision=acc.SuggestionDecision(decision), reason=reason,
                                             sanction=other if decision == "change" else None)
            self._act(at, SUPERVISOR.actor, decide, f"suggestions_{decision}")

    def _appeal(self, at: datetime) -> None:
        """Once: a department leader appeals a recorded conduct fault; the supervisor revokes it
        the next afternoon (the statistics no longer count it)."""
        if self.appeal_filed is not None:
            appeal_id, self.appeal_filed = self.appeal_filed, None
            self._act(at, SUPERVISOR.actor, lambda tx: acc.decide_appeal(
                tx, appeal_id=appeal_id, outcome=acc.AppealOutcome.REVOKE,
                reason="经核实请假手续齐全，撤销该差错认定。"), "appeals_decided")
        if self.appealed:
            return

        fault = self._read(at, lambda tx: tx.session.execute(select(acc.Fault.id, acc.Fault.department_id).where(
            acc.Fault.source == "recorded", acc.Fault.status == acc.FaultStatus.ACTIVE.value,
            acc.Fault.occurred_at < tx.now - timedelta(days=1)).order_by(acc.Fault.occurred_at)).first())
        if fault is None:
            return
        leader = self._leader(fault[1])
        appeal = self._act(at, leader, lambda tx: acc.file_appeal(
            tx, viewer=leader, subject_type="fault", subject_id=fault[0],
            reason="当日该人员经批准外出参加业务培训，有请假审批单为证。", evidence=["请假审批单（扫描件）", "培训通知"]),
            "appeals")
        if appeal is not None:
            self.appealed, self.appeal_filed = True, appeal.id

    def _complaints(self, at: datetime) -> None:
        """New complaints and consultations; earlier ones assigned and answered as fated."""
        rng = self.rng
        if rng.random() < 0.35:
            text = rng.choice(CONSULTATIONS)
            phone = rng.choice(PUBLIC_PHONES)
            self._act(at, PUBLIC.actor, lambda tx: file_complaint(
                tx, filer=PUBLIC, kind=ComplaintKind.CONSULTATION, content=text, phone=phone,
                center_code=self.city_code, channel=rng.choice(("online", "sms"))), "consultations")
        if rng.random() < 0.2:
            def linked(tx: Transaction) -> Any:
                case = tx.session.scalars(select(Case).where(Case.status == CaseStatus.ACCEPTED.value,
                                                             Case.applicant_phone.is_not(None))  # type: ignore[union-attr]
                                          .order_by(Case.number).offset(rng.randrange(50)).limit(1)).first()
                if case is None:
                    return None
                filer = Viewer(role=Role.APPLICANT, applicant_phone=case.applicant_phone)
                return file_complaint(tx, filer=filer, kind=ComplaintKind.COMPLAINT, content=rng.choice(COMPLAINTS),
                                      case_number=case.number, name=case.applicant_name[:20])
            self._act(at, "applicant", linked, "complaints")
        if rng.random() < 0.1:
            text = rng.choice(COMPLAINTS)
            self._act(at, PUBLIC.actor, lambda tx: file_complaint(
                tx, filer=PUBLIC, kind=ComplaintKind.COMPLAINT, content=text, phone=rng.choice(PUBLIC_PHONES),
                center_code=self.city_code), "complaints")
        self._handle_complaints(at)

    def _handle_complaints(self, at: datetime) -> None:
        def waiting(tx: Transaction) -> list[tuple[str, str, uuid.UUID | None, datetime, datetime]]:
            return [(c.number, c.status, c.department_id, c.filed_at, c.due_at) for c in tx.session.scalars(
                select(Complaint).where(Complaint.status != ComplaintStatus.ANSWERED.value, Complaint.filed_at < tx.now)
                .order_by(Complaint.number))]
        departments = self.city_departments
        for number, status, department_id, filed_at, due_at in self._read(at, waiting):
            fate = self.complaint_fate(number)
            if department_id is None:
                department_id = departments[zlib.crc32(number.encode()) % len(departments)]
                self._act(at, SUPERVISOR.actor, lambda tx, n=number, d=department_id: assign_complaint(
                    tx, viewer=SUPERVISOR, number=n, department_id=d), "complaints_assigned")
                continue
            if fate == "never" or (fate == "late" and at <= due_at):
                continue
            leader = self._leader(department_id)
            self._act(at, leader, lambda tx, n=number, who=leader: answer_complaint(
                tx, viewer=who, number=n, answer=ANSWERS[zlib.crc32(n.encode()) % len(ANSWERS)]),
                "complaints_answered")

    def _ratings(self, at: datetime) -> None:
        """Applicants rate some of the cases completed since yesterday; the rest are deemed."""
        def open_requests(tx: Transaction) -> list[tuple[str, str]]:
            return list(tx.session.execute(
                select(Case.number, EvaluationRequest.phone).join(Case, Case.id == EvaluationRequest.case_id)
                .where(EvaluationRequest.status == RequestStatus.PENDING.value,
                       EvaluationRequest.requested_at >= tx.now - timedelta(days=1),
                       EvaluationRequest.requested_at < tx.now, EvaluationRequest.closes_at > tx.now)
                .order_by(Case.number)).all())
        wanted = [(n, p) for n, p in self._read(at, open_requests) if _chance(self.seed, f"rate:{n}", RATED)]
        if not wanted:
            return
        # One transaction for the afternoon's ratings (each as its applicant): a few hundred
        # transactions fewer on a 3,000-case demo.
        with transaction(self.engine, now=at, actor="applicant") as tx:
            for number, phone in wanted:
                score = _fate(self.seed, f"score:{number}", SCORES)
                channel = "sms" if _chance(self.seed, f"sms:{number}", 0.4) else "portal"
                tx.actor = f"applicant:{phone}"
                try:   # refused before anything is written: nothing to undo
                    rate_case(tx, number=number, score=score, phone=phone, comment=RATING_COMMENTS.get(score),
                              channel=channel)
                except DomainError:
                    self.counts["supervision_skipped"] += 1
                    continue
                self.counts["ratings"] += 1

    def _follow_ups(self, at: datetime) -> None:
        """Bad ratings are verified, rectified and revisited a few days apart; a few wait."""
        def open_ones(tx: Transaction) -> list[tuple[str, str, uuid.UUID, datetime]]:
            return list(tx.session.execute(
                select(Case.number, FollowUp.stage, FollowUp.department_id, FollowUp.opened_at)
                .join(Case, Case.id == FollowUp.case_id)
                .where(FollowUp.closed_at.is_(None), FollowUp.opened_at < tx.now)  # type: ignore[union-attr]
                .order_by(Case.number)).all())
        for number, stage, department_id, opened_at in self._read(at, open_ones):
            if _chance(self.seed, f"follow:{number}", 0.25):
                continue    # this one waits (and may run over its limit)
            wait = {"verify": 1, "rectify": 4, "revisit": 8}.get(stage)
            if wait is None or at < opened_at + timedelta(days=wait):
                continue
            step = FollowUpStage(stage)
            leader = self._leader(department_id)
            self._act(at, leader, lambda tx, n=number, who=leader, step=step: record_follow_up(
                tx, viewer=who, number=n, stage=step, note=FOLLOW_UP_NOTES[step],
                satisfied=True if step is FollowUpStage.REVISIT else None), "follow_ups")

    def _publish(self, at: datetime, day: date) -> None:
        """Last month's report of every center (the month before ``now``), on this month's first
        working afternoon, as the monthly job does."""
        period = previous_month(day)
        if period in self.published or period != previous_month(self.now.astimezone(LOCAL_TZ).date()):
            return
        self.published.add(period)
        self.publish_month(at, day)

    def publish_month(self, at: datetime, day: date) -> None:
        period_from, period_to = previous_month(day)
        centers = self._read(at, lambda tx: list(tx.session.scalars(select(Center.id).order_by(Center.code))))
        for center_id in centers:
            self._act(at, "reports:monthly", lambda tx, c=center_id: publish_report(
                tx, center_id=c, period_from=period_from, period_to=period_to), "published_reports")

    # -- at now ----------------------------------------------------------------------------

    def finish(self, featured: tuple[uuid.UUID, uuid.UUID | None] | None) -> None:
        """What is waiting at ``now`` for the featured department's leader and window staff."""
        now = self.now
        today = now.astimezone(LOCAL_TZ).date()
        if previous_month(today) not in self.published:
            self.published.add(previous_month(today))
            self.publish_month(now, today)
        if featured is None:
            return
        department_id, window_id = featured

        def their_cases(tx: Transaction, status: str) -> list[str]:
            query = select(Case.number).where(Case.department_id == department_id, Case.status == status)
            if window_id is not None:
                query = query.where(Case.window_id == window_id)
            return list(tx.session.scalars(query.order_by(Case.number)))
        running = self._read(now, lambda tx: their_cases(tx, CaseStatus.ACCEPTED.value))
        if window_id is not None:
            self._act(now, SUPERVISOR.actor, lambda tx: sup.issue_order(
                tx, target=sup.Target(window_id=window_id), by=SUPERVISOR, reply_days=2,
                message="本窗口本月超期件较多，请逐件说明原因并提出整改措施，2个工作日内反馈。"), "orders")
        if running:
            self._act(now, SUPERVISOR.actor, lambda tx: sup.create_urge(
                tx, target=sup.Target(case_number=running[0]), message=URGE_TEXT, by=SUPERVISOR), "urges")
            self._act(now, "applicant", lambda tx: file_complaint(
                tx, filer=Viewer(role=Role.APPLICANT, applicant_phone=tx.session.scalar(
                    select(Case.applicant_phone).where(Case.number == running[-1]))),
                kind=ComplaintKind.COMPLAINT, content=COMPLAINTS[1], case_number=running[-1]), "complaints")

        def rate_badly(tx: Transaction) -> Any:
            row = tx.session.execute(
                select(Case.number, EvaluationRequest.phone).join(Case, Case.id == EvaluationRequest.case_id)
                .where(Case.department_id == department_id, EvaluationRequest.status == RequestStatus.PENDING.value,
                       EvaluationRequest.closes_at > tx.now).order_by(EvaluationRequest.requested_at.desc())).first()
            if row is None:
                return None
            return rate_case(tx, number=row[0], score=1, phone=row[1], comment="超期未办结，多次电话无人答复。")
        self._act(now, "applicant", rate_badly, "ratings")

        leader = self._leader(department_id)
        fault_id = self._read(now, lambda tx: tx.session.scalar(select(acc.Fault.id).where(
            acc.Fault.department_id == department_id, acc.Fault.status == acc.FaultStatus.ACTIVE.value,
            acc.Fault.kind == "case_overdue").order_by(acc.Fault.occurred_at.desc()).limit(1)))
        if fault_id is not None:
            self._act(now, leader, lambda tx: acc.file_appeal(
                tx, viewer=leader, subject_type="fault", subject_id=fault_id,
                reason="该件超期系申请人补正材料延误，补正期间应暂停计时。", evidence=["补正通知书及签收记录"]), "appeals")


def story_counts(counts: dict[str, int]) -> dict[str, int]:
    """The supervision part of the demo's counts, for the CLI's summary."""
    return {k: v for k, v in counts.items() if k.startswith(("supervision", "urge", "order", "accountability",
                                                             "suggestions", "appeals", "complaint", "consultation",
                                                             "rating", "follow", "published", "recorded"))}

