"""The ``lightChanged`` fan-out (api/live.py) answers exactly as the stock path: the same frames,
byte for byte, for the same documents, viewers and light changes — replayed from a cursor and
live — on both subprotocols; and it catches up from the ledger when the channel lost messages."""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from esupervision.api import live
from esupervision.api.app import GraphQLApp
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.cases.report import CaseAction
from tests.builders import accept, apply, build_city, event
from tests.gql import GraphQLClient, create_accounts

SHANGHAI = ZoneInfo("Asia/Shanghai")
TRANSPORT_WS, LEGACY_WS = "graphql-transport-ws", "graphql-ws"

# Every plain field, filter and cursor as variables.
PLAIN = """
subscription ($filter: LightChangeFilter, $after: String) {
  lightChanged(filter: $filter, after: $after) {
    ledgerId cursor light previous label subjectType subjectId number centerId departmentId windowId
    dueInstant announcedAt
  }
}"""
# Aliases, __typename, a repeated field and literal arguments.
ALIASED = """
subscription Lights {
  changes: lightChanged(after: "0", filter: {subjectTypes: ["case"], lights: [YELLOW, RED]}) {
    __typename id: ledgerId light number at: dueInstant light where: windowId
  }
}"""
# No cursor: live only.
LIVE = "subscription { lightChanged { ledgerId number light previous } }"

# (operation id, document, variables, the response key of the ledger id)
OPERATIONS = [
    ("live", LIVE, {}, "ledgerId"),
    ("plain", PLAIN, {"after": "0"}, "ledgerId"),
    ("cases", PLAIN, {"after": "0", "filter": {"subjectTypes": ["case"]}}, "ledgerId"),
    ("aliased", ALIASED, {}, "id"),
]
VIEWERS = ["supervisor", "admin", "scj-leader", "w01", None]   # None: the public


class StockApp(GraphQLApp):
    """The same view with Strawberry's own protocol handlers: every document the stock way."""

    graphql_transport_ws_handler_class = BaseGraphQLTransportWSHandler
    graphql_ws_handler_class = BaseGraphQLWSHandler


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


class Connection:
    """One WebSocket, the operations subscribed on it, and the frames each one got (raw text)."""

    def __init__(self, stack: ExitStack, client: TestClient, subprotocol: str, token: str | None) -> None:
        self.ws = stack.enter_context(client.websocket_connect("/graphql", subprotocols=[subprotocol]))
        self.legacy = subprotocol == LEGACY_WS
        self.frames: dict[str, list[str | bytes]] = {}
        self.completed: set[str] = set()
        self.ws.send_json({"type": "connection_init",
                           "payload": {"Authorization": f"Bearer {token}"} if token else {}})
        assert json.loads(self.raw())["type"] == "connection_ack"

    def raw(self) -> str | bytes:
        """The next frame as sent, text or binary (the view's JSON encoder decides)."""
        message = self.ws.receive()
        assert message["type"] == "websocket.send", message
        return message["text"] if message.get("text") is not None else message["bytes"]

    def subscribe(self, op_id: str, query: str, variables: dict[str, Any]) -> None:
        self.frames[op_id] = []
        self.ws.send_json({"id": op_id, "type": "start" if self.legacy else "subscribe",
                           "payload": {"query": query, "variables": variables}})

    def receive(self) -> tuple[str, dict[str, Any]]:
        text = self.raw()
        frame = json.loads(text)
        if frame["type"] == "complete":
            self.completed.add(frame["id"])
            return frame["id"], {}
        assert frame["type"] == ("data" if self.legacy else "next"), frame
        self.frames[frame["id"]].append(text)
        return frame["id"], frame["payload"]

    def payloads(self, op_id: str) -> list[dict[str, Any]]:
        return [json.loads(f)["payload"]["data"] for f in self.frames[op_id]]

    def until(self, done: Any) -> None:
        """Receive until ``done(frames)`` holds."""
        while not done(self.frames):
            self.receive()


def _last_light(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.max(LedgerEvent.id)).where(LedgerEvent.kind.like("light.%"))) or 0


@pytest.fixture
def city(engine: Engine, fixed_time: Any) -> Iterator[dict[str, Any]]:
    """Cases at the window (A), in the market department without a window (B), in the building
    department (C) and a late one (S) whose last change ends every run; the step clocks have
    turned already (what a cursor replays)."""
    from esupervision.models.ledger import transaction
    from esupervision.models.ledger.transaction import set_publisher
    from esupervision.workers import runtime
    from esupervision.workers.lights import LightScheduler

    build_city(engine)
    create_accounts(engine)
    # Numbers of their own: the process caches case scopes by number, and tables are reused.
    numbers = {key: f"FAN-{key}-{uuid.uuid4().hex[:6]}" for key in "ABCS"}
    fixed_time.set(_at(2026, 11, 26, 9, 0))
    accept(engine, numbers["A"], _at(2026, 11, 26, 9, 0))
    apply(engine, event(numbers["B"], CaseAction.ACCEPT, _at(2026, 11, 26, 9, 0), center_code="C01",
                        item_code="SCJ-001", applicant_name="王五"))
    accept(engine, numbers["C"], _at(2026, 11, 26, 9, 0), item="ZJJ-JOINT")
    accept(engine, numbers["S"], _at(2026, 11, 26, 9, 0), attributes={"due_at": "2026-12-20T00:00:00+08:00"})
    scheduler = LightScheduler(engine)
    previous = transaction._publisher
    set_publisher(runtime.channel().publish)
    try:
        fixed_time.set(_at(2026, 11, 28, 0, 0, 1))
        scheduler.run_once()   # the steps turn red: recorded before anyone subscribes
        yield {"scheduler": scheduler, "fixed_time": fixed_time, **numbers}
    finally:
        set_publisher(previous)


@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
def test_the_fan_out_sends_the_stock_frames(engine: Engine, city: dict[str, Any], subprotocol: str) -> None:
    scheduler, fixed_time = city["scheduler"], city["fixed_time"]
    fixed_time.set(_at(2026, 12, 3, 0, 0, 1))
    scheduler.run_once()   # A and B turn yellow: replayed too
    client = GraphQLClient(engine)
    tokens = {name: client.login(name) if name else None for name in VIEWERS}
    fast = TestClient(Starlette(routes=[WebSocketRoute("/graphql", GraphQLApp(engine))]))
    stock = TestClient(Starlette(routes=[WebSocketRoute("/graphql", StockApp(engine))]))
    with ExitStack() as stack:
        pairs = {}
        for name in VIEWERS:
            pairs[name] = [Connection(stack, app, subprotocol, tokens[name]) for app in (fast, stock)]
            for connection in pairs[name]:
                for op_id, query, variables, _ in OPERATIONS:
                    connection.subscribe(op_id, query, variables)
                # A replayed frame on each cursor: listening (the live one, subscribed first, too).
                connection.until(lambda frames: all(frames[o] for o in ("plain", "cases", "aliased")))
        assert live.fanout_members() == len(VIEWERS) * len(OPERATIONS)   # the fast side is fast

        for instant in (_at(2026, 12, 4, 0, 0, 1), _at(2026, 12, 18, 0, 0, 1), _at(2026, 12, 20, 0, 0, 1)):
            fixed_time.set(instant)
            scheduler.run_once()
        last = _last_light(engine)   # FAN-S turning: every viewer here may see it

        def heard_last(frames: dict[str, list[str]]) -> bool:
            return all(frames[op_id] and json.loads(frames[op_id][-1])["payload"]["data"][
                "changes" if op_id == "aliased" else "lightChanged"][key] == last
                for op_id, _, _, key in OPERATIONS)

        for name, connections in pairs.items():
            for connection in connections:
                connection.until(heard_last)
            quick, slow = connections
            for op_id, *_ in OPERATIONS:
                assert quick.frames[op_id] == slow.frames[op_id], (name, op_id)

        # What the frames say: scope and masking, not only sameness.
        def numbers(name: str | None, op_id: str) -> set[Any]:
            return {json.loads(f)["payload"]["data"]["lightChanged"]["number"] for f in pairs[name][0].frames[op_id]}
        assert numbers("supervisor", "cases") == {city[k] for k in "ABCS"}
        assert numbers("scj-leader", "cases") == {city[k] for k in "ABS"}
        assert numbers("w01", "cases") == {city[k] for k in "ACS"}   # the cases at its window
        assert numbers(None, "plain") == {None}
        public = [json.loads(f)["payload"]["data"]["lightChanged"] for f in pairs[None][0].frames["plain"]]
        assert all(m["windowId"] is None and m["subjectId"] is None for m in public)
        assert len(public) == len(pairs["supervisor"][0].frames["plain"])
        replayed = [json.loads(f)["payload"]["data"]["lightChanged"]["ledgerId"]
                    for f in pairs["supervisor"][0].frames["plain"]]
        assert replayed == sorted(set(replayed))   # in order, nothing twice
        aliased = json.loads(pairs["w01"][0].frames["aliased"][-1])["payload"]["data"]["changes"]
        assert list(aliased) == ["__typename", "id", "light", "number", "at", "where"]
    assert live.fanout_members() == 0   # every subscriber left with its connection


DECLINED = [
    ("case", "subscription { lightChanged(after: \"0\") { ledgerId case { number } } }", {}),
    ("cursor", PLAIN, {"after": "x"}),
    ("filter", PLAIN, {"filter": {"windowIds": ["nope"]}}),
    ("aliases", "subscription { lightChanged(after: \"0\") { "
                + " ".join(f"a{i}: ledgerId" for i in range(16)) + " } }", {}),
    ("fragment", "subscription { lightChanged(after: \"0\") { ...f } } fragment f on LightChange { ledgerId }", {}),
    ("unknown", "subscription { lightChanged { ledgerId nope } }", {}),
]


def _errors(frame: dict[str, Any]) -> list[dict[str, Any]]:
    """An "error" frame's errors (a list, or one error in the legacy protocol), or a result's."""
    payload = frame["payload"]
    if frame["type"] == "error":
        return payload if isinstance(payload, list) else [payload]
    return payload.get("errors") or []


def _first_answer(connection: Connection, op_id: str) -> dict[str, Any]:
    """The operation's first frame, without the request id (one per connection)."""
    while True:
        frame = json.loads(connection.raw())
        if frame.get("id") == op_id:
            break
    for error in _errors(frame):
        error.get("extensions", {}).pop("requestId", None)
    return frame


@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
def test_documents_it_does_not_know_get_the_stock_answer(engine: Engine, city: dict[str, Any],
                                                        subprotocol: str) -> None:
    """A ``case`` selection, a bad cursor or filter id, too many aliases, a fragment, an unknown
    field: answered or refused exactly as the stock view does, none of them by the fan-out."""
    token = GraphQLClient(engine).login("supervisor")
    fast = TestClient(Starlette(routes=[WebSocketRoute("/graphql", GraphQLApp(engine))]))
    stock = TestClient(Starlette(routes=[WebSocketRoute("/graphql", StockApp(engine))]))
    answered: dict[str, dict[str, Any]] = {}
    with ExitStack() as stack:
        quick, slow = (Connection(stack, app, subprotocol, token) for app in (fast, stock))
        for op_id, query, variables in DECLINED:
            answers = []
            for connection in (quick, slow):
                connection.subscribe(op_id, query, variables)
                answers.append(_first_answer(connection, op_id))
            assert answers[0] == answers[1], op_id
            assert live.fanout_members() == 0, op_id
            answered[op_id] = answers[0]
    codes = {op_id: [e.get("extensions", {}).get("code") for e in _errors(frame)] for op_id, frame in answered.items()}
    assert codes["cursor"] == ["BAD_CURSOR"] and codes["filter"] == ["BAD_INPUT"], codes
    assert codes["unknown"] == ["GRAPHQL_VALIDATION_FAILED"] and codes["aliases"], codes
    assert answered["case"]["payload"]["data"]["lightChanged"]["case"] is not None
    assert answered["fragment"]["payload"]["data"]["lightChanged"]["ledgerId"]


@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
def test_stopping_a_fast_subscription_leaves_the_fan_out(engine: Engine, city: dict[str, Any],
                                                         subprotocol: str) -> None:
    token = GraphQLClient(engine).login("supervisor")
    fast = TestClient(Starlette(routes=[WebSocketRoute("/graphql", GraphQLApp(engine))]))
    with ExitStack() as stack:
        connection = Connection(stack, fast, subprotocol, token)
        connection.subscribe("1", PLAIN, {"after": "0"})
        connection.until(lambda frames: frames["1"])
        assert live.fanout_members() == 1
        connection.ws.send_json({"id": "1", "type": "stop" if connection.legacy else "complete"})
        if connection.legacy:   # answered with "complete", as the stock handler does
            connection.until(lambda frames: "1" in connection.completed)
        connection.subscribe("2", PLAIN, {"after": "0"})   # the connection lives on
        connection.until(lambda frames: frames["2"])
        assert live.fanout_members() == 1   # the second only


def test_a_fast_subscriber_that_lost_messages_catches_up_from_the_ledger(engine: Engine,
                                                                        city: dict[str, Any]) -> None:
    from esupervision.models.ledger.transaction import set_publisher
    from esupervision.workers import runtime

    scheduler, fixed_time = city["scheduler"], city["fixed_time"]
    fixed_time.set(_at(2026, 12, 3, 0, 0, 1))
    scheduler.run_once()   # A and B turn yellow: replayed, so the subscription listens then
    client = GraphQLClient(engine)
    token = client.login("supervisor")
    fast = TestClient(Starlette(routes=[WebSocketRoute("/graphql", GraphQLApp(engine))]))
    channel = runtime.channel()
    with ExitStack() as stack:
        connection = Connection(stack, fast, TRANSPORT_WS, token)
        connection.subscribe("1", PLAIN, {"after": "0", "filter": {"subjectTypes": ["case"]}})
        connection.until(lambda frames: len(frames["1"]) == 2)
        assert live.fanout_members() == 1
        set_publisher(None)    # the reds are recorded, their messages lost
        fixed_time.set(_at(2026, 12, 4, 0, 0, 1))
        scheduler.run_once()
        set_publisher(channel.publish)
        channel.resync()
        connection.until(lambda frames: len(frames["1"]) == 4)
        got = [json.loads(f)["payload"]["data"]["lightChanged"] for f in connection.frames["1"]]
        assert sorted((m["number"], m["light"]) for m in got[2:]) == [(city["A"], "RED"), (city["B"], "RED")]
        assert [m["ledgerId"] for m in got] == sorted({m["ledgerId"] for m in got})


def test_a_failure_while_subscribing_is_answered_as_the_stock_path_answers(
        engine: Engine, city: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The database failing under a subscription: an INTERNAL_ERROR result (masked, no internals)
    and "complete", from the fan-out exactly as from the stock path."""
    from esupervision.api.schema import subscription

    async def failing(self: Any, after: int):  # noqa: ANN202
        raise RuntimeError("connection to server lost: secret internals")
        yield  # pragma: no cover - an async generator that fails on its first step

    monkeypatch.setattr(subscription._LightStream, "replay", failing)
    token = GraphQLClient(engine).login("supervisor")
    fast = TestClient(Starlette(routes=[WebSocketRoute("/graphql", GraphQLApp(engine))]))
    stock = TestClient(Starlette(routes=[WebSocketRoute("/graphql", StockApp(engine))]))
    answers = []
    with ExitStack() as stack:
        for app in (fast, stock):
            connection = Connection(stack, app, TRANSPORT_WS, token)
            connection.subscribe("1", PLAIN, {"after": "0"})
            first = _first_answer(connection, "1")
            for error in _errors(first):   # the request id is each connection's own
                error["message"] = re.sub(r"[0-9a-f]{32}", "<request>", error["message"])
            answers.append((first, json.loads(connection.raw())))
    assert answers[0] == answers[1]
    (first, then), _ = answers
    assert [e["extensions"]["code"] for e in _errors(first)] == ["INTERNAL_ERROR"]
    assert "secret" not in json.dumps(first) and then == {"id": "1", "type": "complete"}
