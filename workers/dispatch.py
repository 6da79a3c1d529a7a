"""Notice delivery on Dramatiq: the ``deliver_notices`` actor (takes a batch of ids, lets the
gateway do the rest), the relay that hands the outbox to the broker, and a worker process entry.

Retries of transient provider errors are kept in the outbox, not in broker messages: the notice
goes back to ``retrying`` with ``not_before`` after a backoff, and the relay enqueues it again
then; so a broker outage or a lost message never loses a retry. Dramatiq's own retries are
off for the actor: a crash mid-batch is recovered from the claims (see ``notify/gateway.py``).
"""
from __future__ import annotations

import argparse
import logging
import signal
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import dramatiq
from dramatiq.broker import Broker
from sqlalchemy.engine import Engine

from esupervision.notify.gateway import Gateway, relay
from esupervision.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Dispatch:
    """The actors of one broker, and the gateway they deliver through."""

    broker: Broker
    gateway: Gateway
    deliver: dramatiq.Actor
    noop: dramatiq.Actor

    def enqueue(self, ids: list[uuid.UUID]) -> None:
        size = max(1, self.gateway.settings.notify_batch)
        for start in range(0, len(ids), size):
            self.deliver.send([str(i) for i in ids[start:start + size]])


def declare(broker: Broker, gateway: Gateway) -> Dispatch:
    """Declare the actors on ``broker``, delivering through ``gateway``."""
    settings = gateway.settings

    def deliver_notices(notice_ids: list[str]) -> None:
        gateway.deliver_many([uuid.UUID(i) for i in notice_ids])

    def noop(_: str) -> None:
        """Dramatiq's own floor: what a message costs with nothing to do (the benchmark baseline)."""

    # Queues carry the namespace: deployments (and test runs) sharing a RabbitMQ stay apart.
    prefix = settings.dramatiq_namespace
    deliver = dramatiq.actor(deliver_notices, actor_name="deliver_notices", queue_name=f"{prefix}_notices",
                             broker=broker, max_retries=0, time_limit=600_000)
    baseline = dramatiq.actor(noop, actor_name="noop", queue_name=f"{prefix}_noop", broker=broker)
    return Dispatch(broker, gateway, deliver, baseline)


class Relay:
    """Hands the outbox to the broker every ``interval`` seconds (and when woken); a broker
    outage only delays it: nothing is marked enqueued unless the broker took it."""

    def __init__(self, engine: Engine, enqueue: Callable[[list[uuid.UUID]], None], settings: Settings) -> None:
        self.engine = engine
        self.enqueue = enqueue
        self.settings = settings
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.relayed = 0
        self.failures = 0

    def wake(self, *_: object) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run_once(self) -> int:
        count = relay(self.engine, self.enqueue, self.settings)
        self.relayed += count
        return count

    def run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()   # before the pass: a wake during it means "look again"
            try:
                if self.run_once() >= 1000:
                    continue
            except Exception as exc:  # broker or database away: try again next pass
                self.failures += 1
                log.warning("notice relay pass failed: %s", exc)
            self._wake.wait(self.settings.notify_relay_interval_s)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="notice-relay", daemon=True)
        thread.start()
        return thread


def start_worker(broker: Broker, *, threads: int = 8) -> dramatiq.Worker:
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    return worker


def main(argv: list[str] | None = None) -> None:
    """A delivery worker process: ``python -m esupervision.workers.dispatch --threads 8``."""
    from esupervision.db import get_engine
    from esupervision.models import tables  # noqa: F401  (every table known)
    from esupervision.settings import get_settings
    from esupervision.workers.broker import install_broker

    parser = argparse.ArgumentParser(description="esupervision notice delivery worker")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--relay", action="store_true", help="also run the outbox relay in this process")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(message)s")
    from esupervision.redaction import install as redact_logs
    from esupervision.workers.channel import channel

    settings = get_settings()
    redact_logs(settings)
    engine = get_engine()
    broker = install_broker(settings)
    dispatch = declare(broker, Gateway(engine, settings, publish=channel().publish))
    worker = start_worker(broker, threads=args.threads)
    relay_loop = Relay(engine, dispatch.enqueue, settings) if args.relay else None
    if relay_loop:
        relay_loop.start_thread()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    if relay_loop:
        relay_loop.stop()
    worker.stop()
    broker.close()


if __name__ == "__main__":
    main()


@dataclass
class Running:
    """The delivery side running inside one process: broker, Dramatiq worker threads, relay."""

    dispatch: Dispatch
    worker: dramatiq.Worker | None
    relay: Relay

    def stop(self) -> None:
        self.relay.stop()
        if self.worker is not None:
            self.worker.stop()
        self.dispatch.broker.close()


def start_in_process(engine: Engine, settings: Settings, subscribe: Callable | None = None,
                     *, threads: int = 4, consume: bool = True,
                     publish: Callable[[str, dict], None] | None = None) -> Running:
    """The embedded default's delivery (``esv serve``): Dramatiq's stub broker in memory, its
    worker threads and the relay in this process; ``subscribe`` (the internal channel) wakes
    the relay as soon as a transaction writes notices. With ``consume=False`` only the relay
    runs (``esv worker`` starts separate delivery processes). Delivery results are published on
    ``publish``, by default the process's channel (``workers.runtime.channel``, which on first
    use also becomes where transactions publish)."""
    from esupervision.workers.broker import make_broker
    from esupervision.workers.channel import channel

    broker = make_broker(settings)
    dispatch = declare(broker, Gateway(engine, settings, publish=publish or channel().publish))
    worker = start_worker(broker, threads=threads) if consume else None
    relay_loop = Relay(engine, dispatch.enqueue, settings)
    if subscribe is not None:
        subscribe(lambda topic, _message: relay_loop.wake() if topic == "notice.queued" else None)
    relay_loop.start_thread()
    return Running(dispatch, worker, relay_loop)
