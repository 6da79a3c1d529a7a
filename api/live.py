"""``lightChanged`` answered once per message and kind of subscriber, not once per subscriber.

The stock path runs graphql-core (and every extension's per-result hooks) for each subscriber and
each message: about 1.4 ms of CPU per delivery, too much for a thousand subscribers. Here a
subscription whose document is only plain fields of ``LightChange`` (aliases and ``__typename``
allowed; ``filter`` and ``after`` as literals or variables) joins the event loop's
``LightFanout``. Subscribers are grouped by (document, what the viewer may see, filter); for each
message a group either hears it or not, its payload is built and serialized once per (document,
public or not), and every member gets the same bytes with its own operation id spliced in.

The answers are the stock path's, byte for byte: the same ``LightChange.from_message``, the
schema's own serializers, Strawberry's JSON encoding; replay, resume and resync are the stock
``_LightStream``'s. Any document, variable or viewer the fast path is unsure of (a ``case``
selection, fragments, directives, a bad cursor or filter, an authentication error, anything over
a query limit) goes to the stock path, which answers or refuses it as it always has. Plain fields
record no personal reads and raise no errors, so the stock per-result extensions have nothing to
do for these documents.
"""
from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from graphql import (DocumentNode, FieldNode, GraphQLError, GraphQLSyntaxError, OperationDefinitionNode,
                     OperationType, StringValueNode, get_named_type, parse, specified_rules, visit)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.language import Visitor
from sqlalchemy.engine import Engine
from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.schema import validate_document
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import CompleteMessage
from strawberry.types.arguments import convert_arguments

from esupervision.api.context import Context
from esupervision.api.limits import has_nul
from esupervision.api.schema import MAX_ALIASES
from esupervision.api.schema.feeds import latest_ledger_id, parse_cursor
from esupervision.api.schema.subscription import (LIGHT_TOPIC, LightChange, Subscription, _case_scopes, _LightMatch,
                                                  _LightStream, in_scope)
from esupervision.models.access.scope import Role, Viewer
from esupervision.models.errors import DomainError
from esupervision.settings import get_settings
from esupervision.workers import runtime

log = logging.getLogger(__name__)

ROOT_FIELD = "lightChanged"
# A subscriber that falls this many messages behind catches up from the ledger (as a Feed does).
OUTBOX_LIMIT = 10_000
_PLAN_CACHE_SIZE = 1_000


# ----------------------------------------------------------------------------- the documents it knows

class _Decline(Exception):
    """The fast path is unsure: the stock path answers."""


@dataclass(frozen=True, eq=False)
class LightPlan:
    """One known ``lightChanged`` document: how to read its arguments and write its answer."""

    document: DocumentNode
    operation: OperationDefinitionNode
    root: FieldNode
    root_key: str
    # (response key, LightChange attribute or None for __typename, the schema's serializer)
    fields: tuple[tuple[str, str | None, Callable[[Any], Any]], ...]
    aliases: int
    cost: int

    def payload(self, change: LightChange) -> dict[str, Any]:
        """The stock ``next`` payload, ``{"data": ...}``, as JSON-ready values."""
        answer: dict[str, Any] = {}
        for key, attribute, serialize in self.fields:
            if attribute is None:
                answer[key] = "LightChange"
            else:
                value = getattr(change, attribute)
                answer[key] = None if value is None else serialize(value)
        return {"data": {self.root_key: answer}}


_PLANS: dict[tuple[int, str, str | None], LightPlan | None] = {}


def plan_for(schema: Any, query: str, operation_name: str | None) -> LightPlan | None:
    """The plan of a document the fast path knows, else None (cached by text)."""
    key = (id(schema), query, operation_name)
    if key not in _PLANS:
        try:
            plan: LightPlan | None = _compile(schema, query, operation_name)
        except (_Decline, GraphQLError, GraphQLSyntaxError, KeyError, AttributeError, TypeError):
            plan = None
        if len(_PLANS) >= _PLAN_CACHE_SIZE:
            _PLANS.clear()
        _PLANS[key] = plan
    return _PLANS[key]


def _compile(schema: Any, query: str, operation_name: str | None) -> LightPlan:
    document = parse(query, max_tokens=get_settings().max_query_tokens)
    if len(document.definitions) != 1 or not isinstance(document.definitions[0], OperationDefinitionNode):
        raise _Decline   # fragments, several operations: the stock path
    operation = document.definitions[0]
    if operation.operation is not OperationType.SUBSCRIPTION or operation.directives:
        raise _Decline
    if operation_name is not None and (operation.name is None or operation.name.value != operation_name):
        raise _Decline
    if validate_document(schema._schema, document, tuple(specified_rules)):
        raise _Decline   # the stock path reports what is wrong
    [root] = operation.selection_set.selections
    if not isinstance(root, FieldNode) or root.name.value != ROOT_FIELD or root.directives:
        raise _Decline
    if root.selection_set is None:
        raise _Decline

    light_type = get_named_type(schema._schema.subscription_type.fields[ROOT_FIELD].type)
    converter = schema.config.name_converter
    attributes = {converter.get_graphql_name(f): f.python_name
                  for f in LightChange.__strawberry_definition__.fields  # type: ignore[attr-defined]
                  if f.base_resolver is None}
    fields: dict[str, tuple[str, str | None, Callable[[Any], Any]]] = {}
    for node in root.selection_set.selections:
        if not isinstance(node, FieldNode) or node.directives or node.arguments or node.selection_set:
            raise _Decline
        name = node.name.value
        key = node.alias.value if node.alias else name
        if name == "__typename":
            entry: tuple[str, str | None, Callable[[Any], Any]] = (key, None, str)
        elif name in attributes:
            entry = (key, attributes[name], get_named_type(light_type.fields[name].type).serialize)
        else:
            raise _Decline   # ``case`` and anything with a resolver of its own
        if key in fields and fields[key][1] != entry[1]:
            raise _Decline
        fields.setdefault(key, entry)   # a repeated key keeps its first place, as graphql-core does

    class _Strings(Visitor):
        nul = False

        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            self.nul = self.nul or "\x00" in node.value
    strings = _Strings()
    visit(document, strings)
    if strings.nul:
        raise _Decline
    aliases = (1 if root.alias else 0) + sum(1 for n in root.selection_set.selections
                                             if isinstance(n, FieldNode) and n.alias)
    return LightPlan(document, operation, root, root.alias.value if root.alias else ROOT_FIELD,
                     tuple(fields.values()), aliases, 1 + len(root.selection_set.selections))


def light_subscription(schema: Any, context: Context, query: str, variables: dict[str, Any] | None,
                       operation_name: str | None) -> tuple[LightPlan, _LightStream] | None:
    """The plan and stream of a subscription the fast path answers, else None."""
    plan = plan_for(schema, query, operation_name)
    if plan is None or not isinstance(context, Context) or context.auth_error is not None:
        return None
    settings = get_settings()
    if plan.aliases > MAX_ALIASES or plan.cost > settings.max_query_cost or has_nul(variables or {}):
        return None
    try:
        coerced = get_variable_values(schema._schema, plan.operation.variable_definitions or [], variables or {})
        if isinstance(coerced, list):
            return None
        field_def = schema._schema.subscription_type.fields[ROOT_FIELD]
        raw = get_argument_values(field_def, plan.root, coerced)
        field = next(f for f in Subscription.__strawberry_definition__.fields  # type: ignore[attr-defined]
                     if f.python_name == "light_changed")
        args = convert_arguments(raw, field.arguments, scalar_registry=schema.schema_converter.scalar_registry,
                                 config=schema.config)
        match = _LightMatch.of(args.get("filter"))
        after = parse_cursor(args.get("after"))
    except (DomainError, GraphQLError, ValueError, TypeError):
        return None
    return plan, _LightStream(context, context.viewer, match, after)


# ----------------------------------------------------------------------------- the fan-out

Encoded = str | bytes
Encode = Callable[[object], Encoded]


class _Member:
    """One fast ``lightChanged`` subscription: its stream (cursor, what it was sent) and the
    encoded payloads waiting for it, sent in order by its own task."""

    def __init__(self, plan: LightPlan, stream: _LightStream, encode: Encode,
                 send: Callable[[Encoded], Awaitable[None]]) -> None:
        self.plan = plan
        self.stream = stream
        self.encode = encode
        self.send = send
        self.outbox: deque[tuple[int, Encoded]] = deque()
        self.ready = asyncio.Event()
        self.lost = False

    def offer(self, ledger_id: int, payload: Encoded) -> None:
        if len(self.outbox) >= OUTBOX_LIMIT:
            self.lose()
            return
        self.outbox.append((ledger_id, payload))
        self.ready.set()

    def lose(self) -> None:
        """Messages may be missing: catch up from the ledger before sending more."""
        self.outbox.clear()
        self.lost = True
        self.ready.set()

    async def run(self) -> None:
        stream = self.stream
        # Listening already (the fan-out holds a feed): what the ledger gives next is not missed.
        start = stream.after if stream.after is not None else await latest_ledger_id(stream.context)
        if stream.after is not None:
            await self._replay(stream.after)
        while True:
            await self.ready.wait()
            self.ready.clear()
            if self.lost:
                self.lost = False
                await self._replay(stream.sent.floor(start))
            while self.outbox:
                ledger_id, payload = self.outbox.popleft()
                if stream.fresh(ledger_id):
                    stream.sent.add(ledger_id)
                    await self.send(payload)

    async def _replay(self, after: int) -> None:
        async for change in self.stream.replay(after):
            await self.send(self.encode(self.plan.payload(change)))


@dataclass(eq=False)
class _Group:
    """Subscribers that hear the same messages with the same payload."""

    plan: LightPlan
    who: Viewer
    match: _LightMatch
    encode: Encode
    members: set[_Member]

    @property
    def public(self) -> bool:
        return self.who.role is Role.PUBLIC


def _scope_key(who: Viewer) -> tuple[Any, ...]:
    """What ``in_scope`` reads of a viewer: viewers alike in it hear the same messages."""
    return (who.role, who.center_id, who.department_id, who.window_id, who.applicant_phone)


class LightFanout:
    """The light changes of one event loop and database, handed to every fast subscriber."""

    def __init__(self, engine: Engine) -> None:
        self.context = Context(engine=engine)
        self.groups: dict[tuple[Any, ...], _Group] = {}
        self._exit = ExitStack()
        self.feed = self._exit.enter_context(runtime.fanout().listen({LIGHT_TOPIC}))
        self.task = asyncio.get_running_loop().create_task(self._dispatch())

    @property
    def members(self) -> int:
        return sum(len(g.members) for g in self.groups.values())

    @contextmanager
    def join(self, member: _Member) -> Iterator[None]:
        stream = member.stream
        key = (member.plan, _scope_key(stream.who), stream.match, member.encode)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(member.plan, stream.who, stream.match, member.encode, set())
        group.members.add(member)
        try:
            yield
        finally:
            group.members.discard(member)
            if not group.members and self.groups.get(key) is group:
                del self.groups[key]

    def close(self) -> None:
        self.task.cancel()
        self._exit.close()

    async def _dispatch(self) -> None:
        while True:
            batch, lost = await self.feed.next_batch()
            try:
                if lost:
                    for group in list(self.groups.values()):
                        for member in group.members:
                            member.lose()
                messages = [m for _, m in batch if "ledger_id" in m]
                if messages and self.groups:
                    await self._deliver(messages)
            except Exception:  # noqa: BLE001 - the fan-out must outlive a bad message; the ledger has it
                log.exception("light fan-out failed; its subscribers catch up from the ledger")
                for group in list(self.groups.values()):
                    for member in group.members:
                        member.lose()

    async def _deliver(self, messages: list[dict[str, Any]]) -> None:
        numbers = {m["number"] for m in messages if m.get("number")}
        scoped = any(not g.public for g in self.groups.values())
        scopes = await _case_scopes.get(self.context, numbers) if numbers and scoped else {}
        for message in messages:
            ledger_id = int(message["ledger_id"])
            changes: dict[bool, LightChange] = {}
            payloads: dict[tuple[LightPlan, bool, Encode], Encoded] = {}
            for group in list(self.groups.values()):
                if not group.members or not group.match(message) or not in_scope(group.who, message, scopes):
                    continue
                public = group.public
                key = (group.plan, public, group.encode)
                payload = payloads.get(key)
                if payload is None:
                    change = changes.get(public)
                    if change is None:
                        change = changes[public] = LightChange.from_message(message, public=public)
                    payload = payloads[key] = group.encode(group.plan.payload(change))
                for member in group.members:
                    member.offer(ledger_id, payload)


_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Engine, LightFanout]] = \
    weakref.WeakKeyDictionary()


@contextmanager
def _joined(member: _Member) -> Iterator[LightFanout]:
    """``member`` among the running loop's subscribers of its database until the block ends; the
    fan-out stops listening when its last subscriber leaves."""
    loop = asyncio.get_running_loop()
    engine = member.stream.context.engine
    by_engine = _fanouts.setdefault(loop, {})
    fanout = by_engine.get(engine)
    if fanout is None:
        fanout = by_engine[engine] = LightFanout(engine)
    try:
        with fanout.join(member):
            yield fanout
    finally:
        if not fanout.groups and by_engine.get(engine) is fanout:
            del by_engine[engine]
            fanout.close()


def fanout_members() -> int:
    """Fast subscribers of the process, every loop's (for tests and metrics)."""
    return sum(f.members for by_engine in list(_fanouts.values()) for f in list(by_engine.values()))


async def run_light(plan: LightPlan, stream: _LightStream, encode: Encode,
                    send: Callable[[Encoded], Awaitable[None]]) -> None:
    """Serve one fast subscription until it is cancelled (its client completed or left)."""
    member = _Member(plan, stream, encode, send)
    with _joined(member):
        await member.run()


# ----------------------------------------------------------------------------- the protocols

class _Frames:
    """A protocol's frame around a payload, as the view encodes it: the frame of a ``null``
    payload split where the payload goes, so each subscriber's frame is its own id spliced
    around payload bytes encoded once for all."""

    def __init__(self, websocket: Any, frame: dict[str, Any]) -> None:
        self.websocket = websocket
        self.encode: Encode = websocket.view.encode_json
        blank = self.encode({**frame, "payload": None})
        tail = b"null}" if isinstance(blank, bytes) else "null}"
        if not blank.endswith(tail):   # type: ignore[arg-type]
            raise _Decline
        self.head, self.tail = blank[:-len(tail)], blank[-1:]

    async def send(self, payload: Encoded) -> None:
        frame = self.head + payload + self.tail   # type: ignore[operator]
        ws = getattr(self.websocket, "ws", None)   # Strawberry's ASGI adapter: the Starlette WebSocket
        try:
            if ws is None:
                await self.websocket.send_json(json.loads(frame))
            elif isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_text(frame)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


def _frames(websocket: Any, frame: dict[str, Any]) -> _Frames | None:
    try:
        return _Frames(websocket, frame)
    except (_Decline, AttributeError, TypeError):
        return None


def _internal_error(error: Exception, context: Any) -> dict[str, Any]:
    """The payload the stock path sends when a subscription fails unexpectedly: the error
    masked, with its code and the request id (``api.errors``)."""
    from esupervision.api.errors import _shape
    shaped = _shape(GraphQLError(str(error), original_error=error), getattr(context, "request_id", "-"))
    return {"data": None, "errors": [shaped.formatted]}


class LiveTransportWSHandler(BaseGraphQLTransportWSHandler):
    """graphql-transport-ws: known ``lightChanged`` documents through the fan-out, the rest as stock."""

    async def run_operation(self, operation: Operation) -> None:
        known = light_subscription(self.schema, self.context, operation.query, operation.variables,
                                   operation.operation_name)
        frames = _frames(self.websocket, {"id": operation.id, "type": "next"}) if known else None
        if known is None or frames is None:
            await super().run_operation(operation)
            return

        async def send(payload: Encoded) -> None:
            if not operation.completed:
                await frames.send(payload)
        try:
            await run_light(*known, frames.encode, send)
        except WebSocketDisconnected:
            return   # the connection's own loop ends the operations
        except Exception as error:  # noqa: BLE001 - as the stock path: an INTERNAL_ERROR result, completed
            await self.handle_task_exception(error)
            try:
                await send(frames.encode(_internal_error(error, self.context)))
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            except Exception:  # noqa: BLE001
                pass
            self.operations.pop(operation.id, None)


class LiveWSHandler(BaseGraphQLWSHandler):
    """The legacy graphql-ws protocol: the same, with its own frames."""

    async def handle_async_results(self, operation_id: str, query: str, operation_name: str | None,
                                   variables: dict[str, object] | None) -> None:
        known = light_subscription(self.schema, self.context, query, variables, operation_name)
        frames = _frames(self.websocket, {"type": "data", "id": operation_id}) if known else None
        if known is None or frames is None:
            await super().handle_async_results(operation_id, query, operation_name, variables)
            return
        try:
            await run_light(*known, frames.encode, frames.send)
        except asyncio.CancelledError:   # stopped: the stock handler answers "complete" too
            await self.send_message(CompleteMessage(type="complete", id=operation_id))
        except WebSocketDisconnected:
            pass
        finally:
            self.tasks.pop(operation_id, None)
