"""Automatic supervision rules as data a supervisor edits: "when <trigger>, <action>".

A rule names a trigger (a light change of a case or step clock, or a case red for N working
days) and an action (an urge to whoever handles the case, or a supervision order with a reply
deadline). The vocabulary is closed: a rule naming a trigger or an action not listed here is
refused (``RULE_UNKNOWN_TRIGGER`` / ``RULE_UNKNOWN_ACTION``), so no rule is stored that could
never fire. ``models/supervision/orders.py`` applies them; ``workers/escalation.py`` calls it when the
scheduler announces a transition.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.clocks.clock import SubjectType
from esupervision.models.errors import DomainError, ErrorCode

MAX_REPLY_DAYS = 30
MAX_RED_DAYS = 60


class Trigger(StrEnum):
    LIGHT_YELLOW = "light_yellow"   # the clock turns yellow (即将到期)
    LIGHT_RED = "light_red"         # the clock turns red (超期)
    RED_FOR_DAYS = "red_for_days"   # the case has been red for ``days`` working days


class RuleSubject(StrEnum):
    CASE = "case"   # the case's own clock
    STEP = "step"   # any of its steps' clocks


class Action(StrEnum):
    URGE = "urge"     # 催办 whoever handles the case
    ORDER = "order"   # 督办 with a reply deadline


TRIGGER_LABELS = {Trigger.LIGHT_YELLOW: "亮黄灯时", Trigger.LIGHT_RED: "亮红灯时",
                  Trigger.RED_FOR_DAYS: "红灯持续"}
ACTION_LABELS = {Action.URGE: "自动催办", Action.ORDER: "自动督办"}

# The clock subject of a rule's own timer ("red for N working days"): a clock of the core that
# starts on the day the case's deadline falls and turns red N working days later.
WATCH_SUBJECT = SubjectType.RULE_WATCH


class SupervisionRule(SQLModel, table=True):
    """One automatic rule; ``center_id`` None applies it to every center."""

    __tablename__ = "supervision_rule"
    __table_args__ = (Index("ix_supervision_rule_trigger", "trigger", "enabled"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str
    center_id: uuid.UUID | None = None
    trigger: str
    subject: str = RuleSubject.CASE.value
    days: int | None = None             # red_for_days only
    action: str
    reply_days: int = 1                 # the urge's or order's reply deadline, working days
    message: str
    enabled: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)


@dataclass(frozen=True)
class RuleSpec:
    """What a supervisor writes; ``validate`` turns the words into the closed vocabulary."""

    name: str
    trigger: str
    action: str
    message: str
    subject: str = RuleSubject.CASE.value
    days: int | None = None
    reply_days: int = 1
    center_id: uuid.UUID | None = None

    def validate(self) -> "RuleSpec":
        """The spec if it can fire; else a DomainError naming what is wrong."""
        if self.trigger not in set(Trigger):
            raise DomainError(ErrorCode.RULE_UNKNOWN_TRIGGER,
                              f"未知的触发条件 {self.trigger!r}（可选：{'、'.join(t.value for t in Trigger)}）",
                              trigger=self.trigger)
        if self.action not in set(Action):
            raise DomainError(ErrorCode.RULE_UNKNOWN_ACTION,
                              f"未知的处置动作 {self.action!r}（可选：{'、'.join(a.value for a in Action)}）",
                              action=self.action)
        if self.subject not in set(RuleSubject):
            raise DomainError(ErrorCode.RULE_UNKNOWN_TRIGGER, f"未知的计时对象 {self.subject!r}（case 或 step）",
                              subject=self.subject)
        if not self.name.strip() or not self.message.strip():
            raise DomainError(ErrorCode.BAD_INPUT, "规则须有名称和催办/督办内容")
        if self.trigger == Trigger.RED_FOR_DAYS:
            if self.subject != RuleSubject.CASE:
                raise DomainError(ErrorCode.BAD_INPUT, "红灯持续天数只适用于办件计时 (subject must be case)")
            if self.days is None or not 1 <= self.days <= MAX_RED_DAYS:
                raise DomainError(ErrorCode.BAD_INPUT, f"红灯持续天数应为 1–{MAX_RED_DAYS} 个工作日", days=self.days)
        elif self.days is not None:
            raise DomainError(ErrorCode.BAD_INPUT, "只有红灯持续规则需要天数 (days only for red_for_days)")
        if not 1 <= self.reply_days <= MAX_REPLY_DAYS:
            raise DomainError(ErrorCode.BAD_INPUT, f"反馈期限应为 1–{MAX_REPLY_DAYS} 个工作日",
                              reply_days=self.reply_days)
        return self


def rule_applies(rule: Any, *, trigger: Trigger, subject: str, center_id: uuid.UUID) -> bool:
    """Whether an enabled ``rule`` fires on ``trigger`` of a ``subject`` clock of ``center_id``."""
    return (rule.enabled and rule.trigger == trigger.value and rule.subject == subject
            and (rule.center_id is None or rule.center_id == center_id))


def describe(rule: Any) -> str:
    """The rule in one Chinese sentence, as the timeline and notices cite it."""
    subject = "办件" if rule.subject == RuleSubject.CASE else "环节"
    when = (f"{subject}红灯持续 {rule.days} 个工作日" if rule.trigger == Trigger.RED_FOR_DAYS
            else f"{subject}{TRIGGER_LABELS[Trigger(rule.trigger)]}")
    return f"{when}{ACTION_LABELS[Action(rule.action)]}（{rule.reply_days} 个工作日内反馈）"
