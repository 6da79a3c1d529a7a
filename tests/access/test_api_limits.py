"""What the API refuses before it works, and how: oversized bodies (413, a JSON error), variables
nested too deep or holding lists too long (a GraphQL error with its code, never a bare 500),
bad enum values and dates in variables (BAD_INPUT in Chinese, not INTERNAL_ERROR, no traceback in
the log), /metrics without its token, and client addresses a caller could choose
(X-Forwarded-For is believed only from configured proxies)."""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from esupervision import settings as settings_module
from esupervision.api.app import create_app
from esupervision.api.limits import server_options
from esupervision.settings import Settings, get_settings
from tests.builders import build_city
from tests.gql import GraphQLClient, create_accounts
from tests.servers import free_port, serving

CASES = "query($l: [LightFilter!]) { cases(filter: {lights: $l}, first: 1) { totalCount } }"
LOGIN = "mutation($u: String!) { login(username: $u, password: \"wrong\") { accessToken } }"


@pytest.fixture
def api(engine, fixed_time) -> GraphQLClient:
    build_city(engine)
    create_accounts(engine)
    client = GraphQLClient(engine)
    client.http = TestClient(client.http.app, raise_server_exceptions=False)   # a 500 is an answer here
    client.login("supervisor")
    return client


@pytest.fixture
def setting(monkeypatch) -> Iterator:
    """``setting(NAME=value)``: the process's settings with these ESV_ variables, for one test."""
    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"ESV_{name}", value)
        settings_module.get_settings.cache_clear()
    yield apply
    monkeypatch.undo()
    settings_module.get_settings.cache_clear()


def post_raw(api: GraphQLClient, body: bytes | Iterator[bytes], **headers: str) -> httpx.Response:
    return api.http.post("/graphql", content=body, headers={"Authorization": f"Bearer {api.token}",
                                                            "Content-Type": "application/json", **headers})


def codes(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["extensions"]["code"] for e in response.json()["errors"]]


# ----------------------------------------------------------------------------- request bodies

def test_a_body_over_the_limit_is_answered_413_with_a_json_error(api):
    limit = get_settings().max_body_bytes
    pad = b'{"query": "{ __typename }", "pad": "' + b"x" * (limit - 100) + b'"}'
    assert post_raw(api, pad).json() == {"data": {"__typename": "Query"}}     # just under: served
    big = b'{"query": "{ __typename }", "pad": "' + b"x" * limit + b'"}'
    refused = post_raw(api, big)
    assert refused.status_code == 413
    [error] = refused.json()["errors"]
    assert error["extensions"] == {"code": "REQUEST_TOO_LARGE", "maxBytes": limit}
    assert "请求体过大" in error["message"]

    def chunks() -> Iterator[bytes]:   # no Content-Length: refused as soon as it passes the limit
        yield b'{"query": "{ __typename }", "pad": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'
    chunked = post_raw(api, chunks())
    assert chunked.status_code == 413 and chunked.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    # every route, webhooks included
    assert api.http.post("/webhooks/twilio/status", content=b"x" * (limit + 1)).status_code == 413


# ----------------------------------------------------------------------------- variables

def test_deep_variables_get_a_graphql_error_with_a_code_not_a_500(api):
    for depth in (5000, 1100, 25):   # past every JSON parser's depth, past orjson's, past ours
        body = json.dumps({"query": CASES}).encode()[:-1] + b', "variables": {"l": ' + b"[" * depth + b"]" * depth + b"}}"
        answer = post_raw(api, body)
        assert codes(answer) == ["VARIABLES_TOO_DEEP"], depth
        assert answer.json()["errors"][0]["extensions"]["maxDepth"] == get_settings().max_variable_depth
    assert api.data(CASES, {"l": ["RED"]})["cases"]["totalCount"] == 0


def test_lists_in_variables_are_capped(api):
    limit = get_settings().max_variable_list
    assert api.data(CASES, {"l": ["RED"]})   # the page's document is known to the fast path now
    answer = api(CASES, {"l": ["RED"] * (limit + 1)})
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "VARIABLES_TOO_LONG"
    assert (error["extensions"]["maxLength"], error["extensions"]["length"]) == (limit, limit + 1)
    assert api.data(CASES, {"l": ["RED", "YELLOW"] * (limit // 2)})["cases"]["totalCount"] == 0   # at the limit: fine


def test_bad_enums_and_dates_in_variables_are_bad_input_logged_without_a_traceback(api, caplog):
    with caplog.at_level(logging.INFO):
        enum = api(CASES, {"l": ["RED", "PURPLE"]})["errors"]
        date = api("query($f: Date!) { statistics(from: $f, to: $f, groupBy: DEPARTMENT) { totals { received } } }",
                   {"f": "2026-13-45"})["errors"]
        instant = api("query($a: DateTime) { cases(filter: {acceptedFrom: $a}, first: 1) { totalCount } }",
                      {"a": "yesterday"})["errors"]
    assert [e["extensions"]["code"] for e in enum + date + instant] == ["BAD_INPUT"] * 3
    assert enum[0]["message"].startswith("变量 $l[1] 的值不是 LightFilter 的可选值")
    assert date[0]["message"].startswith("变量 $f 的值不是有效的日期")
    assert instant[0]["message"].startswith("变量 $a 的值不是有效的时间")
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    assert sum("BAD_INPUT" in r.getMessage() for r in caplog.records) == 3


def test_domain_errors_are_logged_in_one_line_without_a_traceback(api, caplog):
    with caplog.at_level(logging.INFO):
        assert api.error_codes(LOGIN, {"u": "supervisor"}) == ["INVALID_CREDENTIALS"]
    lines = [r for r in caplog.records if "INVALID_CREDENTIALS" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


# ----------------------------------------------------------------------------- /metrics

def test_metrics_need_their_bearer_token(api, setting):
    assert api.http.get("/metrics").status_code == 404                       # no token set: not served
    setting(METRICS_TOKEN="scrape-token-of-the-prometheus-server-0123")
    assert api.http.get("/metrics").status_code == 401
    wrong = api.http.get("/metrics", headers={"Authorization": "Bearer guessed"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    scraped = api.http.get("/metrics", headers={"Authorization": "Bearer scrape-token-of-the-prometheus-server-0123"})
    assert scraped.status_code == 200 and "esv_http_requests_total" in scraped.text


# ----------------------------------------------------------------------------- client addresses

def logins(url: str, count: int, rotate_forwarded: bool = True) -> list[str]:
    """``count`` failed logins as different usernames, each claiming another X-Forwarded-For."""
    found = []
    for n in range(count):
        headers = {"X-Forwarded-For": f"203.0.113.{n + 1}"} if rotate_forwarded else {}
        body = httpx.post(f"{url}/graphql", json={"query": LOGIN, "variables": {"u": f"nobody{n}"}},
                          headers=headers, timeout=30).json()
        found.append(body["errors"][0]["extensions"]["code"])
    return found


@pytest.mark.slow
def test_esv_serve_does_not_believe_x_forwarded_for_by_default(empty_db_url, tmp_path):
    """Rotating X-Forwarded-For does not get around the per-address limit of logins."""
    with serving(empty_db_url, tmp_path, "--no-worker", env={"ESV_RATE_LIMIT_IP_PER_MINUTE": "3"}) as server:
        assert logins(server.url, 4) == ["INVALID_CREDENTIALS"] * 3 + ["RATE_LIMITED"]


def test_x_forwarded_for_is_believed_from_a_configured_proxy(engine, fixed_time, setting):
    setting(TRUSTED_PROXIES="127.0.0.1", RATE_LIMIT_IP_PER_MINUTE="3")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", **server_options(get_settings())))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        assert logins(url, 4) == ["INVALID_CREDENTIALS"] * 4          # four clients behind the proxy
        assert logins(url, 4, rotate_forwarded=False)[-1] == "RATE_LIMITED"   # the proxy's own address
    finally:
        server.should_exit = True
        thread.join(5)


def test_server_options_follow_the_settings():
    assert server_options(Settings()) == {"proxy_headers": False, "forwarded_allow_ips": [],
                                          "ws_max_size": 1_048_576}
    both = server_options(Settings(trusted_proxies="10.0.0.5, 10.1.0.0/16", max_body_bytes=2048))
    assert both == {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.5", "10.1.0.0/16"], "ws_max_size": 2048}
