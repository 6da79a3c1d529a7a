"""Notice delivery end to end: outbox rows on PostgreSQL -> relay -> Redis -> 2 Dramatiq worker
processes -> the real Aliyun SDK -> the local Aliyun mock (in a process of its own) accepting it.
Baseline: Dramatiq's own no-op actor on the same broker and the same 2 worker processes.

Notices travel ``--batch`` (20) to a broker message; a no-op message carries nothing. The costs are
stated both ways: per notice (a notice against a no-op message, what a reader of "notices/s"
compares) and per broker message (a message of 20 notices against a no-op message, what the
broker and the workers handle).

    python bench/notify.py [--notices 6000] [--threads 16] [--batch 20] [--no-record]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from bench.common import command_line, create_schema, fresh_postgres, record  # noqa: E402
from esupervision.db import make_engine  # noqa: E402
from esupervision.models.notices.notice import NoticeDraft, add_notices  # noqa: E402
from esupervision.models.ledger.transaction import transaction  # noqa: E402
from esupervision.notify.gateway import Gateway  # noqa: E402
from esupervision.notify.mocks.aliyun import registered_templates  # noqa: E402
from esupervision.settings import Settings  # noqa: E402
from esupervision.workers.broker import make_broker  # noqa: E402
from esupervision.workers.dispatch import Relay, declare  # noqa: E402

REDIS = os.environ.get("ESV_BENCH_REDIS", "redis://127.0.0.1:6379/15")
MOCK = """
import sys, time
from esupervision.notify.mocks.aliyun import AliyunMock
mock = AliyunMock(port=int(sys.argv[1])).start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepted(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_mock/count", timeout=5) as answer:
        return json.load(answer)["accepted"]


def worker_env(settings: Settings, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESV_")}
    env["DATABASE_URL"] = db_url
    for name, value in settings.model_dump().items():
        if name in ("database_url", "quiet_hours"):
            continue
        if value is not None:
            env[f"ESV_{name.upper()}"] = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return env


def wait(predicate, timeout: float) -> float:  # noqa: ANN001
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("benchmark did not finish in time")
        time.sleep(0.02)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--batch", type=int, default=20, help="notices per broker message")
    parser.add_argument("--no-record", action="store_true", help="print only, leave bench/RESULTS.md alone")
    args = parser.parse_args()
    namespace = f"esvbench{uuid.uuid4().hex[:6]}"
    mock_port = free_port()
    mock = subprocess.Popen([sys.executable, "-c", MOCK, str(mock_port)], stdout=subprocess.PIPE, text=True)
    assert mock.stdout and mock.stdout.readline().strip() == "ready"
    sms, tts = registered_templates()
    settings = Settings(broker="redis", redis_url=REDIS, dramatiq_namespace=namespace, environment="test",
                        aliyun_access_key_id="mock-access-key", aliyun_access_key_secret="mock-secret",
                        aliyun_endpoint=f"127.0.0.1:{mock_port}", aliyun_sms_templates=sms,
                        aliyun_tts_templates=tts, notify_relay_interval_s=0.05, provider_timeout_s=10,
                        notify_batch=args.batch)
    client = redis.Redis.from_url(REDIS)
    workers: list[subprocess.Popen] = []
    try:
        with fresh_postgres() as db_url:
            engine = make_engine(db_url)
            create_schema(engine)
            for _ in range(2):
                process = subprocess.Popen([sys.executable, "-m", "esupervision.workers.dispatch",
                                            "--threads", str(args.threads)], env=worker_env(settings, db_url),
                                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                assert process.stdout and process.stdout.readline().strip() == "ready"
                workers.append(process)
            broker = make_broker(settings)
            dispatch = declare(broker, Gateway(engine, settings, {}))

            # Baseline: Dramatiq's no-op actor, enqueued up front, drained by the same workers.
            pending = f"{namespace}:{namespace}_noop.msgs"
            start = time.perf_counter()
            for i in range(args.notices):
                dispatch.noop.send(str(i))
            wait(lambda: client.hlen(pending) == 0, 600)
            noop_s = time.perf_counter() - start
            noop_rate = args.notices / noop_s

            # Notices: outbox rows written first, then the relay starts the clock.
            drafts = [NoticeDraft(key=f"bench:{i}", subject_type="case", subject_id=uuid.uuid4(),
                                  template="case_resumed", params={"center": "市行政服务中心", "number": f"B{i:06d}"},
                                  phone=f"+86139{i:08d}", recipient_kind="applicant") for i in range(args.notices)]
            with transaction(engine) as tx:
                add_notices(tx, drafts)
            relay = Relay(engine, dispatch.enqueue, settings)
            start = time.perf_counter()
            relay.start_thread()
            wait(lambda: accepted(mock_port) >= args.notices, 900)
            notice_s = time.perf_counter() - start
            relay.stop()
            notice_rate = args.notices / notice_s
            broker.close()
            engine.dispose()
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            process.wait(30)
        mock.kill()
        for key in client.scan_iter(f"{namespace}*"):
            client.delete(key)
    batch = max(1, settings.notify_batch)
    messages = -(-args.notices // batch)
    per_notice_ms = notice_s / args.notices * 1000
    per_message_ms = notice_s / messages * 1000
    noop_ms = noop_s / args.notices * 1000
    record("Notice delivery end to end (PostgreSQL, Redis, 2 worker processes)", command_line(), [
        f"{args.notices:,} SMS notices from outbox rows to the Aliyun mock's acceptance, through the relay, Redis, "
        f"2 Dramatiq worker processes × {args.threads} threads and the real aliyun-python-sdk: "
        f"{notice_s:.1f} s, **{notice_rate:,.0f} notices/s** (target ≥ 500/s), {batch} to a broker message: "
        f"{messages:,} messages, {messages / notice_s:,.1f} messages/s",
        f"baseline, Dramatiq's own no-op actor on the same broker and workers: {args.notices:,} messages in "
        f"{noop_s:.1f} s, {noop_rate:,.0f} messages/s",
        f"**per notice**: {per_notice_ms:.2f} ms of the run's wall time against {noop_ms:.2f} ms a no-op message: "
        f"a notice costs {per_notice_ms / noop_ms:.1f}× a no-op message (notices/s ÷ no-op messages/s = "
        f"{notice_rate / noop_rate:.2f})",
        f"**per broker message**: {per_message_ms:.1f} ms for a message of {batch} notices against "
        f"{noop_ms:.2f} ms for a no-op message: {per_message_ms / noop_ms:.0f}× (no-op / ours "
        f"{noop_ms / per_message_ms:.3f}); the broker's own share of a notice is 1/{batch} of a message",
        f"per batch one claim transaction (SELECT … FOR UPDATE, one UPDATE) and one record transaction "
        "(executemany), one SendSms per notice; the mock runs in its own process; the machine "
        f"was shared with other work (load average {os.getloadavg()[0]:.1f} at the end)",
    ], keep=not args.no_record,
       summary=("notices (`bench/notify.py`)",
                f"{notice_rate:,.0f} notices/s, {batch} a broker message: {per_notice_ms / noop_ms:.1f}× a no-op "
                f"message per notice, {per_message_ms / noop_ms:.0f}× per message",
                "≥ 500 notices/s"))


if __name__ == "__main__":
    main()
