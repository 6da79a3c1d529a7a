"""Limits of the API: rate limits on logging in, the cost and size of a query, the size of a
request and the shape of its variables, which proxies are believed, and who may introspect the
schema.

- Rate limits are sliding windows (a log of attempt instants per key): in-process for the
  embedded default, in Redis when ``settings.broker == "redis"`` so several ``esv serve``
  processes share one count. Refused attempts are not counted, so waiting ``retryAfter`` works.
- The cost of a query is an estimate from its text: each field costs 1, and a field taking
  ``first`` multiplies its selection by the page size it asks for (or the largest page).
- A request body is capped (``max_body_bytes``, 413), and so are the nesting depth and list
  lengths of GraphQL variables (VARIABLES_TOO_DEEP, VARIABLES_TOO_LONG) before any is coerced.
- The client address is the peer's unless the peer is a configured proxy (``trusted_proxies``).
- In production, the public (and applicants, whom anyone can become) may not introspect.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from graphql import (FieldNode, FragmentSpreadNode, GraphQLError, GraphQLNamedType, InlineFragmentNode,
                     IntValueNode, OperationDefinitionNode, OperationType, SelectionSetNode, StringValueNode,
                     ValidationRule, VariableNode, get_named_type, is_introspection_type)
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types import Info

from esupervision.models.clocks import timesource
from esupervision.models.access.scope import Role
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.settings import Settings, get_settings

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- rate limits


@dataclass(frozen=True)
class Window:
    key: str
    limit: int
    seconds: float


class SlidingWindows(Protocol):
    def hit(self, windows: list[Window], now: float) -> float:
        """Count one attempt in every window if all have room and answer 0; else count nothing
        and answer the seconds until all have room."""


class MemoryWindows:
    """Sliding windows of one process (the embedded default)."""

    SWEEP_EVERY = 10_000

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._longest = 0.0
        self._until_sweep = self.SWEEP_EVERY

    def hit(self, windows: list[Window], now: float) -> float:
        with self._lock:
            self._sweep(windows, now)
            wait = 0.0
            for w in windows:
                log_ = self._hits.setdefault(w.key, deque())
                while log_ and log_[0] <= now - w.seconds:
                    log_.popleft()
                if len(log_) >= w.limit:
                    wait = max(wait, log_[len(log_) - w.limit] + w.seconds - now)
            if wait > 0:
                return wait
            for w in windows:
                self._hits[w.key].append(now)
            return 0.0

    def _sweep(self, windows: list[Window], now: float) -> None:
        # Keys of identities that stopped trying would otherwise stay in memory for good.
        self._longest = max(self._longest, *(w.seconds for w in windows))
        self._until_sweep -= 1
        if self._until_sweep > 0:
            return
        self._until_sweep = self.SWEEP_EVERY
        stale = [key for key, hits in self._hits.items() if not hits or hits[-1] <= now - self._longest]
        for key in stale:
            del self._hits[key]


# Check every window, then count in all or none: atomic in Redis, so processes never race.
_REDIS_HIT = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local seconds = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - seconds)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + seconds - now)
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 + 2 * i]) * 1000))
end
return '0'
"""


class RedisWindows:
    """Sliding windows shared by every process that uses the same Redis (sorted sets of instants)."""

    def __init__(self, url: str, prefix: str = "esv:rate:") -> None:
        import redis

        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self.client.register_script(_REDIS_HIT)
        # A Redis outage must not lock everyone out: this process keeps limiting on its own.
        self._fallback = MemoryWindows()

    def hit(self, windows: list[Window], now: float) -> float:
        import redis

        try:
            answer = self._script(keys=[self.prefix + w.key for w in windows],
                                  args=[now, uuid.uuid4().hex, *[v for w in windows for v in (w.limit, w.seconds)]])
        except redis.RedisError as exc:
            log.warning("rate limits fall back to this process: Redis unavailable (%s)", exc)
            return self._fallback.hit(windows, now)
        return float(answer)


def windows_for(settings: Settings) -> SlidingWindows:
    if settings.broker == "redis":
        return RedisWindows(settings.redis_url)
    return MemoryWindows()


_process_windows: SlidingWindows | None = None


def _windows(context: Any) -> SlidingWindows:
    """The app's windows, made on first use: one per application, so two apps in one process
    (tests) count apart while every request of one app shares them."""
    app = getattr(getattr(context, "request", None), "app", None)
    state = getattr(app, "state", None)
    if state is not None:
        windows = getattr(state, "rate_windows", None)
        if windows is None:
            windows = state.rate_windows = windows_for(get_settings())
        return windows
    global _process_windows
    if _process_windows is None:
        _process_windows = windows_for(get_settings())
    return _process_windows


def client_ip(context: Any) -> str:
    # The peer as the server saw it; behind a proxy named in ESV_TRUSTED_PROXIES, uvicorn puts
    # the client that proxy saw here (``server_options``); nothing else should be trusted.
    client = getattr(getattr(context, "request", None), "client", None)
    return client.host if client else "unknown"


def _digest(value: str) -> str:
    # Keys stay short and carry no personal data, whatever the caller typed.
    return hashlib.sha256(value.encode()).hexdigest()[:24]


async def check_rate(info: Info, action: str, identity: str) -> None:
    """Count one ``action`` attempt (login, loginWithCode, requestLoginCode) for ``identity``
    (a username or phone) and the client IP; over a limit answers RATE_LIMITED with
    ``retryAfter`` seconds (also as the HTTP Retry-After header)."""
    settings = get_settings()
    who = _digest(identity.strip().lower())
    windows = [
        Window(f"{action}:id:{who}:m", settings.rate_limit_per_minute, 60),
        Window(f"{action}:id:{who}:h", settings.rate_limit_per_hour, 3600),
        Window(f"auth:ip:{_digest(client_ip(info.context))}:m", settings.rate_limit_ip_per_minute, 60),
    ]
    limiter = _windows(info.context)
    now = timesource.now().timestamp()
    wait = (await info.context.call(limiter.hit, windows, now) if isinstance(limiter, RedisWindows)
            else limiter.hit(windows, now))
    if wait <= 0:
        return
    seconds = max(1, math.ceil(wait))
    response = getattr(info.context, "response", None)
    if response is not None and hasattr(response, "headers"):
        response.headers["Retry-After"] = str(seconds)
    raise DomainError(ErrorCode.RATE_LIMITED, f"尝试过于频繁，请 {seconds} 秒后再试 too many attempts; retry later",
                      retryAfter=seconds)


# ----------------------------------------------------------------------------- query cost and size


def _first_argument(node: FieldNode, variables: Mapping[str, Any], largest: int) -> int:
    for argument in node.arguments or ():
        if argument.name.value != "first":
            continue
        value: Any = None
        if isinstance(argument.value, IntValueNode):
            value = int(argument.value.value)
        elif isinstance(argument.value, VariableNode):
            value = variables.get(argument.value.name.value)
        if isinstance(value, int) and not isinstance(value, bool):
            # An oversized page is refused by its resolver (PAGE_TOO_LARGE), not priced here.
            return max(1, min(value, largest))
    return largest


def query_cost_rule(limit: int, largest_page: int, variables: Mapping[str, Any]) -> type[ValidationRule]:
    """A validation rule refusing operations whose estimated cost is over ``limit``."""

    class QueryCost(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            schema = self.context.schema
            root = {OperationType.QUERY: schema.query_type, OperationType.MUTATION: schema.mutation_type,
                    OperationType.SUBSCRIPTION: schema.subscription_type}.get(node.operation)
            if root is None:
                return
            cost = self._cost(node.selection_set, root, ())
            if cost > limit:
                self.report_error(GraphQLError(
                    f"查询过于复杂（估算代价 {cost}，上限 {limit}），请减少字段或每页条数 query too complex",
                    node, extensions={"code": str(ErrorCode.QUERY_TOO_COMPLEX), "cost": cost, "maxCost": limit}))

        def _cost(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None,
                  fragments: tuple[str, ...]) -> int:
            if selection_set is None:
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    field = getattr(parent, "fields", {}).get(selection.name.value)
                    if field is None:     # __typename, or an unknown field that validation reports
                        total += 1
                        continue
                    children = self._cost(selection.selection_set, get_named_type(field.type), fragments)
                    pages = _first_argument(selection, variables, largest_page) if "first" in field.args else 1
                    total += 1 + pages * children
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    target = self.context.schema.get_type(condition.name.value) if condition else parent
                    total += self._cost(selection.selection_set, target, fragments)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.context.get_fragment(name)
                    if fragment is None or name in fragments:   # cycles are reported by validation
                        continue
                    target = self.context.schema.get_type(fragment.type_condition.name.value)
                    total += self._cost(fragment.selection_set, target, (*fragments, name))
            return total

    return QueryCost


def has_nul(value: Any) -> bool:
    """Whether a variable value holds a NUL character anywhere (strings, keys, lists, objects)."""
    pending = [value]
    while pending:   # a loop, not recursion: variables may nest deeper than Python's stack
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return False


def variables_refusal(variables: Mapping[str, Any] | None, *, max_depth: int, max_list: int) -> GraphQLError | None:
    """The error for variables nested deeper than ``max_depth`` lists and objects, or holding a
    list longer than ``max_list`` (VARIABLES_TOO_DEEP, VARIABLES_TOO_LONG); None if they fit."""
    pending: list[tuple[Any, int]] = [(value, 1) for value in (variables or {}).values()
                                      if isinstance(value, (Mapping, list))]
    while pending:
        value, depth = pending.pop()
        if depth > max_depth:
            return too_deep_error(max_depth)
        children = value.values() if isinstance(value, Mapping) else value
        if isinstance(value, list) and len(value) > max_list:
            return GraphQLError(f"变量中的列表过长（{len(value)} 项，至多 {max_list} 项） a list in the variables has "
                                f"{len(value)} items, at most {max_list}",
                                extensions={"code": str(ErrorCode.VARIABLES_TOO_LONG), "maxLength": max_list,
                                            "length": len(value)})
        pending.extend((child, depth + 1) for child in children if isinstance(child, (Mapping, list)))
    return None


def variables_shape_rule(variables: Mapping[str, Any], settings: Settings) -> type[ValidationRule]:
    """A validation rule applying ``variables_refusal`` (before any variable is coerced)."""
    refusal = variables_refusal(variables, max_depth=settings.max_variable_depth,
                                max_list=settings.max_variable_list)

    class VariablesShape(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            if refusal is not None:
                self.report_error(GraphQLError(refusal.message, node, extensions=refusal.extensions))

    return VariablesShape


def no_nul_rule(variables: Mapping[str, Any]) -> type[ValidationRule]:
    """A validation rule refusing NUL characters in any string, literal or variable: PostgreSQL
    text cannot hold them, and no real input has them (BAD_INPUT on both engines alike)."""
    message = "文本中不能含有 NUL 字符 text must not contain NUL characters"

    class NoNul(ValidationRule):
        reported = False

        def _report(self, node: Any) -> None:
            if not self.reported:
                self.reported = True
                self.report_error(GraphQLError(message, node, extensions={"code": str(ErrorCode.BAD_INPUT)}))

        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            if "\x00" in node.value:
                self._report(node)

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            if has_nul(variables):
                self._report(node)

    return NoNul


class QueryLimits(SchemaExtension):
    """Refuses oversized documents before parsing (QUERY_TOO_LARGE), expensive operations
    before executing them (QUERY_TOO_COMPLEX), and strings no database can store (BAD_INPUT)."""

    def on_operation(self) -> Iterator[None]:
        settings = get_settings()
        context = self.execution_context
        context.parse_options["max_tokens"] = settings.max_query_tokens
        variables = context.variables or {}
        shape = variables_shape_rule(variables, settings)
        context.validation_rules = (*context.validation_rules, shape, no_nul_rule(variables),
                                    query_cost_rule(settings.max_query_cost, settings.max_page_size, variables))
        yield
        result = context.result
        if result is not None and getattr(result, "errors", None):
            result.errors = [_token_error(e, settings.max_query_tokens) for e in result.errors]


def _token_error(error: GraphQLError, limit: int) -> GraphQLError:
    if "Document contains more than" not in error.message:
        return error
    return GraphQLError(f"查询过长（超过 {limit} 个词法单元） query has more than {limit} tokens",
                        extensions={"code": str(ErrorCode.QUERY_TOO_LARGE), "maxTokens": limit})


# ----------------------------------------------------------------------------- introspection

# Roles anyone can take on: in production they get answers, not a map of the schema.
NO_INTROSPECTION = frozenset({Role.PUBLIC, Role.APPLICANT})


class _NoIntrospection(ValidationRule):
    """Like graphql-core's NoSchemaIntrospectionCustomRule, with our error code, once per
    document; ``_service`` (the federation SDL) is the same map and is refused too."""

    reported = False

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if self.reported:
            return
        named = get_named_type(self.context.get_type())
        if (named is not None and is_introspection_type(named)) or node.name.value == "_service":
            self.reported = True
            self.report_error(GraphQLError(
                "内省查询未开放，请登录后再试 introspection is disabled for this role", node,
                extensions={"code": str(ErrorCode.INTROSPECTION_DISABLED)}))


class IntrospectionPolicy(SchemaExtension):
    """In production, the public and applicants may not introspect; staff and department
    systems (who write clients against the schema) may. Elsewhere everyone may."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        viewer_context = context.context
        if get_settings().environment == "production":
            viewer = getattr(viewer_context, "viewer", None)
            refused = (viewer is None or viewer.role in NO_INTROSPECTION
                       or getattr(viewer_context, "auth_error", None) is not None)
            if refused:
                context.validation_rules = (*context.validation_rules, _NoIntrospection)
        yield


# ----------------------------------------------------------------------------- request bodies and proxies


class JSONTooDeep(json.JSONDecodeError):
    """A request's JSON nested deeper than the parsers go (a WebSocket handler closes on it as on
    any JSON it cannot read; ``RequestRefused`` answers an HTTP request)."""

    def __init__(self, document: str | bytes) -> None:
        super().__init__("JSON nested too deeply", document if isinstance(document, str) else "", 0)


class RequestRefused(Exception):
    """A request answered with one GraphQL error before it is executed."""

    def __init__(self, error: GraphQLError) -> None:
        super().__init__(error.message)
        self.error = error


def decode_request_json(data: str | bytes) -> object:
    """A request's JSON: orjson (as the fast path parses it), else json for what orjson refuses
    (NaN, integers past 64 bits); nesting past either parser's depth raises ``JSONTooDeep``."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc):
            raise JSONTooDeep(data) from exc
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise JSONTooDeep(data) from exc


def too_deep_error(limit: int) -> GraphQLError:
    return GraphQLError(f"变量嵌套过深（至多 {limit} 层） variables nested deeper than {limit} levels",
                        extensions={"code": str(ErrorCode.VARIABLES_TOO_DEEP), "maxDepth": limit})


class BodyTooLarge(Exception):
    """A request body went past the limit while it was being read."""


def too_large_answer(limit: int) -> JSONResponse:
    return JSONResponse({"data": None, "errors": [{
        "message": f"请求体过大（上限 {limit} 字节） request body larger than {limit} bytes",
        "extensions": {"code": str(ErrorCode.REQUEST_TOO_LARGE), "maxBytes": limit}}]}, status_code=413)


class BodyLimit:
    """Pure ASGI middleware: a request body over ``max_bytes`` is answered 413 with a JSON error,
    by its Content-Length before a byte is read, or as soon as a chunked body passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for key, value in scope["headers"]:
            if key == b"content-length":
                if value.isdigit() and int(value) > limit:
                    await too_large_answer(limit)(scope, receive, send)
                    return
                break
        seen, started = 0, False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:   # nothing sensible left to say: the answer is under way
                raise
            await too_large_answer(limit)(scope, receive, send)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options that follow the settings: forwarded headers (X-Forwarded-For, -Proto)
    believed only from ``trusted_proxies`` (none by default, whatever FORWARDED_ALLOW_IPS says),
    so that nobody chooses the client address the per-address limits count; WebSocket messages
    capped like request bodies."""
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or [],
            "ws_max_size": settings.max_body_bytes}
