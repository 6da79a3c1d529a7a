"""Who is asking: a bearer access token (staff and applicants), or no credentials (the public).

A bad or expired token is not silently downgraded to the public: the error is kept and raised
by the first field that asks for the viewer, with its code (TOKEN_EXPIRED, TOKEN_INVALID). A token
of an account disabled since it was issued fails on the next request (TOKEN_INVALID): its account
is looked up each time, as an API key is.
"""
from __future__ import annotations

from typing import Any

from anyio import to_thread
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.api.keys import viewer_for_api_key
from esupervision.api.tokens import viewer_from_token
from esupervision.models.clocks import timesource
from esupervision.models.access.account import account_is_active
from esupervision.models.access.scope import PUBLIC, Viewer
from esupervision.models.errors import DomainError, ErrorCode


async def _active(engine: Engine, viewer: Viewer) -> Viewer:
    """``viewer``, if its account is still active."""
    if viewer.account_id is None:
        return viewer

    def lookup() -> bool:
        with Session(engine) as session:
            return account_is_active(session, viewer.account_id)  # type: ignore[arg-type]
    if not await to_thread.run_sync(lookup):
        raise DomainError(ErrorCode.TOKEN_INVALID, "账号已停用，请联系管理员 account disabled")
    return viewer


async def viewer_for_request(engine: Engine, request: Any) -> tuple[Viewer, Exception | None]:
    header = request.headers.get("authorization") or ""
    scheme, _, credential = header.partition(" ")
    if not credential:
        return PUBLIC, None
    try:
        if scheme.lower() == "bearer":
            return await _active(engine, viewer_from_token(credential.strip(), now=timesource.now())), None
        if scheme.lower() == "apikey":
            return await viewer_for_api_key(engine, credential.strip()), None
    except DomainError as exc:
        return PUBLIC, exc
    return PUBLIC, None
