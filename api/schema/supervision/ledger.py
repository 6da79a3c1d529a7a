"""The ledger's breach alerts, live to the supervisors (``ledgerBreaches``): what the nightly check
(or ``esv worker``'s) found, as it records it at the witness and sends the SMS. Heads and proofs
themselves are plain HTTP (``api/ledger.py``)."""
from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from esupervision.api.schema.common import require
from esupervision.models.access.scope import Role
from esupervision.models.supervision.ledger_breach import TOPIC


@strawberry.type(description="账本中的一处篡改，以受影响的第一条序号指明")
class LedgerBreachItem:
    center_id: strawberry.ID
    center: str | None
    seq: int = strawberry.field(description="受影响的第一条序号 the first seq affected")
    event_id: int | None
    kind: str = strawberry.field(description="altered / deleted / reordered / inserted / rewritten / checkpoint / tree")
    detail: str


@strawberry.type(description="与账本不符的投影行（表、行、列）")
class ProjectionDifferenceItem:
    table: str
    row_id: str
    column: str | None = strawberry.field(description="不符的列；为空时整行缺失或账本中没有")
    center_id: strawberry.ID | None = strawberry.field(description="最后写入该行的账本事件所在中心")
    seq: int | None = strawberry.field(description="最后写入该行的账本事件序号")
    detail: str


@strawberry.type(description="账本校验告警")
class LedgerBreachAlert:
    detected_at: datetime
    witness_record: str | None = strawberry.field(description="见证方保存的告警记录名")
    breaches: list[LedgerBreachItem]
    differences: list[ProjectionDifferenceItem]


def _alert(message: dict[str, Any]) -> LedgerBreachAlert:
    return LedgerBreachAlert(
        detected_at=datetime.fromisoformat(message["detected_at"]), witness_record=message.get("witness_record"),
        breaches=[LedgerBreachItem(center_id=strawberry.ID(b["center_id"]), center=b.get("center"), seq=b["seq"],
                                   event_id=b.get("event_id"), kind=b["kind"], detail=b["detail"])
                  for b in message.get("breaches", [])],
        differences=[ProjectionDifferenceItem(
            table=d["table"], row_id=d["row_id"], column=d.get("column"),
            center_id=strawberry.ID(d["center_id"]) if d.get("center_id") else None, seq=d.get("seq"),
            detail=d["detail"]) for d in message.get("differences", [])])


@strawberry.type
class LedgerSubscription:
    @strawberry.subscription(description="账本篡改或投影不符的实时告警（仅监察人员）：每晚校验发现时推送")
    async def ledger_breaches(self, info: Info) -> AsyncGenerator[LedgerBreachAlert, None]:
        from esupervision.workers import runtime
        require(info, Role.SUPERVISOR)
        with runtime.fanout().listen({TOPIC}) as feed:
            while True:
                batch, _lost = await feed.next_batch()
                for topic, message in batch:
                    if topic == TOPIC:
                        yield _alert(message)
