"""Start-up warm-up: what the first requests to a fresh API process would otherwise pay for.

A fresh process answered its first case pages in 70–250 ms, against ~5 ms a page once warm
(``bench/api.py``'s cold start): Strawberry parsing and validating a document for the first time,
the compiled plan and its SQL built, lazy imports and SQLAlchemy's statement caches filled (its
ORM mappers configured by the first account lookup of a token), pool connections opened, and
every new PostgreSQL backend loading its catalogue caches and planning each statement until
psycopg has it prepared. ``esv serve``
does that here, in the app's lifespan start-up, which uvicorn completes before it opens (or, with
several processes, accepts on) the socket, so no request waits for it.

The warm-up reads, as the supervisor, the case pages of the documents the project's own client
sends and of those the deployment lists (``ESV_WARM_DOCUMENTS``: its screens' and dashboards'
documents), behind a cursor before every case (empty pages: no personal data is read, nothing is
recorded), through the same front and Strawberry app as requests: it fills only the caches and
plans requests would fill, and changes no answer. A document it does not know still pays for
its own parsing, vetting and plan on its first request in each process.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from anyio import to_thread
from starlette.applications import Starlette

from esupervision.api.schema.cases.compiled import vetted_plan
from esupervision.settings import get_settings

log = logging.getLogger(__name__)

# Pool connections opened and warmed at start (the engine keeps 10; a process serving its share
# of 200 pages/s has rarely more than a few requests at once).
CONNECTIONS = 4
# Reads of each document on each connection: a new PostgreSQL backend loads its catalogue caches
# on its first statements, psycopg prepares a statement once it has run five times on a
# connection, and PostgreSQL plans a prepared statement for good after five more executions.
ROUNDS = 11


def documents() -> list[str]:
    """The case-page documents to have ready: the client's, and the screens' own that the
    deployment lists (``ESV_WARM_DOCUMENTS``)."""
    from esupervision_client.queries import CASES
    return [CASES, *(Path(path).read_text(encoding="utf-8") for path in get_settings().warm_documents)]


def reads(query: str) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The variables of a document's first read, and of its reads on every connection if it takes
    a filter, both behind a cursor before every case id (the page is empty, its statements those
    of any page); None for a document without an ``$after`` variable, whose page would hold cases."""
    from graphql import OperationDefinitionNode, parse

    from esupervision.models.cases.query import encode_cursor
    operations = [d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode)]
    declared = {v.variable.name.value for v in operations[0].variable_definitions or ()} \
        if len(operations) == 1 else set()
    if "after" not in declared:
        return None
    first = {"after": encode_cursor(uuid.UUID(int=0))} | ({"first": 50} if "first" in declared else {})
    if "filter" not in declared:
        return first, None
    # A window that has no cases: each read on each connection, and its count of the cases if
    # the document asks for one, is an index lookup.
    return first, first | {"filter": {"windowIds": [str(uuid.UUID(int=0))]}}


@asynccontextmanager
async def warmed_up(app: Starlette) -> AsyncIterator[None]:
    """Lifespan: warm the app up, then serve."""
    started = time.perf_counter()
    try:
        await warm_up(app)
    except Exception:   # a warm-up that fails must not keep the API down: requests warm it instead
        log.exception("start-up warm-up failed; serving cold")
    else:
        log.info("warmed up in %.2f s", time.perf_counter() - started)
    yield


async def warm_up(app: Starlette) -> None:
    from esupervision.api.tokens import issue_access_token
    from esupervision.models.access.scope import Role, Viewer
    from esupervision.models.clocks import timesource

    front = app.state.compiled_pages
    answered = front.answered
    # A token that never leaves this process: the requests below go through the same door
    # (token check, front, Strawberry) as the supervisor's would.
    token = issue_access_token(Viewer(role=Role.SUPERVISOR, username="esv-warm-up"), now=timesource.now())
    for query in documents():
        variables = reads(query)
        if variables is None:
            log.warning("warm-up: a document without an $after variable is not read (its page holds cases)")
            continue
        first, filtered = variables
        await _post(front, orjson.dumps({"query": query, "variables": first}), token)   # parsed, validated, vetted
        plan = vetted_plan(front.schema, query, None)
        if filtered is None and (plan is None or plan.counts):
            continue   # counting every case on every read would cost more than it saves
        body = orjson.dumps({"query": query, "variables": filtered or first})
        for _ in range(ROUNDS):
            # At once, so each read takes a connection of its own from the pool.
            await asyncio.gather(*(_post(front, body, token) for _ in range(CONNECTIONS)))
    # Every request with a token looks its account up (api.auth): the first such query in a
    # process configures SQLAlchemy's mappers (~50 ms). No account has the nil id.
    await asyncio.gather(*(to_thread.run_sync(_account_lookup, front.engine) for _ in range(CONNECTIONS)))
    front.answered = answered                         # requests answered, not warm-up reads


def _account_lookup(engine: Any) -> None:
    from sqlmodel import Session

    from esupervision.models.access.account import account_is_active
    with Session(engine) as session:
        account_is_active(session, uuid.UUID(int=0))


async def _post(endpoint: Any, body: bytes, token: str) -> None:
    """One POST /graphql through an ASGI app, in process; a refused or failed read raises."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "root_path": "",
             "query_string": b"", "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0),
             "headers": [(b"content-type", b"application/json"), (b"authorization", f"Bearer {token}".encode()),
                         (b"content-length", str(len(body)).encode())]}
    sent = False
    answer: list[bytes] = []
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()     # the client stays until the answer is sent
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            answer.append(message.get("body", b""))

    await endpoint(scope, receive, send)
    payload = b"".join(answer)
    if status != 200 or b'"errors"' in payload:
        raise RuntimeError(f"warm-up read refused: {status} {payload[:300]!r}")
