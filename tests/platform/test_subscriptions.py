"""Subscriptions against real ``esv serve`` processes, through a client we did not write (``gql``
over WebSockets): light changes turned by the server's scheduler and case events caused through
GraphQL arrive live, by role; a subscriber that reconnects with its last cursor misses nothing and
gets nothing twice; both subprotocols; and with Redis, what happens on one process reaches a
subscriber on another."""
from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from esupervision.db import make_engine
from tests.builders import build_city
from tests.conftest import _database
from tests.gql import create_accounts
from tests.servers import Server, free_port, serving  # noqa: F401

pytestmark = pytest.mark.slow

TRANSPORT_WS = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL   # graphql-transport-ws
LEGACY_WS = WebsocketsTransport.APOLLO_SUBPROTOCOL         # graphql-ws
WAIT_S = 20

CASE_EVENTS = """
subscription ($number: String!, $after: String) {
  caseEvents(number: $number, after: $after) { ledgerId cursor kind status occurredAt recordedAt data }
}"""
LIGHT_CHANGED = """
subscription ($filter: LightChangeFilter, $after: String) {
  lightChanged(filter: $filter, after: $after) {
    ledgerId cursor light previous subjectType number departmentId windowId dueInstant announcedAt
    case { number status department { code } }
  }
}"""
# Plain fields only: answered by the fan-out (api/live.py), not graphql-core per subscriber.
LIGHT_PLAIN = """
subscription ($filter: LightChangeFilter, $after: String) {
  lightChanged(filter: $filter, after: $after) { ledgerId cursor light previous number windowId dueInstant }
}"""


# ----------------------------------------------------------------------------- servers

def seed_city(database_url: str) -> dict[str, str]:
    """tests.builders' city and accounts, written straight to the server's database."""
    engine = make_engine(database_url)
    try:
        build_city(engine)
        return create_accounts(engine)
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------- a subscriber

class Subscriber:
    """One subscription in a thread of its own: results (or the error that ended it) queue up
    for the test to take, in order."""

    def __init__(self, ws_url: str, query: str, variables: dict[str, Any], *, token: str | None = None,
                 subprotocol: str = TRANSPORT_WS) -> None:
        self.transport = WebsocketsTransport(
            url=ws_url, subprotocols=[subprotocol],
            init_payload={"Authorization": f"Bearer {token}"} if token else {})
        self.request = GraphQLRequest(query, variable_values=variables)
        self.results: queue.Queue[Any] = queue.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        assert self._started.wait(10)

    async def _run(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._started.set()
        try:
            async with Client(transport=self.transport) as session:
                pump = asyncio.create_task(self._pump(session))
                stop = asyncio.create_task(self._stop.wait())
                await asyncio.wait({pump, stop}, return_when=asyncio.FIRST_COMPLETED)
                pump.cancel()
                stop.cancel()
        except Exception as exc:  # noqa: BLE001  (handed to the test)
            self.results.put(exc)

    async def _pump(self, session: Any) -> None:
        try:
            async for result in session.subscribe(self.request):
                self.results.put(next(iter(result.values())))
        except Exception as exc:  # noqa: BLE001
            self.results.put(exc)

    def take(self, count: int = 1, timeout: float = WAIT_S) -> list[dict[str, Any]]:
        taken = []
        deadline = time.monotonic() + timeout
        for _ in range(count):
            try:
                item = self.results.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"got {len(taken)} of {count} messages in {timeout} s: {taken}") from None
            if isinstance(item, Exception):
                raise item
            taken.append(item)
        return taken

    def take_until(self, done: Any, timeout: float = WAIT_S) -> list[dict[str, Any]]:
        """Messages up to and including the first for which ``done(message)`` holds."""
        taken: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not taken or not done(taken[-1]):
            taken += self.take(1, max(0.1, deadline - time.monotonic()))
        return taken

    def quiet(self, seconds: float) -> list[Any]:
        """Whatever arrives within ``seconds`` (expected: nothing)."""
        time.sleep(seconds)
        extra = []
        while not self.results.empty():
            extra.append(self.results.get())
        return extra

    def close(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:   # it closed meanwhile: the subscription had ended
                pass
        self._thread.join(15)


@contextmanager
def subscribed(*args: Any, **kwargs: Any) -> Iterator[Subscriber]:
    subscriber = Subscriber(*args, **kwargs)
    try:
        yield subscriber
    finally:
        subscriber.close()


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ``esv serve`` (with its scheduler) per engine over tests.builders' city."""
    folder = tmp_path_factory.mktemp(f"subscriptions-{request.param}")
    with _database(request.param, folder) as url, serving(url, folder) as server:
        server.tokens["apikey"] = seed_city(url)["apikey"]
        yield server


def _number(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def accept_case(server: Server, number: str, *, due_in: float | None = None, window: bool = True) -> None:
    """A case accepted at window 1 by the market department's system; with ``due_in`` its deadline
    is fixed by the source that many seconds ahead, so the server's scheduler turns it red then."""
    now = datetime.now(timezone.utc)
    attributes = {"due_at": (now + timedelta(seconds=due_in)).isoformat()} if due_in is not None else {}
    event = {"sourceEventId": f"accept-{number}", "caseNumber": number, "action": "ACCEPT",
             "occurredAt": (now - timedelta(seconds=5)).isoformat(), "centerCode": "C01",
             "itemCode": "SCJ-001", "applicantName": "李华", "attributes": attributes}
    if window:
        event.update(windowCode="W01", staffCode="S01")
    result = server.graphql("mutation($e: [ReportedEventInput!]!) { reportCaseEvents(events: $e) "
                            "{ status code message } }", {"e": [event]}, api_key=server.tokens["apikey"])
    assert result["reportCaseEvents"][0]["status"] == "accepted", result


def act(server: Server, mutation: str, number: str, **kw: str) -> None:
    """A transition by the market department's leader (its cases; supervision does no casework,
    DESIGN decision 9)."""
    args = "".join(f", {k}: {v}" for k, v in kw.items())
    server.graphql(f'mutation {{ {mutation}(number: "{number}"{args}) {{ status }} }}',
                   token=server.login("scj-leader"))


def history(server: Server, number: str) -> list[tuple[int, str]]:
    case = server.graphql('query($n: String!) { case(number: $n) { history { id kind } } }', {"n": number},
                          token=server.login("supervisor"))["case"]
    return [(e["id"], e["kind"]) for e in case["history"]]


# ----------------------------------------------------------------------------- case events

def test_case_events_arrive_live_and_resume_from_the_last_cursor(city: Server) -> None:
    number = _number("SUB")
    accept_case(city, number)
    variables = {"number": number, "after": "0"}
    with subscribed(city.ws_url, CASE_EVENTS, variables, token=city.login("supervisor")) as sub:
        [accepted] = sub.take()   # replayed from the ledger: the subscription is live now
        assert accepted["kind"] == "case.accept" and accepted["status"] == "ACCEPTED"
        act(city, "advanceCase", number)
        [advanced] = sub.take()
        assert advanced["kind"] == "case.advance"
        assert int(advanced["cursor"]) == advanced["ledgerId"] > accepted["ledgerId"]
    # Disconnected: two more events happen meanwhile.
    act(city, "requestSupplement", number, reason='"缺少营业执照"', missingMaterials='["营业执照副本"]')
    act(city, "receiveSupplement", number)
    with subscribed(city.ws_url, CASE_EVENTS, {"number": number, "after": advanced["cursor"]},
                    token=city.login("supervisor")) as sub:
        missed = sub.take(2)
        assert [m["kind"] for m in missed] == ["case.request_supplement", "case.supplement_received"]
        assert [m["status"] for m in missed] == ["SUPPLEMENT", "ACCEPTED"]
        act(city, "completeCase", number, result="APPROVED")
        [completed] = sub.take()
        assert completed["kind"] == "case.complete" and completed["status"] == "COMPLETED"
        # What follows the completion is new (the evaluation request), never an event again.
        after = sub.quiet(0.5)
        assert all(m["ledgerId"] > completed["ledgerId"] and not m["kind"].startswith("case.") for m in after)
    seen = [accepted, advanced, *missed, completed]
    case_kinds = [(i, k) for i, k in history(city, number) if k.startswith("case.")]
    assert [(m["ledgerId"], m["kind"]) for m in seen] == case_kinds


@pytest.mark.parametrize("city", ["sqlite"], indirect=True)   # the engine plays no part here
@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
def test_both_subprotocols_carry_the_same_messages(city: Server, subprotocol: str) -> None:
    number = _number("PROTO")
    accept_case(city, number)
    with subscribed(city.ws_url, CASE_EVENTS, {"number": number, "after": "0"},
                    token=city.login("scj-leader"), subprotocol=subprotocol) as sub:
        assert sub.take()[0]["kind"] == "case.accept"
        assert sub.transport.subprotocol == subprotocol   # what the server agreed to
        act(city, "advanceCase", number)
        assert sub.take()[0]["kind"] == "case.advance"


@pytest.mark.parametrize("city", ["sqlite"], indirect=True)
def test_a_case_outside_the_scope_is_refused_as_if_it_did_not_exist(city: Server) -> None:
    number = _number("SCOPE")
    accept_case(city, number)
    asked = [("zjj-leader", {"number": number}), ("zjj-leader", {"number": "NO-SUCH-CASE"}),
             (None, {"number": number}), ("supervisor", {"number": number, "after": "not-a-cursor"})]
    errors = []
    for username, variables in asked:
        token = city.login(username) if username else None
        with subscribed(city.ws_url, CASE_EVENTS, variables, token=token) as sub:
            with pytest.raises(TransportQueryError) as raised:
                sub.take()
            errors.append(raised.value.errors[0])
    assert [e["extensions"]["code"] for e in errors] == ["CASE_NOT_FOUND", "CASE_NOT_FOUND",
                                                         "UNAUTHENTICATED", "BAD_CURSOR"]
    assert errors[0]["message"].replace(number, "X") == errors[1]["message"].replace("NO-SUCH-CASE", "X")


# ----------------------------------------------------------------------------- light changes

def _red(number: str):  # noqa: ANN202
    return lambda m: m["number"] == number and m["light"] == "RED"


def test_light_changes_by_role_and_resumed_after_a_disconnect(city: Server) -> None:
    market, other = _number("LIGHT"), _number("LIGHTX")
    cases = {"subjectTypes": ["case"]}
    with ExitStack() as stack:
        sup = stack.enter_context(subscribed(city.ws_url, LIGHT_CHANGED, {"filter": cases, "after": "0"},
                                             token=city.login("supervisor")))
        window = stack.enter_context(subscribed(city.ws_url, LIGHT_CHANGED, {"filter": cases, "after": "0"},
                                                token=city.login("w01")))
        zjj = stack.enter_context(subscribed(city.ws_url, LIGHT_CHANGED, {"filter": cases, "after": "0"},
                                             token=city.login("zjj-leader")))
        public = stack.enter_context(subscribed(city.ws_url, LIGHT_CHANGED, {"filter": cases, "after": "0"}))
        accept_case(city, market, due_in=3)
        accept_case(city, other, due_in=3, window=False)   # the same department, no window
        seen = sup.take_until(_red(market))
        seen += sup.take_until(_red(other)) if not any(_red(other)(m) for m in seen) else []
        mine = [m for m in seen if m["number"] in (market, other)]
        red = next(m for m in mine if _red(market)(m))
        assert red["previous"] in ("WHITE", "YELLOW") and red["case"]["number"] == market
        assert red["case"]["department"]["code"] == "SCJ"
        assert datetime.fromisoformat(red["announcedAt"]) >= datetime.fromisoformat(red["dueInstant"])
        # Window staff get their window's case only; the public every change without the case.
        window_seen = window.take_until(_red(market))
        assert market in {m["number"] for m in window_seen} and other not in {m["number"] for m in window_seen}
        public_seen = public.take_until(lambda m: m["ledgerId"] >= red["ledgerId"])
        assert {m["ledgerId"] for m in mine if m["ledgerId"] <= red["ledgerId"]} <= {
            m["ledgerId"] for m in public_seen}
        assert all(m["number"] is None and m["case"] is None and m["windowId"] is None for m in public_seen)
        # Another department's leader hears nothing of the market department's cases.
        assert not [m for m in zjj.quiet(0.5) if isinstance(m, dict) and m["number"] in (market, other)]

    # Resume: a light turns while nobody listens; the last cursor brings exactly that one back.
    number = _number("RESUME")
    last = max(m["ledgerId"] for m in seen)
    accept_case(city, number, due_in=2)
    time.sleep(4)
    with subscribed(city.ws_url, LIGHT_CHANGED, {"filter": cases, "after": str(last)},
                    token=city.login("supervisor")) as again:
        resumed = again.take_until(_red(number))
        ids = [m["ledgerId"] for m in resumed]
        assert ids == sorted(set(ids)) and min(ids) > last
        assert datetime.fromisoformat(resumed[-1]["announcedAt"]) < datetime.now(timezone.utc)
        live = _number("LIVE")
        accept_case(city, live, due_in=2)
        after_resume = again.take_until(_red(live))
        assert not {m["ledgerId"] for m in after_resume} & set(ids)


@pytest.mark.parametrize("city", ["sqlite"], indirect=True)
@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
def test_plain_light_documents_through_the_fan_out_by_role(city: Server, subprotocol: str) -> None:
    number = _number("PLAIN")
    cases = {"subjectTypes": ["case"]}
    with subscribed(city.ws_url, LIGHT_PLAIN, {"filter": cases, "after": "0"}, token=city.login("w01"),
                    subprotocol=subprotocol) as window, \
            subscribed(city.ws_url, LIGHT_PLAIN, {"filter": cases, "after": "0"}, token=city.login("zjj-leader"),
                       subprotocol=subprotocol) as zjj, \
            subscribed(city.ws_url, LIGHT_PLAIN, {"filter": cases, "after": "0"}, subprotocol=subprotocol) as public:
        accept_case(city, number, due_in=3)
        seen = window.take_until(_red(number))
        red = seen[-1]
        assert red["previous"] in ("WHITE", "YELLOW") and red["windowId"] is not None
        public_seen = public.take_until(lambda m: m["ledgerId"] >= red["ledgerId"])
        assert red["ledgerId"] in {m["ledgerId"] for m in public_seen}
        assert all(m["number"] is None and m["windowId"] is None for m in public_seen)
        ids = [m["ledgerId"] for m in seen]
        assert ids == sorted(set(ids)) and all(m["cursor"] == str(m["ledgerId"]) for m in seen)
        assert not [m for m in zjj.quiet(0.5) if isinstance(m, dict) and m["number"] == number]


# ----------------------------------------------------------------------------- across processes

@pytest.mark.postgres_only
@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_an_event_on_one_process_reaches_a_subscriber_on_another(empty_db_url: str, redis_url: str,
                                                                 tmp_path: Path) -> None:
    env = {"ESV_BROKER": "redis", "REDIS_URL": redis_url}
    with serving(empty_db_url, tmp_path, env=env) as a:
        tokens = seed_city(empty_db_url)
        # B is itself two processes on one address (esv serve --workers 2), as production runs.
        with serving(empty_db_url, tmp_path, "--no-worker", "--workers", "2", env=env) as b:
            a.tokens["apikey"] = tokens["apikey"]
            number = _number("REDIS")
            accept_case(a, number)
            with subscribed(b.ws_url, CASE_EVENTS, {"number": number, "after": "0"},
                            token=b.login("supervisor")) as events, \
                    subscribed(b.ws_url, LIGHT_CHANGED, {"filter": {"subjectTypes": ["case"]}},
                               token=b.login("supervisor")) as lights, \
                    subscribed(b.ws_url, LIGHT_PLAIN, {"filter": {"subjectTypes": ["case"]}},
                               token=b.login("supervisor")) as plain:
                assert events.take()[0]["kind"] == "case.accept"
                act(a, "advanceCase", number)   # through process A
                assert events.take()[0]["kind"] == "case.advance"
                red = _number("REDLIGHT")
                accept_case(a, red, due_in=3)   # A's scheduler turns it red
                turned = lights.take_until(_red(red))
                assert turned[-1]["case"]["number"] == red
                assert plain.take_until(_red(red))[-1]["ledgerId"] == turned[-1]["ledgerId"]


def test_several_api_processes_need_redis_and_an_outside_worker(tmp_path: Path) -> None:
    import subprocess

    from tests.servers import esv
    for extra, env in ((["--workers", "2"], {"ESV_BROKER": "redis"}),
                       (["--workers", "2", "--no-worker"], {"ESV_BROKER": "inprocess"})):
        done = subprocess.run([esv(), "serve", "--port", str(free_port()), *extra], capture_output=True, text=True,
                              env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", **env}, timeout=60)
        assert done.returncode == 2 and "--workers needs --no-worker and ESV_BROKER=redis" in done.stderr, done


# ----------------------------------------------------------------------------- lost messages

def test_a_subscriber_that_lost_messages_catches_up_from_the_ledger(engine: Any, fixed_time: Any) -> None:
    """In process: a light turns while the channel drops its message; when the channel says it
    may have lost messages (as after a Redis reconnect), the subscriber gets it from the ledger."""
    from zoneinfo import ZoneInfo

    from esupervision.models.ledger import transaction
    from esupervision.models.ledger.transaction import set_publisher
    from esupervision.workers import runtime
    from esupervision.workers.lights import LightScheduler
    from tests.builders import accept
    from tests.gql import GraphQLClient

    shanghai = ZoneInfo("Asia/Shanghai")
    build_city(engine)
    create_accounts(engine)
    client = GraphQLClient(engine)
    token = client.login("supervisor")
    accept(engine, "LOST-1", datetime(2026, 11, 26, 9, 0, tzinfo=shanghai))  # yellow 12-03, red 12-04
    scheduler = LightScheduler(engine)
    channel = runtime.channel()
    previous = transaction._publisher
    set_publisher(channel.publish)
    try:
        with client.http.websocket_connect("/graphql", subprotocols=[TRANSPORT_WS]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            fixed_time.set(datetime(2026, 12, 3, 0, 0, 1, tzinfo=shanghai))
            scheduler.run_once()
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": LIGHT_CHANGED, "variables": {
                "filter": {"subjectTypes": ["case"]}, "after": "0"}}})
            yellow = ws.receive_json()["payload"]["data"]["lightChanged"]   # replayed: listening now
            assert (yellow["number"], yellow["light"]) == ("LOST-1", "YELLOW")
            set_publisher(None)   # the red is recorded but its message is lost
            fixed_time.set(datetime(2026, 12, 4, 0, 0, 1, tzinfo=shanghai))
            scheduler.run_once()
            set_publisher(channel.publish)
            channel.resync()
            red = ws.receive_json()["payload"]["data"]["lightChanged"]
            assert (red["number"], red["light"], red["previous"]) == ("LOST-1", "RED", "YELLOW")
            assert red["ledgerId"] > yellow["ledgerId"]
            ws.send_json({"id": "1", "type": "complete"})
    finally:
        set_publisher(previous)
