"""Who is asking: a bearer access token (staff and applicants), or no credentials (the public).

A bad or expired token is not silently downgraded to the public: the error is kept and raised
by the first field that asks for the viewer, with its code (TOKEN_EXPIRED, TOKEN_INVALID).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from esupervision.api.keys import viewer_for_api_key
from esupervision.api.tokens import viewer_from_token
from esupervision.models.clocks import timesource
from esupervision.models.access.scope import PUBLIC, Viewer
from esupervision.models.errors import DomainError


async def viewer_for_request(engine: Engine, request: Any) -> tuple[Viewer, Exception | None]:
    header = request.headers.get("authorization") or ""
    scheme, _, credential = header.partition(" ")
    if not credential:
        return PUBLIC, None
    try:
        if scheme.lower() == "bearer":
            return viewer_from_token(credential.strip(), now=timesource.now()), None
        if scheme.lower() == "apikey":
            return await viewer_for_api_key(engine, credential.strip()), None
    except DomainError as exc:
        return PUBLIC, exc
    return PUBLIC, None
