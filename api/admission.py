"""A live connection stays admitted only while its credentials are.

An HTTP request looks its account (or API key) up every time (``api.auth``). A WebSocket fixes its
viewer when it connects and may then stay open for days (the big screen, a console left open), so
an account disabled or a key revoked in the meantime would go on hearing every light change of its
scope. Each WebSocket therefore has a watcher that looks the credentials up again every
``RECHECK_S`` seconds and, when they no longer admit it, closes the connection with 4403 (the
code graphql-transport-ws gives "Forbidden"): every operation on it ends, the fast fan-out path's
as much as Strawberry's, and a client that reconnects with the same token is refused at
``connection_init``.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.websockets import WebSocket, WebSocketState

from esupervision.models.access.account import account_is_active
from esupervision.models.access.apikey import ApiKey
from esupervision.models.access.scope import Viewer

log = logging.getLogger(__name__)

RECHECK_S = 30.0
FORBIDDEN = 4403
CLOSE_REASON = "账号已停用或密钥已吊销 credentials no longer valid"


def still_admitted(engine: Engine, viewer: Viewer) -> bool:
    """Whether the account behind ``viewer`` is still active and its API key not revoked (the
    public and a viewer without an account are always admitted)."""
    with Session(engine) as session:
        if viewer.account_id is not None and not account_is_active(session, viewer.account_id):
            return False
        if viewer.api_key_id is not None:
            revoked = session.execute(select(ApiKey.revoked_at).where(ApiKey.id == viewer.api_key_id)).first()
            return revoked is not None and revoked[0] is None
        return True


def watch(engine: Engine, websocket: WebSocket, context: Any) -> asyncio.Task[None]:
    """Start the watcher of one WebSocket; it reads ``context.viewer`` each time, since
    ``connection_init`` sets the viewer after the connection is made."""
    return asyncio.get_running_loop().create_task(_watch(engine, websocket, context))


def _open(websocket: WebSocket) -> bool:
    return (websocket.application_state is not WebSocketState.DISCONNECTED
            and websocket.client_state is not WebSocketState.DISCONNECTED)


async def _watch(engine: Engine, websocket: WebSocket, context: Any) -> None:
    while True:
        await asyncio.sleep(RECHECK_S)
        if not _open(websocket):
            return
        viewer: Viewer = context.viewer
        if viewer.account_id is None and viewer.api_key_id is None:
            continue
        try:
            admitted = await to_thread.run_sync(still_admitted, engine, viewer)
        except Exception:  # noqa: BLE001 - a database hiccup is no reason to cut anyone off
            log.warning("could not recheck the credentials of a live connection", exc_info=True)
            continue
        if admitted:
            continue
        log.info("closing a live connection of %s: %s", viewer.actor, CLOSE_REASON)
        if _open(websocket):
            try:
                await websocket.close(code=FORBIDDEN, reason=CLOSE_REASON)
            except Exception:  # noqa: BLE001 - already closing: nothing more to end
                pass
        return
