"""Supervision's handlers of the light scheduler's transitions (``workers.lights.on_transition``):

- an order's clock turning red unanswered escalates it (department leader, then the center's
  leadership), each level with a new reply clock;
- case and step clocks turning yellow or red fire the automatic rules (urge, order) and start
  the timers of "red for N working days" rules;
- those timers running out fire their rules.

All of it runs in the scheduler's transaction, so a pass and what it caused commit together.
Imported by ``esupervision.workers`` itself, so every process that runs the scheduler has them.
"""
from __future__ import annotations

from esupervision.models.clocks.clock import SubjectType
from esupervision.models.supervision.orders import apply_light_rules, escalate_order, fire_watches
from esupervision.models.supervision.rules import WATCH_SUBJECT
from esupervision.models.ledger.transaction import Transaction
from esupervision.workers.lights import Transition, on_transition


def escalate_unanswered(tx: Transaction, transitions: list[Transition]) -> None:
    """Each order clock that turned red moves its order one level up (if still unanswered)."""
    for change in transitions:
        if change.light == "red":
            escalate_order(tx, order_id=change.clock.subject_id, clock_id=change.clock.id)


def rules_on_lights(tx: Transaction, transitions: list[Transition]) -> None:
    """Automatic urges and orders on case and step lights."""
    apply_light_rules(tx, transitions)


def rule_timers(tx: Transaction, transitions: list[Transition]) -> None:
    """The "red for N working days" timers that ran out."""
    fire_watches(tx, transitions)


def install() -> None:
    """Register the handlers (idempotent)."""
    on_transition(SubjectType.ORDER, escalate_unanswered)
    on_transition(SubjectType.CASE, rules_on_lights)
    on_transition(SubjectType.STEP, rules_on_lights)
    on_transition(WATCH_SUBJECT, rule_timers)


install()
