"""The internal publish channel the API and the notification gateway subscribe to.

Embedded default: in-process fan-out. Production: Redis pub/sub, so every API process sees every
message. Messages carry the ledger id; a subscriber that missed some catches up from the ledger.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
Listener = Callable[[str, dict[str, Any]], None]
PREFIX = "esv:"


class InProcessChannel:
    """Fan-out to listeners in this process; a failing listener never stops the others."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(topic, message)
            except Exception:
                log.exception("listener failed on %s", topic)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
        return unsubscribe


class RedisChannel(InProcessChannel):
    """Publishes to Redis; a background thread relays Redis messages to local listeners."""

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis

        self._redis = redis.Redis.from_url(url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe(**{PREFIX + "*": self._on_message})
        self._thread = self._pubsub.run_in_thread(sleep_time=0.05, daemon=True)

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        self._redis.publish(PREFIX + topic, json.dumps(message, default=str, ensure_ascii=False))

    def _on_message(self, raw: dict[str, Any]) -> None:
        topic = raw["channel"].decode()[len(PREFIX):]
        super().publish(topic, json.loads(raw["data"]))

    def close(self) -> None:
        self._thread.stop()
        self._pubsub.close()
        self._redis.close()
