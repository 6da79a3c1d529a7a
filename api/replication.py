"""What a county deployment serves the city that replicates it (``models/counties``), beside the
public heads and proofs of ``api/ledger.py``:

- ``GET /ledger/{center}/events?after=N&limit=M``: the events after seq N (at most M, up to the
  newest signed head), each ``{seq, prev_hash, hash, body}`` with the body exactly as hashed, the
  newest signed head (``checkpoint``) and the consistency proof from the page's end to it;
- ``GET /replication/catalogue``: this deployment's centers, departments, windows, staff (without
  phone numbers) and items.

Events carry the rows they wrote, applicants' names and ID numbers among them, so both routes
want the service token ``ESV_REPLICATION_TOKEN`` as a bearer token (unset: not served).
"""
from __future__ import annotations

import base64
import hmac
import uuid
from typing import Any

import orjson
from anyio import to_thread
from sqlalchemy import Text, cast, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from esupervision.models.catalogue.catalogue import Center
from esupervision.models.counties.replica import catalogue_document
from esupervision.models.ledger.ledger import LedgerEvent, format_instant
from esupervision.models.ledger.tree import consistency_proof, latest_head
from esupervision.settings import get_settings

MAX_PAGE = 2000


def _json(document: Any) -> Response:
    return Response(orjson.dumps(document), media_type="application/json")


def _refused(request: Request) -> Response | None:
    token = get_settings().replication_token
    if not token:
        return PlainTextResponse("本系统未开放账本复制 replication is not served (ESV_REPLICATION_TOKEN unset)", 404)
    given = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(given, f"Bearer {token}".encode()):
        return PlainTextResponse("需要复制服务令牌 replication token required", 401, headers={"WWW-Authenticate": "Bearer"})
    return None


_EVENT = LedgerEvent.__table__  # type: ignore[attr-defined]
_COLUMNS = [*(_EVENT.c[k] for k in ("seq", "kind", "subject_type", "subject_id", "actor", "source",
                                    "source_event_id", "occurred_at", "recorded_at", "late", "data",
                                    "prev_hash", "hash")),
            cast(_EVENT.c.changes, Text).label("changes_text")]


def events_page(session: Session, center_id: uuid.UUID, after: int, limit: int) -> dict[str, Any]:
    """The page the events route serves (see the module docstring)."""
    head = latest_head(session, center_id)
    size = head.size if head is not None else 0
    rows = session.execute(select(*_COLUMNS).where(_EVENT.c.center_id == center_id, _EVENT.c.seq > after,
                                                   _EVENT.c.seq <= min(size, after + limit))
                           .order_by(_EVENT.c.seq)).all()
    events = [{"seq": r.seq, "prev_hash": r.prev_hash, "hash": r.hash, "body": {
        "center_id": str(center_id), "seq": r.seq, "kind": r.kind, "subject_type": r.subject_type,
        "subject_id": str(r.subject_id), "actor": r.actor, "source": r.source,
        "source_event_id": r.source_event_id, "occurred_at": format_instant(r.occurred_at),
        "recorded_at": format_instant(r.recorded_at), "late": r.late, "data": r.data,
        # The change document as stored: the bytes that were hashed, not parsed and encoded again.
        "changes": orjson.Fragment(r.changes_text)}} for r in rows]
    end = events[-1]["seq"] if events else after
    proof: list[str] = []
    if 0 < end < size:
        proof = [base64.b64encode(h).decode() for h in consistency_proof(session, center_id, end, size)]
    return {"center_id": str(center_id), "after": after, "size": size, "checkpoint": head.note if head else None,
            "events": events, "consistency": proof}


def replication_routes(engine: Engine) -> list[Route]:
    """The routes above, on ``engine``."""

    async def events(request: Request) -> Response:
        refused = _refused(request)
        if refused is not None:
            return refused
        try:
            after = int(request.query_params.get("after", "0"))
            limit = min(int(request.query_params.get("limit", "500")), MAX_PAGE)
        except ValueError:
            return PlainTextResponse("after 与 limit 须为整数 after and limit are whole numbers", 400)
        if after < 0 or limit < 1:
            return PlainTextResponse("after ≥ 0, limit ≥ 1", 400)
        ref = request.path_params["center"]

        def answer() -> dict[str, Any] | None:
            with Session(engine) as session:
                try:
                    center_id = uuid.UUID(ref)
                except ValueError:
                    center_id = session.scalar(select(Center.id).where(Center.code == ref))
                if center_id is None or session.get(Center, center_id) is None:
                    return None
                return events_page(session, center_id, after, limit)

        page = await to_thread.run_sync(answer)
        if page is None:
            return PlainTextResponse("中心不存在 no such center", 404)
        return _json(page)   # a chain with no signed head yet: checkpoint null, no events

    async def catalogue(request: Request) -> Response:
        refused = _refused(request)
        if refused is not None:
            return refused

        def answer() -> dict[str, Any]:
            with Session(engine) as session:
                return catalogue_document(session)
        return _json(await to_thread.run_sync(answer))

    return [Route("/ledger/{center}/events", events), Route("/replication/catalogue", catalogue)]
