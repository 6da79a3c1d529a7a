"""The Python client against a real ``esv serve`` process: a department system reports events and
reads them back, a supervisor logs in and pages through cases, and the client's promises hold —
batches of at most 1000, a lost answer retried without applying anything twice, an expired
access token refreshed once, errors as ``GraphQLError`` with a code and the request id."""
from __future__ import annotations

import os
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from esupervision.api.tokens import issue_access_token, viewer_from_token
from esupervision.demo_accounts import DEMO_API_KEY
from esupervision.settings import get_settings
from esupervision_client import (CaseFilter, EsupervisionClient, GraphQLError, ReportedEvent,
                                 TransportError)
from tests.servers import esv, free_port, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``esv serve`` on a free loopback port, over a SQLite demo city of 200 cases."""
    folder = tmp_path_factory.mktemp("client")
    database_url = f"sqlite:///{folder / 'esv.db'}"
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run([esv(), "demo", "--cases", "200"], env=env, check=True, capture_output=True, timeout=300)
    # the test signs an expired token, so the server must share its secret
    with serving(database_url, folder, "--no-worker", env={"ESV_JWT_SECRET": get_settings().jwt_secret}) as running:
        yield running.url


class CountingTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return super().handle_request(request)


class DroppingProxy:
    """A TCP proxy to the server that hangs up instead of passing on the next ``drops`` answers:
    the server has done the work, the client never hears of it."""

    def __init__(self, target: str) -> None:
        self.target = httpx.URL(target)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.drops = 0
        self.dropped = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.target.host, self.target.port))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if answers:
                    with self.lock:
                        drop = self.drops > 0
                        if drop:
                            self.drops -= 1
                            self.dropped += 1
                    if drop:
                        break
                sink.sendall(chunk)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.listener.close()


def _accepts(system: EsupervisionClient, count: int, tag: str) -> list[ReportedEvent]:
    """ACCEPT events for ``count`` new cases of an item in the system's own department."""
    template = system.cases(first=1).cases[0]
    at = datetime.now(timezone.utc) - timedelta(hours=1)
    return [ReportedEvent(source_event_id=f"{tag}-{i}", case_number=f"{tag}-{i}", action="ACCEPT",
                          occurred_at=at, center_code=template.center.code, item_code=template.item.code,
                          applicant_name=f"申请人{i}") for i in range(count)]


def test_department_system_reports_and_reads_back(server: str) -> None:
    transport = CountingTransport()
    with EsupervisionClient(server, api_key=DEMO_API_KEY, transport=transport) as system:
        tag = f"CLI{uuid.uuid4().hex[:8]}"
        events = _accepts(system, 5, tag)
        events.append(ReportedEvent(source_event_id=f"{tag}-resume", case_number=f"{tag}-0", action="RESUME",
                                    occurred_at=events[0].occurred_at + timedelta(minutes=1)))
        transport.requests = 0
        results = system.report_events(events, chunk_size=2)
        assert transport.requests == 3                                  # 6 events in batches of 2
        assert [r.source_event_id for r in results] == [e.source_event_id for e in events]
        assert [r.status for r in results] == ["accepted"] * 5 + ["refused"]
        assert results[-1].code == "CLOCK_NOT_PAUSED" and not results[-1].applied
        assert all(r.ledger_id for r in results[:5])

        again = system.report_events(events[:5])                         # one batch, all repeats
        assert [(r.status, r.ledger_id) for r in again] == [("duplicate", r.ledger_id) for r in results[:5]]

        case = system.case(f"{tag}-0")
        assert case is not None and case.status == "ACCEPTED" and case.light == "WHITE"
        assert case.item.code == events[0].item_code and case.center.code == events[0].center_code
        assert case.accepted_at == events[0].occurred_at
        assert case.due_at is not None and case.due_at > case.accepted_at
        assert [e.kind for e in case.history].count("case.accept") == 1
        assert case.history[0].id == results[0].ledger_id and case.history[0].lag_seconds >= 3600
        assert case.running_steps and all(s.status == "running" for s in case.running_steps)
        assert system.case("NO-SUCH-CASE") is None

        with pytest.raises(ValueError):
            system.report_events(events, chunk_size=1001)


def test_a_lost_answer_is_retried_without_applying_twice(server: str) -> None:
    proxy = DroppingProxy(server)
    try:
        with EsupervisionClient(proxy.url, api_key=DEMO_API_KEY, backoff=0.01) as system:
            tag = f"LOST{uuid.uuid4().hex[:8]}"
            events = _accepts(system, 3, tag)
            proxy.drops = 1
            results = system.report_events(events)
            assert proxy.dropped == 1
            # The lost attempt applied them; the retry, with the same source ids, applied nothing.
            assert [r.status for r in results] == ["duplicate"] * 3 and all(r.applied for r in results)
            for event, result in zip(events, results):
                case = system.case(event.case_number)
                assert case is not None
                accepts = [e for e in case.history if e.kind == "case.accept"]
                assert [e.id for e in accepts] == [result.ledger_id]
    finally:
        proxy.close()


def test_supervisor_logs_in_and_pages_through_cases(server: str) -> None:
    with EsupervisionClient(server) as dashboard:
        session = dashboard.login("supervisor", "demo")
        assert session.role == "SUPERVISOR" and session.access_token and session.refresh_token
        first = dashboard.cases(first=50)
        assert first.total_count >= 200 and len(first.cases) == 50 and first.has_next_page
        assert first.end_cursor == first.cursors[-1]
        every = list(dashboard.iter_cases(page_size=37))
        assert len(every) == first.total_count == len({c.number for c in every})
        assert [c.number for c in every[:50]] == [c.number for c in first.cases]

        red = list(dashboard.iter_cases(CaseFilter(lights=["red"])))
        assert red and all(c.light == "RED" for c in red)
        assert {c.number for c in red} <= {c.number for c in every}

        overview = dashboard.overview()
        assert overview.centers and overview.departments
        assert sum(r.lights.red for r in overview.centers) >= len(red)
        assert all(r.complaint_lights.red >= 0 and r.order_lights.white >= 0 for r in overview.departments)

        detail = dashboard.case(every[0].number)
        assert detail is not None and detail.number == every[0].number and detail.history


def test_an_expired_access_token_is_refreshed_once(server: str) -> None:
    transport = CountingTransport()
    with EsupervisionClient(server, transport=transport) as dashboard:
        session = dashboard.login("supervisor", "demo")
        past = datetime.now(timezone.utc) - timedelta(hours=2)
        expired = issue_access_token(viewer_from_token(session.access_token, now=past), now=past)
        dashboard.session = type(session)(**{**session.__dict__, "access_token": expired})

        transport.requests = 0
        assert dashboard.cases(first=1).total_count >= 200
        assert transport.requests == 3                       # refused, refresh, sent again
        assert dashboard.session.refresh_token != session.refresh_token   # it rotated

        # A refresh that fails is not tried again: its own error surfaces.
        dashboard.session = type(session)(**{**dashboard.session.__dict__, "access_token": expired,
                                             "refresh_token": "not-a-refresh-token"})
        transport.requests = 0
        with pytest.raises(GraphQLError) as refused:
            dashboard.cases(first=1)
        assert refused.value.code == "TOKEN_INVALID" and transport.requests == 2


def test_errors_carry_code_and_request_id(server: str) -> None:
    with EsupervisionClient(server, api_key="esv_not_a_key") as stranger:
        with pytest.raises(GraphQLError) as bad_key:
            stranger.cases(first=1)
    assert bad_key.value.code == "TOKEN_INVALID" and len(bad_key.value.request_id or "") == 32
    with EsupervisionClient(server) as public:
        with pytest.raises(GraphQLError) as anonymous:
            public.cases()
        assert anonymous.value.code == "UNAUTHENTICATED"
        with pytest.raises(GraphQLError) as wrong_password:
            public.login("supervisor", "nope")
        assert wrong_password.value.code == "INVALID_CREDENTIALS"
    with EsupervisionClient(server) as dashboard:
        dashboard.login("supervisor", "demo")
        with pytest.raises(GraphQLError) as too_many:
            dashboard.cases(first=5000)
        assert too_many.value.code == "PAGE_TOO_LARGE"


def test_an_unreachable_server_is_a_transport_error() -> None:
    with EsupervisionClient(f"http://127.0.0.1:{free_port()}", api_key=DEMO_API_KEY, retries=2,
                            backoff=0) as system:
        with pytest.raises(TransportError) as unreachable:
            system.case("X")
    assert unreachable.value.attempts == 3


def test_only_harmless_requests_are_repeated_after_a_dropped_answer() -> None:
    calls: list[str] = []

    def hang_up(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["x-request-id"])
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    with EsupervisionClient("http://api.invalid", transport=httpx.MockTransport(hang_up), retries=2,
                            backoff=0) as client:
        with pytest.raises(TransportError):
            client.login("supervisor", "demo")          # a login is not sent twice blindly
        assert len(calls) == 1
        calls.clear()
        with pytest.raises(TransportError):
            client.overview()                             # a read is
        assert len(calls) == 3 and len(set(calls)) == 1  # one request id across its attempts
