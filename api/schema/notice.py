"""Notices in GraphQL: what was sent about a case, on which channel, to whom (masked), and how
far it got (queued, sent, delivered …) with the provider's message id and error code."""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from esupervision.models.notice import Notice as NoticeRow
from esupervision.notify.phones import mask


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
                   recipient_kind=row.recipient_kind, template=row.template, status=NoticeStatus(row.status),
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
