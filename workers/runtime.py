"""The embedded default's in-process worker: the light scheduler on a thread, and the internal
channel wired so committed announcements reach in-process subscribers."""
from __future__ import annotations

import asyncio
import weakref

from sqlalchemy.engine import Engine

from esupervision.models.transaction import set_publisher
from esupervision.settings import get_settings
from esupervision.workers.channel import AsyncFanout, InProcessChannel, RedisChannel
from esupervision.workers.lights import LightScheduler

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


def start_embedded_worker(engine: Engine) -> LightScheduler:
    channel()
    scheduler = LightScheduler(engine)
    scheduler.start_thread()
    from esupervision.workers.dispatch import start_in_process
    start_in_process(engine, get_settings(), channel().subscribe)   # notices: stub broker, in this process
    from esupervision.workers.reports import start_monthly_thread
    start_monthly_thread(engine)   # last month's reports, as `esv worker` publishes them in production
    return scheduler
