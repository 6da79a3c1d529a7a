"""A live connection ends when its credentials do (issue 14's separation of duties, for
WebSockets): an account disabled, or an API key revoked, while its subscription is open stops
hearing within the recheck interval; the connection closes with 4403 (graphql-transport-ws'
"Forbidden"), and a new connection with the same token is refused."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from sqlmodel import Session
from starlette.websockets import WebSocketDisconnect

from esupervision.api import admission
from esupervision.models.access.apikey import ApiKey, revoke_api_key
from esupervision.models.clocks import timesource
from tests.builders import build_city
from tests.gql import GraphQLClient, create_accounts

TRANSPORT_WS = "graphql-transport-ws"
LIGHTS = "subscription { lightChanged { ledgerId light } }"


@pytest.fixture
def city(engine, fixed_time, monkeypatch):
    monkeypatch.setattr(admission, "RECHECK_S", 0.1)
    build_city(engine)
    keys = create_accounts(engine)
    client = GraphQLClient(engine)
    client.keys = keys
    return client


def subscribe(ws, authorization: str) -> None:
    ws.send_json({"type": "connection_init", "payload": {"Authorization": authorization}})
    assert ws.receive_json()["type"] == "connection_ack"
    ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": LIGHTS}})


def closed_code(ws) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:   # nothing is sent to it meanwhile; the close is what arrives
            ws.receive_json()
    return closed.value.code


def test_a_disabled_accounts_subscription_is_closed(city) -> None:
    token = city.login("scj-leader")
    with city.http.websocket_connect("/graphql", subprotocols=[TRANSPORT_WS]) as ws:
        subscribe(ws, f"Bearer {token}")
        city.login("supervisor")
        assert city.data('mutation { disableAccount(username: "scj-leader") { active } }')["disableAccount"] == {
            "active": False}
        assert closed_code(ws) == admission.FORBIDDEN
    # Connecting again with the same token: the subscription is refused with its code.
    with city.http.websocket_connect("/graphql", subprotocols=[TRANSPORT_WS]) as ws:
        subscribe(ws, f"Bearer {token}")
        answer = ws.receive_json()
        assert answer["type"] == "next" and answer["payload"]["data"] is None
        assert [e["extensions"]["code"] for e in answer["payload"]["errors"]] == ["TOKEN_INVALID"]


def test_a_revoked_keys_subscription_is_closed(city) -> None:
    key = city.keys["apikey"]
    with city.http.websocket_connect("/graphql", subprotocols=[TRANSPORT_WS]) as ws:
        subscribe(ws, f"ApiKey {key}")
        with Session(city.engine) as s:
            row = s.scalars(select(ApiKey).where(ApiKey.name == "市场监管审批系统")).one()
            revoke_api_key(s, row.id, now=timesource.now())
            s.commit()
        assert closed_code(ws) == admission.FORBIDDEN


def test_an_active_account_keeps_its_subscription(city) -> None:
    token = city.login("scj-leader")
    with city.http.websocket_connect("/graphql", subprotocols=[TRANSPORT_WS]) as ws:
        subscribe(ws, f"Bearer {token}")
        # Several rechecks pass; the connection is still open and answers a ping.
        time.sleep(0.5)
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"
