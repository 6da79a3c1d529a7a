"""Known case pages answered before Strawberry's request pipeline.

Dashboards, screens and department systems poll a few case-page documents all day. Through
Strawberry each request is parsed, validated and passed through every extension hook before the
compiled path (``api.schema.compiled``) writes the page: ~2 ms of CPU before the first row is
read. Here a POST whose document the stock pipeline has once accepted in full (every validation
rule, the depth and alias limits) and that the compiled plan understands is answered directly:

- the rules that depend on the request are checked again: the viewer (the same
  ``viewer_for_request``), NUL characters in the variables, their depth and list lengths, the
  query's cost for these variables;
- the variables are coerced as the stock executor coerces them;
- the page is read and written by the plan in one worker thread and sent as orjson bytes.

Anything else — another document, a batch, a bad token, a refused variable, an error of any kind —
goes to Strawberry with the body as it came, so every error has one source and one shape. The
answers are the stock executor's (tests compare them field by field over HTTP).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from anyio import to_thread
from graphql import validate
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esupervision.api.auth import viewer_for_request
from esupervision.api.limits import has_nul, query_cost_rule, variables_refusal
from esupervision.api.schema.cases.case import READERS
from esupervision.api.schema.cases.compiled import Fallback, answer_page, plan_arguments, vetted_plan
from esupervision.models.clocks import timesource
from esupervision.settings import get_settings

log = logging.getLogger(__name__)

# Larger bodies are never a known page document: not worth reading twice.
MAX_BODY = 64 * 1024
_FIELDS = frozenset({"query", "variables", "operationName"})


class CompiledPagesFront:
    """Pure ASGI front of the GraphQL endpoint (HTTP POST only; WebSockets pass through)."""

    def __init__(self, app: ASGIApp, engine: Engine, schema: Any) -> None:
        self.app = app
        self.engine = engine
        self.schema = schema
        self.answered = 0        # requests answered here (tests and /metrics read it)
        self._costs: dict[tuple[Any, ...], bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _json(scope):
            await self.app(scope, receive, send)
            return
        body, complete = await _read(receive)
        answer = None
        if complete:
            try:
                answer = await self._answer(scope, body)
            except Fallback:
                answer = None
            except Exception:  # a bug here must not cost an answer: the stock path still gives it
                log.exception("compiled case page failed; answering through Strawberry")
                answer = None
        if answer is None:
            await self.app(scope, _replay(body, complete, receive), send)
            return
        self.answered += 1
        await Response(answer, media_type="application/json")(scope, receive, send)

    async def _answer(self, scope: Scope, body: bytes) -> bytes | None:
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(request, dict) or not request.keys() <= _FIELDS:
            return None
        query, variables, name = request.get("query"), request.get("variables"), request.get("operationName")
        if not isinstance(query, str) or not (variables is None or isinstance(variables, dict)) \
                or not (name is None or isinstance(name, str)):
            return None
        plan = vetted_plan(self.schema, query, name)
        if plan is None or has_nul(variables) or not self._affordable(plan, variables or {}):
            return None
        settings = get_settings()
        if variables_refusal(variables, max_depth=settings.max_variable_depth, max_list=settings.max_variable_list):
            return None
        viewer, error = await viewer_for_request(self.engine, Request(scope))
        if error is not None or viewer.role not in READERS:
            return None
        args = plan_arguments(plan, self.schema, variables)
        now = timesource.now()

        def read() -> bytes:
            # A read and nothing else: no transaction to begin and roll back around it.
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection, \
                    Session(bind=connection) as session:
                return orjson.dumps({"data": answer_page(plan, session, viewer, args, now)})
        return await to_thread.run_sync(read)

    def _affordable(self, plan: Any, variables: dict[str, Any]) -> bool:
        """The cost rule's verdict; it reads only the variables given as ``first``, so it is
        kept per plan and their values."""
        settings = get_settings()
        key = (id(plan), settings.max_query_cost, settings.max_page_size,
               *(repr(variables.get(v)) for v in plan.first_variables))
        verdict = self._costs.get(key)
        if verdict is None:
            rule = query_cost_rule(settings.max_query_cost, settings.max_page_size, variables)
            verdict = not validate(self.schema._schema, plan.document, [rule])
            if len(self._costs) >= 4096:
                self._costs.clear()
            self._costs[key] = verdict
        return verdict


def _json(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"content-type":
            return value.split(b";")[0].strip().lower() == b"application/json"
    return False


async def _read(receive: Receive) -> tuple[bytes, bool]:
    """The request body, and whether it is all there (a body past MAX_BODY is left half read
    for Strawberry to finish)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":     # the client left: Strawberry sees the same
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_BODY:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A ``receive`` that gives what was read as its first message, then the rest as it comes."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()
    return replay
