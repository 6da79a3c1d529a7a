"""Shared parts of the notification tests: the two provider mocks on 127.0.0.1, settings that
point the real SDKs at them, and our Twilio webhooks served by uvicorn for the callbacks.

(Imported by the other ``test_notify_*`` modules; it holds no tests of its own.)
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from esupervision.api.webhooks import twilio_routes
from esupervision.notify.mocks.aliyun import AliyunMock, registered_templates
from esupervision.notify.mocks.twilio import TwilioMock
from esupervision.settings import Settings

TWILIO_FROM = "+15005550006"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notify_settings(twilio: TwilioMock, aliyun: AliyunMock, public_port: int, **overrides) -> Settings:
    """Settings whose providers are the mocks, and whose public URL is the local webhook server."""
    sms, tts = registered_templates()
    values = dict(
        twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token, twilio_from=TWILIO_FROM,
        twilio_base_url=twilio.url, aliyun_access_key_id=aliyun.access_key_id,
        aliyun_access_key_secret=aliyun.secret, aliyun_endpoint=f"127.0.0.1:{aliyun.port}",
        aliyun_sms_templates=sms, aliyun_tts_templates=tts, aliyun_called_show_number="057100000000",
        public_url=f"http://127.0.0.1:{public_port}", provider_timeout_s=2, environment="test",
        notify_claim_lease_s=30, notify_min_backoff_ms=50, notify_max_backoff_ms=200,
        # any hour: delivery tests run at any time of day (the hours: test_notify_hours.py)
        notice_hours={})
    values.update(overrides)
    return Settings(**values)


class WebhookServer:
    """Our webhooks on a real port, as the provider would reach them (Twilio's unless ``routes``)."""

    def __init__(self, engine: Engine, settings: Settings, port: int, routes: list | None = None) -> None:
        app = Starlette(routes=routes if routes is not None else twilio_routes(engine, settings))
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "WebhookServer":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("webhook server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture
def twilio() -> Iterator[TwilioMock]:
    with TwilioMock() as mock:
        yield mock


@pytest.fixture
def aliyun() -> Iterator[AliyunMock]:
    with AliyunMock() as mock:
        yield mock


@pytest.fixture
def public_port() -> int:
    return free_port()


@pytest.fixture
def settings(twilio: TwilioMock, aliyun: AliyunMock, public_port: int) -> Settings:
    return notify_settings(twilio, aliyun, public_port)


@pytest.fixture
def webhooks(engine: Engine, settings: Settings, public_port: int) -> Iterator[WebhookServer]:
    server = WebhookServer(engine, settings, public_port).start()
    yield server
    server.stop()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
