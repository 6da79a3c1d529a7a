"""Delivery through real Dramatiq worker processes on the real brokers: every notice reaches the
provider mocks exactly once, also when a worker is SIGKILLed mid-batch and when the broker goes
away mid-batch (a Redis of the test's own, stopped and started again on its port)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.notices.notice import Notice, NoticeDraft, add_notices
from esupervision.models.ledger.transaction import transaction
from esupervision.notify.gateway import Gateway
from esupervision.notify.mocks.aliyun import AliyunMock
from esupervision.notify.mocks.twilio import TwilioMock
from esupervision.settings import Settings
from esupervision.workers.broker import make_broker
from esupervision.workers.dispatch import Relay, declare
from tests.notify.test_notify_support import aliyun, free_port, notify_settings, twilio, wait_for  # noqa: F401

pytestmark = pytest.mark.slow


def queue_many(engine, count: int, *, tag: str) -> list[uuid.UUID]:
    """``count`` SMS notices, two thirds to mainland numbers (Aliyun), a third to US ones (Twilio)."""
    drafts = []
    for i in range(count):
        phone = f"+1415555{i % 10000:04d}" if i % 3 == 2 else f"+86139{i % 100000000:08d}"
        drafts.append(NoticeDraft(key=f"{tag}:{i}", subject_type="case", subject_id=uuid.uuid4(),
                                  template="case_resumed", params={"center": "市行政服务中心", "number": f"N{i}"},
                                  phone=phone, recipient_kind="applicant"))
    with transaction(engine) as tx:
        add_notices(tx, drafts)
    with Session(engine) as s:
        return list(s.scalars(select(Notice.id)))


def received(aliyun: AliyunMock, twilio: TwilioMock) -> Counter:
    """How many times each notice reached a provider (Aliyun's OutId, Twilio's callback URL)."""
    counts: Counter = Counter(a.out_id for a in aliyun.sms())
    for sent in twilio.messages():
        counts[parse_qs(urlsplit(sent.status_callback or "").query)["notice"][0]] += 1
    return counts


def statuses(engine) -> Counter:
    with Session(engine) as s:
        return Counter(dict(s.execute(select(Notice.status, func.count()).group_by(Notice.status)).all()))


def worker_env(settings: Settings, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESV_")}
    env.update({"DATABASE_URL": db_url, "REDIS_URL": settings.redis_url, "RABBITMQ_URL": settings.rabbitmq_url})
    for name in ("broker", "dramatiq_namespace", "dramatiq_heartbeat_ms", "twilio_account_sid", "twilio_auth_token",
                 "twilio_from", "twilio_base_url", "aliyun_access_key_id", "aliyun_access_key_secret",
                 "aliyun_endpoint", "public_url", "provider_timeout_s", "environment", "notify_claim_lease_s",
                 "notify_requeue_after_s", "notify_min_backoff_ms", "notify_max_backoff_ms",
                 "aliyun_sms_templates", "aliyun_tts_templates", "notice_hours"):
        value = getattr(settings, name)
        env[f"ESV_{name.upper()}"] = json.dumps(value) if isinstance(value, dict) else str(value)
    return env


class Workers:
    """Delivery worker processes (``python -m esupervision.workers.dispatch``)."""

    def __init__(self, settings: Settings, db_url: str) -> None:
        self.env = worker_env(settings, db_url)
        self.processes: list[subprocess.Popen] = []

    def start(self, threads: int = 4) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", "esupervision.workers.dispatch", "--threads", str(threads)],
                                   env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers_for():
    made: list[Workers] = []

    def make(settings: Settings, db_url: str) -> Workers:
        made.append(Workers(settings, db_url))
        return made[-1]
    yield make
    for workers in made:
        workers.stop()


def run_relay(engine, settings: Settings) -> tuple[Relay, object]:
    broker = make_broker(settings)
    dispatch = declare(broker, Gateway(engine, settings, {}))
    relay_loop = Relay(engine, dispatch.enqueue, settings)
    relay_loop.start_thread()
    return relay_loop, broker


def finished(engine, count: int) -> bool:
    return statuses(engine).get("sent", 0) == count


def settings_for(twilio, aliyun, redis_url: str, **overrides) -> Settings:
    return notify_settings(twilio, aliyun, free_port(), broker="redis", redis_url=redis_url,
                           dramatiq_namespace=f"esvtest{uuid.uuid4().hex[:8]}", dramatiq_heartbeat_ms=2000,
                           notify_claim_lease_s=4, notify_requeue_after_s=6, notify_relay_interval_s=0.2,
                           **overrides)


def test_real_workers_on_redis_deliver_each_notice_once(engine, db_url, redis_url, twilio, aliyun, workers_for):
    twilio.send_callbacks = False
    settings = settings_for(twilio, aliyun, redis_url)
    ids = queue_many(engine, 120, tag="redis")
    workers = workers_for(settings, db_url)
    workers.start()
    workers.start()
    relay_loop, broker = run_relay(engine, settings)
    try:
        wait_for(lambda: finished(engine, 120), timeout=90, interval=0.2)
    finally:
        relay_loop.stop()
        broker.close()
    counts = received(aliyun, twilio)
    assert set(counts) == {str(i) for i in ids}
    assert max(counts.values()) == 1
    assert len(aliyun.sms()) == 80 and len(twilio.messages()) == 40


@pytest.mark.postgres_only
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(engine, db_url, redis_url, twilio, aliyun,
                                                                         workers_for):
    twilio.send_callbacks = False
    twilio.state.latency_s = aliyun.state.latency_s = 0.02   # sends take a while: the kill lands mid-send
    settings = settings_for(twilio, aliyun, redis_url)
    ids = queue_many(engine, 300, tag="kill")
    workers = workers_for(settings, db_url)
    victim = workers.start(threads=8)
    workers.start(threads=8)
    relay_loop, broker = run_relay(engine, settings)
    try:
        wait_for(lambda: sum(received(aliyun, twilio).values()) >= 60, timeout=60)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        in_flight = statuses(engine).get("sending", 0)
        wait_for(lambda: finished(engine, 300), timeout=120, interval=0.2)
    finally:
        relay_loop.stop()
        broker.close()
    counts = received(aliyun, twilio)
    assert set(counts) == {str(i) for i in ids}, "a notice was lost"
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
    print(f"killed a worker with {in_flight} notices claimed mid-send; all 300 sent once")


@pytest.fixture
def own_redis() -> Iterator["OwnRedis"]:
    server = OwnRedis(free_port())
    server.start()
    yield server
    server.stop()


class OwnRedis:
    """A redis-server of the test's own on a loopback port, that the test may stop and restart."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.process = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis
        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), timeout=10)
        client.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()   # an outage, not a shutdown: what it held is gone
            self.process.wait()


def _pings(client) -> bool:  # noqa: ANN001
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.mark.postgres_only
def test_a_broker_outage_mid_batch_delays_notices_but_loses_none(engine, db_url, own_redis, twilio, aliyun,
                                                                 workers_for):
    twilio.send_callbacks = False
    twilio.state.latency_s = aliyun.state.latency_s = 0.02
    settings = settings_for(twilio, aliyun, own_redis.url)
    queue_many(engine, 200, tag="outage")
    workers = workers_for(settings, db_url)
    workers.start()
    workers.start()
    relay_loop, broker = run_relay(engine, settings)
    try:
        wait_for(lambda: sum(received(aliyun, twilio).values()) >= 40, timeout=60)
        own_redis.stop()                              # the broker dies with the queue in it
        ids = queue_many(engine, 50, tag="during")    # and notices are written meanwhile
        wait_for(lambda: relay_loop.failures >= 1, timeout=10)
        assert not finished(engine, 250)
        own_redis.start()                             # back, and empty
        wait_for(lambda: finished(engine, 250), timeout=120, interval=0.2)
    finally:
        relay_loop.stop()
        broker.close()
    counts = received(aliyun, twilio)
    assert len(ids) == 250 and set(counts) == {str(i) for i in ids}, "a notice was lost"
    assert max(counts.values()) == 1, "a notice was sent twice"


def test_real_workers_on_rabbitmq_deliver_each_notice_once(engine, db_url, rabbitmq_url, twilio, aliyun, workers_for):
    twilio.send_callbacks = False
    settings = notify_settings(twilio, aliyun, free_port(), broker="rabbitmq", rabbitmq_url=rabbitmq_url,
                               dramatiq_namespace=f"esvtest{uuid.uuid4().hex[:8]}", notify_relay_interval_s=0.2)
    ids = queue_many(engine, 60, tag="rabbit")
    workers = workers_for(settings, db_url)
    workers.start()
    workers.start()
    relay_loop, broker = run_relay(engine, settings)
    try:
        wait_for(lambda: finished(engine, 60), timeout=90, interval=0.2)
    finally:
        relay_loop.stop()
        broker.close()
    counts = received(aliyun, twilio)
    assert set(counts) == {str(i) for i in ids} and max(counts.values()) == 1


def test_the_embedded_default_delivers_in_process_through_the_console(engine, fixed_time):
    from esupervision.models.ledger.transaction import set_publisher
    from esupervision.workers.channel import InProcessChannel
    from esupervision.workers.dispatch import start_in_process

    channel = InProcessChannel()
    set_publisher(channel.publish)
    settings = Settings(environment="development", broker="inprocess", notify_relay_interval_s=30)
    # Its own channel throughout: the process's (``runtime.channel``) would, when first made,
    # take over where transactions publish, so whether the relay heard of the notice depended on
    # which tests this worker process ran before.
    running = start_in_process(engine, settings, channel.subscribe, publish=channel.publish)
    try:
        [notice_id] = queue_many(engine, 1, tag="embedded")   # the commit's announcement wakes the relay
        wait_for(lambda: finished(engine, 1), timeout=10)
    finally:
        running.stop()
        set_publisher(None)
    console = running.dispatch.gateway.providers["console"]
    assert [m.notice_id for m in console.sent] == [str(notice_id)]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_esv_worker_stopped_by_sigterm_stops_its_delivery_processes(tmp_path, redis_url):
    # A service manager stops `esv worker` with SIGTERM: its Dramatiq delivery processes must go
    # with it, not linger consuming the queue.
    from tests.servers import esv
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "ESV_BROKER": "redis",
           "REDIS_URL": redis_url, "ESV_DRAMATIQ_NAMESPACE": f"esv-test-{uuid.uuid4().hex[:8]}"}
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen([esv(), "worker", "--processes", "1", "--threads", "1"], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        children = []
        while not children and time.monotonic() < deadline and process.poll() is None:
            children = _children(process.pid)
            time.sleep(0.2)
        assert children, (tmp_path / "worker.log").read_text()
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, (tmp_path / "worker.log").read_text()
        assert not [pid for pid in children if os.path.exists(f"/proc/{pid}")]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        for pid in _children(process.pid):
            os.kill(pid, signal.SIGKILL)
