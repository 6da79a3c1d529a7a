"""The Starlette application: GraphQL at /graphql (GraphiQL in a browser, WebSocket
subscriptions on the same path), health, Prometheus metrics and the JSON overview.

Endpoints are plain functions where they touch the database: Starlette runs them in its thread
pool, so database calls never block the event loop.
"""
from __future__ import annotations

import hmac
import time
import uuid
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from cross_web import HTTPException
from strawberry.asgi import GraphQL
from strawberry.types.unset import UNSET, UnsetType

from esupervision.api.admission import watch
from esupervision.api.auth import viewer_for_request
from esupervision.api.context import Context
from esupervision.api.fastpath import CompiledPagesFront
from esupervision.api.pages import front_door, page_routes
from esupervision.api.limits import BodyLimit, JSONTooDeep, RequestRefused, decode_request_json, too_deep_error
from esupervision.api.idempotency import IdempotentMutations
from esupervision.api.ledger import ledger_routes
from esupervision.api.replication import replication_routes
from esupervision.api.video import video_routes
from esupervision.api.live import LiveTransportWSHandler, LiveWSHandler
from esupervision.api.schema import schema
from esupervision.api.schema.supervision.publication import report_pdf_route
from esupervision.api.schema.supervision.statistics import statistics_export_route
from esupervision.api.warmup import warmed_up
from esupervision.api.webhooks import twilio_routes
from esupervision.notify.aliyun_reports import aliyun_report_routes
from esupervision.notify.aliyun_sms_up import aliyun_sms_up_routes
from esupervision.notify.cti import cti_routes
from esupervision.models.clocks import timesource
from esupervision.models.clocks.lights_query import overview
from esupervision.settings import get_settings
from esupervision.workers import runtime


class Metrics:
    """Request counts and latencies for /metrics (one registry per app, so tests stay apart)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("esv_http_requests_total", "HTTP requests", ["path", "status"],
                                registry=self.registry)
        self.latency = Histogram("esv_http_request_seconds", "HTTP request latency", ["path"],
                                 registry=self.registry)


class _Credentials:
    """Credentials from ``connection_init`` in the shape ``viewer_for_request`` reads."""

    def __init__(self, authorization: str) -> None:
        self.headers = {"authorization": authorization}


def credentials_from_params(params: Any) -> str | None:
    """An Authorization value from a ``connection_init`` payload: ``Authorization`` (also nested
    under ``headers``) as in HTTP; a bare ``token`` / ``accessToken`` is a bearer token and
    ``apiKey`` a department system's key."""
    if not isinstance(params, dict):
        return None
    fields = {str(k).lower(): v for k, v in params.items()}
    if isinstance(fields.get("headers"), dict):
        fields = {**{str(k).lower(): v for k, v in fields["headers"].items()}, **fields}
    for key, scheme in (("authorization", ""), ("accesstoken", "Bearer "), ("token", "Bearer "),
                        ("apikey", "ApiKey ")):
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            return scheme + value.strip()
    return None


class GraphQLApp(GraphQL):
    # Known lightChanged documents are answered once per message and kind of subscriber (api/live.py).
    graphql_transport_ws_handler_class = LiveTransportWSHandler
    graphql_ws_handler_class = LiveWSHandler

    def __init__(self, engine: Engine, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.engine = engine

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        viewer, error = await viewer_for_request(self.engine, request)
        context = Context(engine=self.engine, viewer=viewer, request=request, response=response,
                          request_id=request_id, auth_error=error)
        if isinstance(request, WebSocket):
            context.connection_params = None  # type: ignore[attr-defined]  (filled by connection_init)
            # Disabled accounts and revoked keys stop hearing: the viewer is looked up again.
            context.admission = watch(self.engine, request, context)  # type: ignore[attr-defined]
        return context

    def decode_json(self, data: str | bytes) -> object:
        return decode_request_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except JSONTooDeep as exc:
            raise RequestRefused(too_deep_error(get_settings().max_variable_depth)) from exc
        except ValueError as exc:   # json.JSONDecodeError, as Strawberry answers it
            raise HTTPException(400, "Unable to parse request body as JSON") from exc

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context, root_value)
        except RequestRefused as refused:
            # Refused before any operation: a GraphQL error with its code, never a bare 500.
            error = refused.error.formatted
            error["extensions"] = {**error.get("extensions", {}),
                                   "requestId": request.headers.get("x-request-id") or uuid.uuid4().hex}
            return JSONResponse({"data": None, "errors": [error]})

    def encode_json(self, data: object) -> str:
        # UTF-8 as the compiled pages send it (api.fastpath), at a fraction of json.dumps' cost;
        # text, not bytes: WebSocket messages go out as text frames, as clients expect.
        return orjson.dumps(data).decode()

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """A browser cannot set headers on a WebSocket: its credentials come in connection_init."""
        authorization = credentials_from_params(getattr(context, "connection_params", None))
        if authorization is not None:
            context.viewer, context.auth_error = await viewer_for_request(self.engine, _Credentials(authorization))
        return UNSET


def create_app(engine: Engine, *, warm_up: bool = False) -> Starlette:
    """The app; ``warm_up`` (``esv serve``): prepare what the first requests would pay for before
    uvicorn opens the socket (``api.warmup``)."""
    metrics = Metrics()
    # Committed announcements reach this process's subscribers (with Redis, every process's).
    runtime.channel()

    def healthz(_: Request) -> JSONResponse:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # the database is the one thing we cannot work without
            return JSONResponse({"status": "error", "database": exc.__class__.__name__}, 503)
        return JSONResponse({"status": "ok", "database": engine.dialect.name,
                             "now": timesource.now().isoformat()})

    def overview_json(_: Request) -> JSONResponse:
        with Session(engine) as session:
            body = overview(session, now=timesource.now())
        return JSONResponse(body)

    def metrics_endpoint(request: Request) -> Response:
        # Only for the scraper holding ESV_METRICS_TOKEN; without one, not served at all.
        token = get_settings().metrics_token
        if not token:
            return PlainTextResponse("Not Found", 404)
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {token}".encode()):
            return PlainTextResponse("需要监控令牌 metrics token required", 401, headers={"WWW-Authenticate": "Bearer"})
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # GraphiQL is a development tool; production serves the API only.
    graphql = GraphQLApp(engine, graphql_ide=None if get_settings().environment == "production" else "graphiql")
    # Known case pages skip Strawberry's request pipeline; everything else reaches it unchanged.
    front = CompiledPagesFront(graphql, engine, schema)
    app = Starlette(routes=[
        Route("/healthz", healthz),
        Route("/metrics", metrics_endpoint),
        Route("/overview", overview_json),
        # Delivery receipts: recorded, and published so staff see their notices' status live.
        *twilio_routes(engine, publish=runtime.channel().publish),
        *aliyun_report_routes(engine, get_settings(), publish=runtime.channel().publish),
        *aliyun_sms_up_routes(engine, get_settings()),   # what people text back to Aliyun's numbers
        *cti_routes(engine, get_settings()),   # the case-status line of a mainland number (CTI gateway)
        report_pdf_route(engine),   # /reports/{id}.pdf: the signed links of report SMS
        statistics_export_route(engine),   # /exports/statistics.xlsx: signed links of Statistics.excelUrl
        *ledger_routes(engine),   # /ledger/...: signed tree heads and proofs of the transparency log
        *replication_routes(engine),   # /ledger/{center}/events, /replication/catalogue: for the city
        *video_routes(),   # /video/...: HLS streams and recordings from ESV_VIDEO_DIR (电子眼)
        # /graphql itself for HTTP and WebSocket (clients do not follow a redirect on POST);
        # the mount keeps /graphql/ working too.
        Route("/graphql", front),
        WebSocketRoute("/graphql", graphql),
        Mount("/graphql", front),
        # The pages (web/dist): console, big screen, window board; a browser at / goes to the console.
        *page_routes(),
        Route("/", front_door(overview_json)),
    ], middleware=[Middleware(MeasureRequests, metrics=metrics),
                    # Bodies over ESV_MAX_BODY_BYTES: 413 before anything reads them (api/limits.py).
                    Middleware(BodyLimit, max_bytes=get_settings().max_body_bytes),
                    # Idempotency-Key on mutations: a retry gets the first answer (api/idempotency.py).
                    Middleware(IdempotentMutations, engine=engine)], lifespan=warmed_up if warm_up else None)
    app.state.metrics = metrics
    app.state.compiled_pages = front
    return app


def app_from_settings() -> Starlette:
    """The app of one process of ``esv serve --workers N``: the database and the case-time speed
    from the settings (each process reads them itself)."""
    from esupervision.db import get_engine
    from esupervision.models import tables  # noqa: F401  (registers every table)
    from esupervision.production import startup_problems
    from esupervision.redaction import install as redact_logs
    settings = get_settings()
    redact_logs(settings)
    if settings.environment == "production" and (problems := startup_problems(settings, get_engine())):
        raise SystemExit("refusing to start in production / 生产环境拒绝启动: "
                         + "; ".join(str(problem) for problem in problems))
    speed = settings.speed
    if speed != 1:
        timesource.install(timesource.SpeedTime(speed))
    return create_app(get_engine(), warm_up=True)   # warmed up before this process accepts


KNOWN_PATHS = ("/graphql", "/healthz", "/overview", "/metrics")


class MeasureRequests:
    """Pure ASGI middleware: counts and times HTTP requests by path and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = scope["path"].rstrip("/") or "/"
            label = path if path in KNOWN_PATHS else "other"
            self.metrics.requests.labels(label, str(status["code"])).inc()
            self.metrics.latency.labels(label).observe(time.perf_counter() - started)
