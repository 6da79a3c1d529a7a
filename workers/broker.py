"""The Dramatiq broker, set up in one place from settings: Redis in production, RabbitMQ
supported, and Dramatiq's in-memory stub broker for the embedded default's in-process worker."""
from __future__ import annotations

import dramatiq
from dramatiq.broker import Broker

from esupervision.settings import Settings


def make_broker(settings: Settings) -> Broker:
    """A new broker of the kind ``settings.broker`` names."""
    if settings.broker == "redis":
        from dramatiq.brokers.redis import RedisBroker
        return RedisBroker(url=settings.redis_url, namespace=settings.dramatiq_namespace,
                           heartbeat_timeout=settings.dramatiq_heartbeat_ms,
                           socket_timeout=10, socket_connect_timeout=5, health_check_interval=10)
    if settings.broker == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker
        return RabbitmqBroker(url=settings.rabbitmq_url, confirm_delivery=True)
    from dramatiq.brokers.stub import StubBroker
    broker = StubBroker()
    broker.emit_after("process_boot")
    return broker


def install_broker(settings: Settings) -> Broker:
    """Make a broker the process's global one (what ``dramatiq.actor`` binds to) and return it."""
    broker = make_broker(settings)
    dramatiq.set_broker(broker)
    return broker
