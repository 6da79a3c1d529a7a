"""Answers that match what happened: a committed mutation answers success whatever the live
fan-out does, and a retry with the same ``Idempotency-Key`` gets the first answer and creates
nothing twice (README "Retries and idempotency"; ``api/idempotency.py``, ``models/access/idempotency.py``).
"""
from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.db import make_engine
from esupervision.models.access.idempotency import IdempotencyKey
from esupervision.models.catalogue.catalogue import Center, Department, create_staff, create_window
from esupervision.models.ledger import transaction as transactions
from esupervision.models.ledger.transaction import set_publisher, transaction
from esupervision.models.notices.notice import Notice
from esupervision.models.supervision.orders import Urge
from esupervision.workers.channel import RESYNC, RedisChannel
from esupervision.models.cases.report import CaseAction
from esupervision.models.clocks import timesource
from tests.builders import apply, build_city, event
from tests.conftest import _database
from tests.gql import GraphQLClient, create_accounts
from tests.servers import serving

URGE = "mutation($n: String!, $m: String!) { urge(input: {caseNumber: $n, message: $m}) { number caseNumber } }"
STAFF_PHONE = "13900000009"


def staffed_window(engine) -> None:
    """Window W09 of the market department with one member of staff who has a mobile number, so
    an urge of its cases is one SMS."""
    with transaction(engine, actor="test") as tx:
        city = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        scj = tx.session.scalars(select(Department).where(Department.code == "SCJ")).one()
        window = create_window(tx, center=city, department=scj, code="W09", name="9号窗口")
        create_staff(tx, center=city, code="S09", name="周敏", department=scj, window=window, phone=STAFF_PHONE)


def accept_at_w09(engine, number: str, at) -> None:
    apply(engine, event(number, CaseAction.ACCEPT, at, center_code="C01", item_code="SCJ-001", window_code="W09",
                        staff_code="S09", applicant_name="李华"))


def counts(engine) -> tuple[int, int]:
    """(urges, SMS notices to the window's staff)."""
    with Session(engine) as s:
        return (s.scalar(select(func.count()).select_from(Urge)),
                s.scalar(select(func.count()).select_from(Notice).where(Notice.recipient.contains(STAFF_PHONE))))


@pytest.fixture
def city(engine, fixed_time):
    build_city(engine)
    staffed_window(engine)
    create_accounts(engine)
    accept_at_w09(engine, "IK-1", fixed_time.now())
    client = GraphQLClient(engine)
    client.tokens = {name: client.login(name) for name in ("supervisor", "admin")}
    return client


def post(client: GraphQLClient, variables: dict[str, Any], *, key: str | None, login: str = "supervisor",
         query: str = URGE) -> httpx.Response:
    headers = {"Authorization": f"Bearer {client.tokens[login]}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    response = client.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response


def test_a_retry_with_the_same_key_gets_the_first_answer_and_creates_nothing_twice(city, engine) -> None:
    # README "Retries and idempotency": same key, same request, same principal → the first answer, kept 24 h.
    first = post(city, {"n": "IK-1", "m": "请加快办理"}, key="k-1")
    assert not first.json().get("errors") and counts(engine) == (1, 1)
    again = post(city, {"n": "IK-1", "m": "请加快办理"}, key="k-1")
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert counts(engine) == (1, 1)
    # A key is its principal's: the center admin's own "k-1" is another request altogether.
    other = post(city, {"n": "IK-1", "m": "请加快办理"}, key="k-1", login="admin")
    assert other.json()["data"]["urge"]["number"] != first.json()["data"]["urge"]["number"]
    # Without a key every request is new.
    post(city, {"n": "IK-1", "m": "请加快办理"}, key=None)
    assert counts(engine) == (3, 3)


def test_the_same_key_with_another_request_is_refused(city, engine) -> None:
    # README "Retries and idempotency": the key names one request (document, variables, operation).
    post(city, {"n": "IK-1", "m": "请加快办理"}, key="k-2")
    body = post(city, {"n": "IK-1", "m": "请今日办结"}, key="k-2").json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert counts(engine) == (1, 1)


def test_a_request_that_changed_nothing_leaves_its_key_free(city, engine, fixed_time) -> None:
    # A refusal commits nothing, so it is not kept: the retry runs afresh (here, once the case exists).
    body = post(city, {"n": "IK-LATER", "m": "请加快办理"}, key="k-3").json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["CASE_NOT_FOUND"]
    accept_at_w09(engine, "IK-LATER", fixed_time.now())
    assert post(city, {"n": "IK-LATER", "m": "请加快办理"}, key="k-3").json()["data"]["urge"]["caseNumber"] == "IK-LATER"


def test_answers_that_carry_credentials_are_never_kept(city, engine) -> None:
    # README "Retries and idempotency": tokens and keys are shown once (api/idempotency.NEVER_STORED).
    login = 'mutation { login(username: "supervisor", password: "demo") { accessToken } }'
    assert post(city, {}, key="k-4", query=login).json()["data"]["login"]["accessToken"]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


# ----------------------------------------------------------------------------- the broker is down

class SwitchableProxy:
    """A TCP proxy to a server; ``close()`` drops every connection and closes the port, as a
    server that went down."""

    def __init__(self, port: int) -> None:
        self._target = ("127.0.0.1", port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass

    def close(self) -> None:
        self._listener.close()
        for s in self._sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@pytest.fixture
def redis_channel_then_down(redis_url: str) -> Iterator[tuple[RedisChannel, list[str]]]:
    """The channel on Redis (through a proxy), installed where transactions publish, then the
    proxy closed: Redis is down. Yields the channel and what its local listeners were told."""
    server = redis_url.split("//")[1].split("/")[0]
    proxy = SwitchableProxy(int(server.split(":")[1]))
    channel = RedisChannel(f"redis://127.0.0.1:{proxy.port}/{redis_url.rsplit('/', 1)[1]}",
                           prefix=f"esv-test-{uuid.uuid4().hex[:8]}:")
    heard: list[str] = []
    channel.subscribe(lambda topic, _message: heard.append(topic))
    previous = transactions._publisher
    set_publisher(channel.publish)
    proxy.close()
    try:
        yield channel, heard
    finally:
        set_publisher(previous)
        channel.close()


def test_with_redis_down_a_committed_urge_answers_success_and_is_not_sent_twice(city, engine,
                                                                                 redis_channel_then_down) -> None:
    # Decision 6 (a broker outage delays, never loses) and decision 4 (the ledger is the record): the
    # commit stands, so the answer is success and the client has no reason to retry.
    channel, heard = redis_channel_then_down
    body = post(city, {"n": "IK-1", "m": "请加快办理"}, key=None).json()
    assert not body.get("errors"), body
    assert body["data"]["urge"]["caseNumber"] == "IK-1"
    assert counts(engine) == (1, 1)   # one urge, one SMS notice in the outbox
    assert RESYNC in heard            # this process's live subscribers go back to the ledger


# ----------------------------------------------------------------------------- a real server, a lost answer

def raw_post(port: int, body: bytes, headers: dict[str, str]) -> None:
    """Send a POST and hang up without reading a byte of the answer."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n{head}\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(request)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_lost_answer_is_given_on_retry_by_a_real_server(kind: str, tmp_path: Path) -> None:
    # README "Retries and idempotency": the client hangs up right after sending; the server commits
    # anyway, and the retry with the same key is answered with what was committed, created once.
    with _database(kind, tmp_path) as url, serving(url, tmp_path) as server:
        engine = make_engine(url)
        try:
            build_city(engine)
            staffed_window(engine)
            create_accounts(engine)
            accept_at_w09(engine, "IK-9", timesource.now())
            token = server.login("supervisor")
            request = {"query": URGE, "variables": {"n": "IK-9", "m": "请加快办理"}}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "lost-1"}
            raw_post(int(server.url.rsplit(":", 1)[1]), json.dumps(request).encode(), headers)
            deadline = time.monotonic() + 30
            while counts(engine)[0] == 0:   # the server goes on and commits with nobody listening
                assert time.monotonic() < deadline, server.log.read_text()[-3000:]
                time.sleep(0.05)
            retry = httpx.post(f"{server.url}/graphql", json=request, headers=headers, timeout=30)
            with Session(engine) as s:
                number = s.scalar(select(Urge.number))
            assert retry.json() == {"data": {"urge": {"number": number, "caseNumber": "IK-9"}}}
            assert retry.headers["idempotent-replayed"] == "true"
            assert counts(engine) == (1, 1)
        finally:
            engine.dispose()
