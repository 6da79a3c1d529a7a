"""The internal publish channel the API and the notification gateway subscribe to.

Embedded default: in-process fan-out. Production: Redis pub/sub, so every API process sees every
message. Messages carry the ledger id; a subscriber that missed some catches up from the ledger.
When the channel itself may have lost messages (Redis reconnected), local listeners are told so
with a ``RESYNC`` message, and resumable subscribers go back to the ledger.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from esupervision.models.ledger.transaction import set_publisher
from esupervision.settings import get_settings

log = logging.getLogger(__name__)
Listener = Callable[[str, dict[str, Any]], None]
PREFIX = "esv:"
# Told to local listeners (never published) when messages may have been lost.
RESYNC = "channel.resync"
PUBLISH_TIMEOUT_S = 1.0


class InProcessChannel:
    """Fan-out to listeners in this process; a failing listener never stops the others."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        self._deliver(topic, message)

    def _deliver(self, topic: str, message: dict[str, Any]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(topic, message)
            except Exception:
                log.exception("listener failed on %s", topic)

    def resync(self) -> None:
        """Tell local listeners that messages may have been lost (they go back to the ledger)."""
        self._deliver(RESYNC, {})

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
        return unsubscribe


def redis_prefix(url: str) -> str:
    """``esv:<database>:``: pub/sub ignores Redis databases, so deployments (and test workers)
    that share a server on different databases would otherwise hear each other."""
    database = urlparse(url).path.lstrip("/") or "0"
    return f"{PREFIX}{database}:"


class RedisChannel(InProcessChannel):
    """Publishes to Redis; a background thread relays Redis messages to local listeners."""

    def __init__(self, url: str, *, prefix: str | None = None) -> None:
        super().__init__()
        import redis

        self.prefix = prefix or redis_prefix(url)
        self._redis = redis.Redis.from_url(url)
        # Publishing happens after a commit, inside a request: a Redis that is down or stuck
        # must cost it a second at most, not redis-py's default retries.
        from redis.backoff import NoBackoff
        from redis.retry import Retry
        self._publisher = redis.Redis.from_url(url, socket_connect_timeout=PUBLISH_TIMEOUT_S,
                                               socket_timeout=PUBLISH_TIMEOUT_S, retry=Retry(NoBackoff(), 0))
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe(**{self.prefix + "*": self._on_message})
        self._thread = self._pubsub.run_in_thread(sleep_time=0.05, daemon=True,
                                                  exception_handler=self._on_error)

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        try:
            self._publisher.publish(self.prefix + topic, json.dumps(message, default=str, ensure_ascii=False))
        except Exception:
            # Not sent, so not relayed back to this process either: its listeners go back to the
            # ledger (other processes resync when their own Redis connection fails).
            self.resync()
            raise

    def _on_message(self, raw: dict[str, Any]) -> None:
        topic = raw["channel"].decode()[len(self.prefix):]
        self._deliver(topic, json.loads(raw["data"]))

    def _on_error(self, exc: BaseException, pubsub: Any, thread: Any) -> None:
        # The next get_message reconnects and subscribes again; what was sent meanwhile is lost.
        log.warning("redis channel interrupted (%s); listeners resync from the ledger", exc)
        time.sleep(0.5)
        self.resync()

    def close(self) -> None:
        self._thread.stop()
        self._pubsub.close()
        self._redis.close()
        self._publisher.close()


class Feed:
    """One asyncio subscriber's queue of channel messages.

    Bounded: a subscriber that falls ``limit`` messages behind loses its queue and is told so
    (``lost``), and catches up from the ledger instead of holding the process's memory.
    """

    def __init__(self, topics: Iterable[str], limit: int) -> None:
        self.topics = frozenset(topics)
        self._limit = limit
        self._queue: deque[tuple[str, dict[str, Any]]] = deque()
        self._ready = asyncio.Event()
        self._lost = False

    def offer(self, topic: str, message: dict[str, Any]) -> None:
        if topic == RESYNC:
            self._lost = True
        elif topic not in self.topics:
            return
        elif len(self._queue) >= self._limit:
            self._queue.clear()
            self._lost = True
        else:
            self._queue.append((topic, message))
        self._ready.set()

    async def next_batch(self) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        """Everything queued (waiting for at least one), and whether messages were lost since
        the last call."""
        await self._ready.wait()
        self._ready.clear()
        batch, self._queue = list(self._queue), deque()
        lost, self._lost = self._lost, False
        return batch, lost


class AsyncFanout:
    """A channel seen from one event loop: a single channel listener hands each message to the
    loop once, and the loop fans it out to its feeds (cheap with a thousand subscribers)."""

    def __init__(self, channel: InProcessChannel, loop: asyncio.AbstractEventLoop, *,
                 feed_limit: int = 10_000) -> None:
        self._loop = loop
        self._feeds: set[Feed] = set()
        self._feed_limit = feed_limit
        self._unsubscribe = channel.subscribe(self._from_channel)

    def _from_channel(self, topic: str, message: dict[str, Any]) -> None:
        try:
            self._loop.call_soon_threadsafe(self._dispatch, topic, message)
        except RuntimeError:   # the loop is closed: nobody is listening any more
            self.close()

    def _dispatch(self, topic: str, message: dict[str, Any]) -> None:
        for feed in list(self._feeds):
            feed.offer(topic, message)

    @contextmanager
    def listen(self, topics: Iterable[str]) -> Iterator[Feed]:
        """A feed of ``topics`` from now until the block ends."""
        feed = Feed(topics, self._feed_limit)
        self._feeds.add(feed)
        try:
            yield feed
        finally:
            self._feeds.discard(feed)

    @property
    def listeners(self) -> int:
        return len(self._feeds)

    def close(self) -> None:
        self._unsubscribe()


# ----------------------------------------------------------------------------- the process's channel

_channel: InProcessChannel | None = None
_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncFanout] = weakref.WeakKeyDictionary()


def channel() -> InProcessChannel:
    """The process's channel: Redis pub/sub when the broker is Redis, else in-process."""
    global _channel
    if _channel is None:
        settings = get_settings()
        _channel = RedisChannel(settings.redis_url) if settings.broker == "redis" else InProcessChannel()
        set_publisher(_channel.publish)
    return _channel


def fanout() -> AsyncFanout:
    """The running event loop's view of the process's channel (made on first use)."""
    loop = asyncio.get_running_loop()
    current = _fanouts.get(loop)
    if current is None:
        current = _fanouts[loop] = AsyncFanout(channel(), loop)
    return current
