"""The embedded default's in-process worker: the light scheduler on a thread, and the internal
channel wired so committed announcements reach in-process subscribers."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from esupervision.models.transaction import set_publisher
from esupervision.settings import get_settings
from esupervision.workers.channel import InProcessChannel, RedisChannel
from esupervision.workers.lights import LightScheduler

_channel: InProcessChannel | None = None


def channel() -> InProcessChannel:
    """The process's channel: Redis pub/sub when the broker is Redis, else in-process."""
    global _channel
    if _channel is None:
        settings = get_settings()
        _channel = RedisChannel(settings.redis_url) if settings.broker == "redis" else InProcessChannel()
        set_publisher(_channel.publish)
    return _channel


def start_embedded_worker(engine: Engine) -> LightScheduler:
    channel()
    scheduler = LightScheduler(engine)
    scheduler.start_thread()
    return scheduler
