"""Notices in GraphQL: what was sent about a case or to a staff member, on which channel, to whom
(masked), and how far it got (queued, sent, delivered …) with the provider's message id and error
code; and a live feed of a staff member's own notices as their status changes.

Who sees a person's notices: the staff member their own (``me { notices }``); a supervisor
anyone's, a center admin their center's staff, a department leader their department's
(``staffNotices``); anyone else is answered as if the staff member did not exist."""
from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import select
from sqlmodel import Session
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from esupervision.api.schema.common import page_size, require, viewer
from esupervision.models.access.scope import STAFF_ROLES, Role, Viewer
from esupervision.models.catalogue.catalogue import Staff
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.notices.notice import NOTICE_TOPIC
from esupervision.models.notices.notice import Notice as NoticeRow
from esupervision.notify import templates
from esupervision.models.notices.phones import mask

# A subscriber looks again this often even if no message came (a receipt recorded by a process
# that does not publish, a message lost): it never misses a change for longer.
RESYNC_S = 15.0
# The notices a subscriber follows: those written this recently.
FOLLOW_DAYS = 2
NOTICE_READERS = (Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER)


@strawberry.enum(description="通知状态")
class NoticeStatus(Enum):
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


@strawberry.type(description="一条短信或语音通知")
class Notice:
    id: strawberry.ID
    channel: str = strawberry.field(description="sms / voice")
    recipient: str = strawberry.field(description="接收号码（脱敏）")
    recipient_kind: str = strawberry.field(description="applicant / staff")
    template: str
    template_label: str = strawberry.field(description="通知名称（中文），如 受理通知、催办通知")
    status: NoticeStatus
    provider: str | None
    provider_message_id: str | None
    provider_status: str | None
    error_code: str | None
    error_message: str | None
    attempts: int
    created_at: datetime
    not_before: datetime | None = strawberry.field(description="暂缓至（夜间免打扰、频率限制）")
    sent_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: NoticeRow) -> "Notice":
        return cls(id=strawberry.ID(str(row.id)), channel=row.channel, recipient=mask(row.recipient) or "",
                   recipient_kind=row.recipient_kind, template=row.template,
                   template_label=templates.label(row.template), status=NoticeStatus(row.status),
                   provider=row.provider, provider_message_id=row.provider_message_id,
                   provider_status=row.provider_status, error_code=row.error_code,
                   error_message=row.error_message, attempts=row.attempts, created_at=row.created_at,
                   not_before=row.not_before, sent_at=row.sent_at, finished_at=row.finished_at)


def _loader(context: Any) -> DataLoader[uuid.UUID, list[NoticeRow]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[NoticeRow]]:
        def fetch(session) -> dict[uuid.UUID, list[NoticeRow]]:  # noqa: ANN001
            groups: dict[uuid.UUID, list[NoticeRow]] = defaultdict(list)
            for row in session.scalars(select(NoticeRow).where(NoticeRow.case_id.in_(list(ids)))
                                       .order_by(NoticeRow.created_at, NoticeRow.id)):
                groups[row.case_id].append(row)
            return groups
        found = await context.run(fetch)
        return [found.get(i, []) for i in ids]
    return DataLoader(load_fn=load)


async def case_notices(info: Info, case_id: uuid.UUID) -> list[Notice]:
    """The notices of a case, oldest first; one query for every case of the page."""
    context = info.context
    loader = getattr(context, "notice_loader", None)
    if loader is None:
        loader = context.notice_loader = _loader(context)
    return [Notice.from_row(row) for row in await loader.load(case_id)]


# ----------------------------------------------------------------------------- on the person

def staff_notices(session: Session, staff_id: uuid.UUID, limit: int, since: datetime | None = None) -> list[NoticeRow]:
    """A staff member's notices, newest first (``since``: written after it)."""
    query = select(NoticeRow).where(NoticeRow.staff_id == staff_id)
    if since is not None:
        query = query.where(NoticeRow.created_at > since)
    return list(session.scalars(query.order_by(NoticeRow.created_at.desc(), NoticeRow.id.desc()).limit(limit)))


def may_see_staff(who: Viewer, staff: Staff) -> bool:
    """Whether ``who`` may read this staff member's notices (their own, or within their scope)."""
    if who.staff_id is not None and who.staff_id == staff.id:
        return True
    if who.role is Role.SUPERVISOR:
        return True
    if who.role is Role.CENTER_ADMIN:
        return who.center_id is not None and staff.center_id == who.center_id
    if who.role is Role.DEPARTMENT_LEADER:
        return who.department_id is not None and staff.department_id == who.department_id
    return False


async def my_notices(info: Info, first: int | None) -> list[Notice]:
    """The viewer's own notices as a staff member (none for an account not linked to one)."""
    who = viewer(info)
    size = page_size(first)
    if who.role not in STAFF_ROLES or who.staff_id is None:
        return []
    rows = await info.context.run(lambda s: staff_notices(s, who.staff_id, size))
    return [Notice.from_row(row) for row in rows]


def _staff_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise DomainError(ErrorCode.STAFF_NOT_FOUND, "工作人员不存在 staff not found", staff=str(value)) from None


async def _notice_changes(info: Info, staff_id: uuid.UUID) -> AsyncGenerator[Notice, None]:
    from esupervision.workers import runtime

    context = info.context
    with runtime.fanout().listen({NOTICE_TOPIC}) as feed:
        since = context.now - timedelta(days=FOLLOW_DAYS)
        known = {row.id: row.status for row in await context.run(lambda s: staff_notices(s, staff_id, 1000, since))}
        wanted = str(staff_id)
        while True:
            try:
                batch, lost = await asyncio.wait_for(feed.next_batch(), timeout=RESYNC_S)
                if not lost and not any(wanted in message.get("staff_ids", ()) for _, message in batch):
                    continue
            except TimeoutError:
                pass
            rows = await context.run(lambda s: staff_notices(s, staff_id, 1000, since))
            for row in reversed(rows):   # oldest first
                if known.get(row.id) != row.status:
                    known[row.id] = row.status
                    yield Notice.from_row(row)


@strawberry.type
class NoticeQuery:
    @strawberry.field(description="某工作人员收到的通知（最新在前）：监察看全部，中心管理员看本中心，部门领导看本部门")
    async def staff_notices(self, info: Info, staff_id: strawberry.ID, first: int | None = 50) -> list[Notice]:
        who = require(info, *NOTICE_READERS)
        size = page_size(first)
        wanted = _staff_uuid(staff_id)

        def fetch(session: Session) -> list[NoticeRow] | None:
            staff = session.get(Staff, wanted)
            if staff is None or not may_see_staff(who, staff):
                return None
            return staff_notices(session, staff.id, size)
        rows = await info.context.run(fetch)
        if rows is None:
            raise DomainError(ErrorCode.STAFF_NOT_FOUND, "工作人员不存在 staff not found", staff=str(staff_id))
        return [Notice.from_row(row) for row in rows]


@strawberry.type
class NoticeSubscription:
    @strawberry.subscription(description="本人（工作人员）通知的状态变化：写入、发送、送达或失败时实时推送")
    async def my_notice_changed(self, info: Info) -> AsyncGenerator[Notice, None]:
        who = require(info, *STAFF_ROLES)
        if who.staff_id is None:
            raise DomainError(ErrorCode.STAFF_NOT_FOUND, "此账号未关联工作人员 this account is not a staff member")
        async for notice in _notice_changes(info, who.staff_id):
            yield notice
