"""``Idempotency-Key`` on mutations: a retry after a lost answer gets the first answer, and changes
nothing twice (``models/access/idempotency.py`` keeps the keys).

Pure ASGI middleware in front of ``POST /graphql``. A request with the header whose operation is a
mutation is keyed by its principal (the viewer's ``actor``; the public by client address) and the
header; the document, variables and operation name must match the first request's, else
``IDEMPOTENCY_KEY_REUSED``. While the first request runs a retry waits for its answer (up to
``WAIT_S``, then ``IDEMPOTENCY_KEY_IN_PROGRESS``). Answers are GraphQL bodies like any other (HTTP
200, ``errors[].extensions.code``); a replayed one carries ``Idempotent-Replayed: true``.

Answers that carry credentials are never stored: ``NEVER_STORED`` runs again on every retry.
"""
from __future__ import annotations

import asyncio
import contextvars
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import orjson
from anyio import to_thread
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esupervision.api.auth import viewer_for_request
from esupervision.models.access import idempotency
from esupervision.models.access.idempotency import ClaimState
from esupervision.models.access.scope import Role
from esupervision.models.clocks import timesource
from esupervision.models.errors import ErrorCode
from esupervision.models.ledger.transaction import Transaction, add_event_listener

HEADER = b"idempotency-key"
PATHS = ("/graphql", "/graphql/")
# Login tokens and a new API key are shown once and never written down in the clear.
NEVER_STORED = frozenset({"login", "loginWithCode", "refresh", "createApiKey"})
WAIT_S = 10.0
POLL_S = 0.05
MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True)
class KeyInUse:
    principal: str
    key: str


# The key of the request being served, seen by the transactions its resolvers open (anyio copies
# the context into worker threads).
_current: contextvars.ContextVar[KeyInUse | None] = contextvars.ContextVar("idempotency_key", default=None)


def _mark(tx: Transaction, events: list[Any]) -> None:
    """In every transaction of a keyed request: the key's ``committed`` mark, in the same
    transaction, so it holds exactly when something of the request committed."""
    current = _current.get()
    if current is None or tx.cache.get("idempotency_marked"):
        return
    tx.cache["idempotency_marked"] = True
    idempotency.mark_committed(tx.session, principal=current.principal, key=current.key)


add_event_listener(_mark)


class IdempotentMutations:
    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope) if scope["type"] == "http" and scope["method"] == "POST" \
            and scope["path"] in PATHS else None
        if key is None:
            await self.app(scope, receive, send)
            return
        body, more = await _read(receive)
        request = _keyed_mutation(body) if not more else None
        if request is None:   # not a mutation (or not one we keep): served as if without the header
            await self.app(scope, _replay(body, more, receive), send)
            return
        if not key or len(key) > idempotency.MAX_KEY_LENGTH or not key.isprintable():
            await _error(send, ErrorCode.BAD_INPUT,
                         f"Idempotency-Key 应为 1–{idempotency.MAX_KEY_LENGTH} 个可打印字符 invalid key")
            return
        viewer, auth_error = await viewer_for_request(self.engine, Request(scope))
        if auth_error is not None:   # the API answers the credential's own error; nothing to keep
            await self.app(scope, _replay(body, more, receive), send)
            return
        principal = viewer.actor
        if viewer.role is Role.PUBLIC:
            principal += f"@{(scope.get('client') or ('-',))[0]}"
        request_hash = hashlib.sha256(request).hexdigest()
        deadline = time.monotonic() + WAIT_S
        while True:
            claim = await to_thread.run_sync(self._claim, principal, key, request_hash)
            if claim.state is not ClaimState.RUNNING or time.monotonic() > deadline:
                break
            await asyncio.sleep(POLL_S)
        if claim.state is ClaimState.NEW:
            await self._run(scope, _replay(body, more, receive), send, KeyInUse(principal, key))
        elif claim.state is ClaimState.REPLAY:
            await _send(send, claim.status or 200, (claim.answer or "").encode(),
                        [(b"idempotent-replayed", b"true")])
        elif claim.state is ClaimState.REUSED:
            await _error(send, ErrorCode.IDEMPOTENCY_KEY_REUSED,
                         "该 Idempotency-Key 已用于另一请求 this key was used with a different request")
        elif claim.state is ClaimState.LOST:
            await _error(send, ErrorCode.IDEMPOTENCY_ANSWER_LOST,
                         "首次请求已生效但答复未能保存，请查询当前状态 the first request took effect; "
                         "its answer was lost: read the current state")
        else:
            await _error(send, ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
                         "使用该 Idempotency-Key 的请求仍在处理中，请稍后重试 the first request is still running")

    def _claim(self, principal: str, key: str, request_hash: str) -> idempotency.Claim:
        with Session(self.engine, expire_on_commit=False) as session:
            return idempotency.claim(session, principal=principal, key=key, request_hash=request_hash,
                                     now=timesource.now())

    async def _run(self, scope: Scope, receive: Receive, send: Send, in_use: KeyInUse) -> None:
        """Serve the request, keep its answer if it committed anything, else release the key. The
        answer is kept even when the client has gone (the server finishes what it started)."""
        status: int | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            try:
                await send(message)
            except OSError:   # the client hung up: its retry gets the kept answer
                pass

        token = _current.set(in_use)
        try:
            await self.app(scope, receive, capture)
        finally:
            _current.reset(token)
            answer = b"".join(chunks).decode("utf-8", "replace") if status is not None else None
            await to_thread.run_sync(self._finish, in_use, status, answer)

    def _finish(self, in_use: KeyInUse, status: int | None, answer: str | None) -> None:
        with Session(self.engine) as session:
            idempotency.finish(session, principal=in_use.principal, key=in_use.key, status=status, answer=answer)


def _header(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("latin-1").strip()
    return None


def _keyed_mutation(body: bytes) -> bytes | None:
    """The canonical form of a single GraphQL request (its hash is the request's identity) when
    its operation is a mutation whose answers may be kept; else None."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(request, dict) or not isinstance(request.get("query"), str):
        return None
    name = request.get("operationName")
    try:
        document = parse(request["query"])
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                  and (name is None or (d.name is not None and d.name.value == name))]
    if len(operations) != 1 or operations[0].operation is not OperationType.MUTATION:
        return None
    selections = operations[0].selection_set.selections
    if not all(isinstance(s, FieldNode) for s in selections) \
            or {s.name.value for s in selections} & NEVER_STORED:  # type: ignore[attr-defined]
        return None
    return orjson.dumps({"query": request["query"], "variables": request.get("variables") or {},
                         "operationName": name}, option=orjson.OPT_SORT_KEYS)


async def _read(receive: Receive) -> tuple[bytes, bool]:
    """The body, and whether some of it is left unread (past ``MAX_BODY``, or the client left)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False
        if size > MAX_BODY:
            return b"".join(chunks), True


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A ``receive`` that gives what was read as its first message, then the rest as it comes."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()
    return replay


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


async def _error(send: Send, code: ErrorCode, message: str) -> None:
    await _send(send, 200, orjson.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": str(code)}}]}))
