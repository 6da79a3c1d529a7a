"""The per-request context: the viewer, the engine, DataLoaders and the request id."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.api.loaders import Loaders
from esupervision.models.clocks import timesource
from esupervision.models.access.scope import PUBLIC, Viewer

T = TypeVar("T")


class Context:
    """What every resolver gets as ``info.context``."""

    def __init__(self, *, engine: Engine, viewer: Viewer = PUBLIC, request: Any = None,
                 response: Any = None, request_id: str | None = None, auth_error: Exception | None = None) -> None:
        self.engine = engine
        self.viewer = viewer
        self.request = request
        self.response = response
        self.request_id = request_id or uuid.uuid4().hex
        self.auth_error = auth_error
        self.now: datetime = timesource.now()
        self.personal_reads: list[dict[str, Any]] = []

    async def run(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in a worker thread with its own session: database calls never
        block the event loop, and concurrent loaders never share a session."""
        def call() -> T:
            with Session(self.engine, expire_on_commit=False) as session:
                return fn(session)
        return await to_thread.run_sync(call)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking function (one that owns its transaction) in a worker thread."""
        return await to_thread.run_sync(fn, *args)

    def personal_read(self, *, subject_type: str, subject_id: uuid.UUID, field: str) -> None:
        """Note an unmasked read of personal data; written when the request ends."""
        self.personal_reads.append({"at": self.now, "actor": self.viewer.actor, "role": self.viewer.role.value,
                                    "subject_type": subject_type, "subject_id": subject_id,
                                    "field": field, "request_id": self.request_id})

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self)
