"""The outbox: a notice (SMS or voice call) is a row written in the same transaction as the event
that causes it; workers deliver it (``notify/gateway.py``).

Rules here: which ledger events notify whom with which template, and the idempotency key that
makes a duplicate of the same event to the same person with the same template merge into one row.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, Index, select
from sqlmodel import Field, SQLModel

from esupervision.db import among, insert_new_rows
from esupervision.models.base import UTCDateTime, local_time, new_id  # noqa: F401  (local_time: used by the rules' modules)
from esupervision.models.notices import templates
from esupervision.models.notices.phones import PhoneError, to_e164

if TYPE_CHECKING:
    from esupervision.models.ledger.transaction import Transaction


class NoticeStatus(StrEnum):
    QUEUED = "queued"            # written, waiting for a worker (or held until ``not_before``)
    SENDING = "sending"          # claimed by a worker, at the provider now
    RETRYING = "retrying"        # a transient error; tried again after a backoff
    SENT = "sent"                # the provider accepted it (provider message id known)
    DELIVERED = "delivered"      # the handset got it / the call was answered
    UNDELIVERED = "undelivered"  # the provider could not deliver it
    FAILED = "failed"            # a permanent error: bad number, template refused, limit


# Statuses no worker will touch again; sent ones still change with delivery receipts.
FINISHED = frozenset({NoticeStatus.SENT, NoticeStatus.DELIVERED, NoticeStatus.UNDELIVERED,
                      NoticeStatus.FAILED})
PENDING = frozenset({NoticeStatus.QUEUED, NoticeStatus.RETRYING})
# Receipts only move a notice forward: sent -> delivered | undelivered | failed.
RECEIPT_RANK = {NoticeStatus.SENDING: 0, NoticeStatus.SENT: 1, NoticeStatus.DELIVERED: 2,
                NoticeStatus.UNDELIVERED: 2, NoticeStatus.FAILED: 2}


class Channel(StrEnum):
    SMS = "sms"
    VOICE = "voice"


class Notice(SQLModel, table=True):
    """One message to one phone on one channel, from the outbox to the provider's receipt."""

    __tablename__ = "notice"
    __table_args__ = (
        Index("ix_notice_due", "status", "not_before"),
        Index("ix_notice_case", "case_id", "created_at"),
        Index("ix_notice_recipient", "recipient", "template", "sent_at"),
        Index("ix_notice_provider_message", "provider", "provider_message_id"),
        Index("ix_notice_staff", "staff_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    idempotency_key: str = Field(unique=True)
    center_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    subject_type: str
    subject_id: uuid.UUID
    ledger_event_id: int | None = None
    recipient_kind: str                    # applicant / staff
    staff_id: uuid.UUID | None = None
    recipient: str                         # E.164, or the raw text when it is not a number
    channel: str
    template: str
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    urgent: bool = False
    status: str = NoticeStatus.QUEUED.value
    attempts: int = 0
    provider: str | None = None
    provider_message_id: str | None = None
    provider_status: str | None = None     # the provider's own word (e.g. Twilio's "delivered")
    error_code: str | None = None
    error_message: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    not_before: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enqueued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: str | None = None
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


NOTICE = Notice.__table__  # type: ignore[attr-defined]
# Channel topic of "these staff members' notices changed" (written, sent, delivered ...).
NOTICE_TOPIC = "notice.status"


@dataclass
class NoticeDraft:
    """What a rule wants sent, before it is checked and written."""

    key: str
    subject_type: str
    subject_id: uuid.UUID
    template: str
    params: dict[str, Any]
    phone: str
    recipient_kind: str
    center_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    ledger_event_id: int | None = None
    staff_id: uuid.UUID | None = None
    channels: Sequence[str] = field(default_factory=lambda: ["sms"])


def add_notices(tx: "Transaction", drafts: Iterable[NoticeDraft]) -> int:
    """Write the outbox rows of ``drafts`` in ``tx`` (one per channel); a row whose idempotency key
    exists already merges into it. A bad number or a template that does not fit its parameters is
    written as a FAILED notice with its error, so nothing fails silently. Returns rows offered."""
    region = tx.settings.default_region
    rows: list[dict[str, Any]] = []
    for draft in drafts:
        status, error_code, error_message = NoticeStatus.QUEUED, None, None
        try:
            recipient = to_e164(draft.phone, region=region)
        except PhoneError as exc:
            recipient, status, error_code, error_message = draft.phone, NoticeStatus.FAILED, exc.code, str(exc)
        try:
            template = templates.check(draft.template, draft.params)
            urgent, params = template.urgent, templates.fit(draft.template, draft.params)
        except templates.TemplateError as exc:
            urgent, params = False, draft.params
            status, error_code, error_message = NoticeStatus.FAILED, exc.code, exc.message
        for channel in draft.channels:
            rows.append({
                "id": new_id(), "idempotency_key": f"{draft.key}:{draft.template}:{channel}:{recipient}",
                "center_id": draft.center_id, "case_id": draft.case_id,
                "subject_type": draft.subject_type, "subject_id": draft.subject_id,
                "ledger_event_id": draft.ledger_event_id, "recipient_kind": draft.recipient_kind,
                "staff_id": draft.staff_id, "recipient": recipient, "channel": channel,
                "template": draft.template, "params": params, "urgent": urgent,
                "status": status.value, "attempts": 0, "error_code": error_code,
                "error_message": error_message, "created_at": tx.now,
                "finished_at": tx.now if status is NoticeStatus.FAILED else None,
            })
    if not rows:
        return 0
    defaults = {c.key: None for c in NOTICE.columns}
    # A batch of reports queues thousands: one statement for them all (``.values(rows)`` compiled a
    # new statement for every batch, about 30 ms per 500 rows, before a row was sent).
    insert_new_rows(tx.session, NOTICE, [{**defaults, **row} for row in rows], "idempotency_key")
    tx.announce("notice.queued", {"count": len(rows)})
    staff = sorted({str(row["staff_id"]) for row in rows if row["staff_id"]})
    if staff:
        tx.announce(NOTICE_TOPIC, {"staff_ids": staff})
    return len(rows)


# ----------------------------------------------------------------------------- rules

# case.<action> ledger event -> the template sent to the applicant.
CASE_TEMPLATES = {
    "case.submit": "case_received",
    "case.accept": "case_accepted",
    "case.deemed_accepted": "case_accepted",
    "case.request_supplement": "case_supplement",
    "case.supplement_received": "case_resumed",
    "case.suspend": "case_suspended",
    "case.resume": "case_resumed",
    "case.extend": "case_extended",
    "case.complete": "case_completed",
    "case.reject": "case_rejected",
}
LIGHT_TEMPLATES = {"light.yellow": "approaching_deadline", "light.red": "overdue"}
# Lights whose subject these templates do not speak of, whatever ``light_notice_subjects`` says: a
# case's legal-limit clock (法定时限) is supervision's (a fault), not a reminder of the committed one.
NO_LIGHT_NOTICES = frozenset({"legal_limit"})
RESULT_LABELS = {"approved": "准予许可", "denied": "不予许可"}


def _case_drafts(tx: "Transaction", events: list[Any]) -> list[NoticeDraft]:
    from esupervision.models.cases.case import SUSPEND_LABELS, Case, SuspendKind
    from esupervision.models.catalogue.catalogue import Center, Item

    wanted = [e for e in events if e.kind in CASE_TEMPLATES]
    if not wanted:
        return []
    ids = list({e.subject_id for e in wanted})
    facts: dict[uuid.UUID, Any] = {}
    for start in range(0, len(ids), 1000):
        query = (select(Case.id, Case.applicant_phone, Case.extension_days, Case.result, Case.reason,
                        Center.name.label("center"), Item.name.label("item"), Item.committed_days, Item.basis)
                 .join(Center, Center.id == Case.center_id).join(Item, Item.id == Case.item_id)
                 .where(among(tx.session, Case.id, ids[start:start + 1000]), Case.applicant_phone.is_not(None)))
        facts.update((row.id, row) for row in tx.session.execute(query))
    drafts = []
    for event in wanted:
        case = facts.get(event.subject_id)
        if case is None or not case.applicant_phone:
            continue
        template = CASE_TEMPLATES[event.kind]
        number = event.data.get("number")
        params: dict[str, Any] = {"center": case.center, "number": number}
        if template == "case_accepted" and not case.committed_days:
            template = "case_accepted_at_once"     # 即办件: not "承诺0个工作日"
        elif template in ("case_accepted", "case_extended") and case.basis == "natural":
            template += "_natural"                 # 自然日, as the item's clock counts
        elif template == "case_completed" and (event.data.get("result") or case.result) == "denied":
            template = "case_denied"               # 行政许可法 第三十八条 第二款: reason and remedies
        if template in ("case_received", "case_accepted", "case_accepted_natural", "case_accepted_at_once",
                        "case_completed", "case_denied", "case_rejected"):
            params["item"] = case.item
        if template in ("case_accepted", "case_accepted_natural"):
            params["days"] = case.committed_days
        elif template in ("case_extended", "case_extended_natural"):
            params["days"] = event.data.get("days") or case.extension_days
        elif template == "case_suspended":
            kind = event.data.get("kind")
            params["procedure"] = SUSPEND_LABELS.get(SuspendKind(kind), kind) if kind in set(SuspendKind) else kind
        elif template == "case_supplement":
            # 一次性告知 (art. 32): every material the event names; only an imported history lacks them
            params["materials"] = "、".join(event.data.get("missing_materials") or []) or "详见补正告知书"
            params["reason"] = event.data.get("reason") or "详见补正告知书"
        elif template == "case_completed":
            result = event.data.get("result") or case.result
            params["result"] = RESULT_LABELS.get(result, result or "已办结")
        elif template == "case_denied":
            # A refusal without a stated reason is recorded (a fault for supervision), and told so.
            params["reason"] = event.data.get("reason") or case.reason or "详见不予许可决定书"
        elif template == "case_rejected":
            params["reason"] = event.data.get("reason") or case.reason or "详见不予受理决定书"
        drafts.append(NoticeDraft(
            key=f"{event.kind}:{event.subject_id}:{event.source_event_id or event.seq}",
            subject_type="case", subject_id=event.subject_id, case_id=event.subject_id,
            center_id=event.center_id, ledger_event_id=event.id, template=template, params=params,
            phone=case.applicant_phone, recipient_kind="applicant",
            channels=tx.settings.notice_channels.get(template, ["sms"])))
    return drafts


def _light_drafts(tx: "Transaction", events: list[Any]) -> list[NoticeDraft]:
    from esupervision.models.cases.case import Case, Step
    from esupervision.models.catalogue.catalogue import Staff
    from esupervision.models.clocks.clock import Clock

    subjects = set(tx.settings.light_notice_subjects) - NO_LIGHT_NOTICES
    wanted = [e for e in events if e.kind in LIGHT_TEMPLATES and e.subject_type in subjects
              and e.data.get("number")]
    if not wanted:
        return []
    clock_ids = [uuid.UUID(e.data["clock_id"]) for e in wanted]
    deadlines = dict(tx.session.execute(select(Clock.id, Clock.due_at).where(Clock.id.in_(clock_ids))).all())
    windows = {e.data.get("window_id") for e in wanted} - {None}
    departments = {e.data.get("department_id") for e in wanted if e.kind == "light.red"} - {None}
    staff = tx.session.execute(select(Staff.id, Staff.phone, Staff.window_id, Staff.department_id, Staff.is_leader)
                               .where(Staff.phone.is_not(None))
                               .where((Staff.window_id.in_([uuid.UUID(w) for w in windows]))
                                      | (Staff.is_leader & Staff.department_id.in_(
                                          [uuid.UUID(d) for d in departments])))).all()
    case_ids = {e.subject_id for e in wanted if e.subject_type != "step"}
    step_ids = [e.subject_id for e in wanted if e.subject_type == "step"]
    step_cases = dict(tx.session.execute(select(Step.id, Step.case_id).where(Step.id.in_(step_ids))).all()) \
        if step_ids else {}
    known_cases = set(tx.session.scalars(select(Case.id).where(Case.id.in_(list(case_ids))))) if case_ids else set()
    drafts = []
    for event in wanted:
        window_id, department_id = event.data.get("window_id"), event.data.get("department_id")
        recipients = [s for s in staff if window_id and str(s.window_id) == window_id]
        if event.kind == "light.red":
            recipients += [s for s in staff if s.is_leader and department_id and str(s.department_id) == department_id]
        template = LIGHT_TEMPLATES[event.kind]
        clock_id = uuid.UUID(event.data["clock_id"])
        case_id = step_cases.get(event.subject_id) if event.subject_type == "step" else (
            event.subject_id if event.subject_id in known_cases else None)
        params = {"number": event.data["number"], "deadline": local_time(deadlines.get(clock_id), tx.settings.timezone)}
        for person in {s.id: s for s in recipients}.values():
            drafts.append(NoticeDraft(
                key=f"{event.kind}:{clock_id}:{event.data.get('due_instant')}",
                subject_type=event.subject_type, subject_id=event.subject_id, case_id=case_id,
                center_id=event.center_id, ledger_event_id=event.id, template=template, params=params,
                phone=person.phone, recipient_kind="staff", staff_id=person.id,
                channels=tx.settings.notice_channels.get(template, ["sms"])))
    return drafts


def _chinese(title: str) -> str:
    """The Chinese part of a bilingual title (``投标报价相同 Identical bid prices`` → ``投标报价相同``)."""
    return re.match(r"[^A-Za-z]*", title).group(0).strip()  # type: ignore[union-attr]


def _red_flag_drafts(tx: "Transaction", events: list[Any]) -> list[NoticeDraft]:
    """New red flags, by SMS to the supervisors: one notice per tender and person for the flags
    a pass raised on it, or one summary per person when the pass touched many tenders."""
    from esupervision.models.access.scope import Role
    from esupervision.models.access.account import Account
    from esupervision.models.catalogue.catalogue import Staff

    raised = [e for e in events if e.kind == "tender.red_flag"]
    roles = [r for r in tx.settings.redflag_notice_roles if r in (Role.SUPERVISOR.value, Role.CENTER_ADMIN.value)]
    if not raised or not roles:
        return []
    people = tx.session.execute(select(Staff.id, Staff.phone, Account.role, Account.center_id)
                                .join(Account, Account.staff_id == Staff.id)
                                .where(Account.role.in_(roles), Account.active.is_(True),
                                       Staff.phone.is_not(None))).all()
    if not people:
        return []
    by_tender: dict[uuid.UUID, list[Any]] = {}
    for event in raised:
        by_tender.setdefault(event.subject_id, []).append(event)

    def readers(center_id: uuid.UUID | None) -> dict[uuid.UUID, Any]:
        return {p.id: p for p in people if p.role == Role.SUPERVISOR.value or p.center_id == center_id}

    drafts = []
    pass_key = min(e.id for e in raised)   # one pass: one set of keys, so a repeat merges
    if len(by_tender) > tx.settings.redflag_notice_max_tenders:
        for person in readers(None).values():
            drafts.append(NoticeDraft(
                key=f"tender.red_flags:{pass_key}", subject_type="tender", subject_id=raised[0].subject_id,
                center_id=raised[0].center_id, ledger_event_id=pass_key, template="tender_red_flags_summary",
                params={"count": len(raised), "tenders": len(by_tender)}, phone=person.phone,
                recipient_kind="staff", staff_id=person.id))
        return drafts
    for tender_id, flags in by_tender.items():
        first = min(flags, key=lambda e: e.id)
        codes = sorted({f"{e.data.get('flag')} {_chinese(e.data.get('title') or '')}".strip() for e in flags})
        params = {"tender": first.data.get("code"), "count": len(flags), "flags": "；".join(codes)}
        for person in readers(first.center_id).values():
            drafts.append(NoticeDraft(
                key=f"tender.red_flags:{tender_id}:{first.id}", subject_type="tender", subject_id=tender_id,
                center_id=first.center_id, ledger_event_id=first.id, template="tender_red_flags", params=params,
                phone=person.phone, recipient_kind="staff", staff_id=person.id))
    return drafts


def fresh_events(tx: "Transaction", events: list[Any]) -> list[Any]:
    """The events recent enough to tell people of: an imported history, a back-dated report or a
    catch-up older than ``notify_max_event_age_hours`` is news to nobody."""
    horizon = tx.now - timedelta(hours=tx.settings.notify_max_event_age_hours)
    return [e for e in events if e.occurred_at >= horizon]


def write_outbox(tx: "Transaction", events: list[Any]) -> None:
    """The transaction listener: notices for the ledger events this flush wrote, in its transaction."""
    events = fresh_events(tx, events)
    if not events:
        return
    add_notices(tx, [*_case_drafts(tx, events), *_light_drafts(tx, events), *_red_flag_drafts(tx, events)])


def install() -> None:
    """Derive outbox notices from every transaction's ledger events (idempotent)."""
    from esupervision.models.ledger.transaction import add_event_listener
    add_event_listener(write_outbox)


install()
