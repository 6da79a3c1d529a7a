"""The supervisors are told when the ledger check finds a breach: an SMS to every active
supervisor account with a phone, through the outbox, and a message on the live channel
(``ledgerBreaches``). The same findings the next night merge into the same notices (nobody is told
twice), unless the notices were deleted: then they are written, and sent, again.
"""
from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import select

from esupervision.models.access.account import Account
from esupervision.models.access.scope import Role
from esupervision.models.catalogue.catalogue import Center, Staff
from esupervision.models.ledger.audit import AuditReport
from esupervision.models.ledger.transaction import Transaction
from esupervision.models.notices.notice import NoticeDraft, add_notices

TOPIC = "ledger.breach"
TEMPLATE = "ledger_breach"
# A breach of no particular center (a difference in a row no event wrote) is filed under this id.
NO_CENTER = uuid.UUID(int=0)


# A live message names at most this many breaches and differences (the witness's record has all).
LIVE_LIMIT = 100


def breach_message(tx: Transaction, report: AuditReport, witness_record: str | None) -> dict[str, Any]:
    """What the live channel carries: the breaches and differences (the first ``LIVE_LIMIT`` of
    each), with the center's name."""
    names = dict(tx.session.execute(select(Center.id, Center.name)).all())
    return {
        "detected_at": tx.now.isoformat(), "witness_record": witness_record,
        "breaches": [{"center_id": str(b.center_id), "center": names.get(b.center_id), "seq": b.seq,
                      "event_id": b.event_id, "kind": b.kind.value, "detail": b.detail}
                     for b in report.breaches[:LIVE_LIMIT]],
        "differences": [{"table": d.table, "row_id": d.row_id, "column": d.column,
                         "center_id": str(d.written_by[0]) if d.written_by else None,
                         "seq": d.written_by[1] if d.written_by else None, "detail": d.describe()}
                        for d in report.differences[:LIVE_LIMIT]],
    }


def _first(message: dict[str, Any]) -> tuple[uuid.UUID, str]:
    if message["breaches"]:
        first = message["breaches"][0]
        return uuid.UUID(first["center_id"]), f"{first['center'] or first['center_id']}第{first['seq']}条（{first['kind']}）"
    first = message["differences"][0]
    center = uuid.UUID(first["center_id"]) if first["center_id"] else NO_CENTER
    column = f"的{first['column']}" if first["column"] else ""
    return center, f"{first['table']}表{first['row_id'][:8]}{column}与账本不符"


def tell_supervisors(tx: Transaction, report: AuditReport, witness_record: str | None = None) -> int:
    """Queue the SMS of a breach to every supervisor and announce it after commit; returns the
    notices offered (0 when the report is intact)."""
    if report.intact:
        return 0
    message = breach_message(tx, report, witness_record)
    center_id, first = _first(message)
    tx.announce(TOPIC, message)
    findings = "\n".join(report.lines())
    key = "ledger.breach:" + hashlib.sha256(findings.encode()).hexdigest()[:32]
    people = tx.session.execute(select(Staff.id, Staff.phone).join(Account, Account.staff_id == Staff.id).where(
        Account.role == Role.SUPERVISOR.value, Account.active.is_(True), Staff.phone.is_not(None))).all()
    count = len(report.breaches) + len(report.differences)
    return add_notices(tx, [NoticeDraft(
        key=key, subject_type="ledger", subject_id=center_id, center_id=center_id if center_id != NO_CENTER else None,
        template=TEMPLATE, params={"count": count, "first": first}, phone=person.phone, recipient_kind="staff",
        staff_id=person.id) for person in {p.id: p for p in people}.values()])
