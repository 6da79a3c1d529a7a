"""API keys for department business systems: stored hashed, scoped to one department, revocable."""
from __future__ import annotations

from anyio import to_thread
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.access.scope import Viewer
from esupervision.models.access.apikey import viewer_for_key


async def viewer_for_api_key(engine: Engine, key: str) -> Viewer:
    def lookup() -> Viewer:
        with Session(engine) as session:
            return viewer_for_key(session, key)
    return await to_thread.run_sync(lookup)
