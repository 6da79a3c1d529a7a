"""Which providers carry a message, in order: by channel and the number's country prefix,
from settings (``sms_routes``, ``voice_routes``), never from code."""
from __future__ import annotations

from collections.abc import Mapping

from esupervision.settings import Settings


def route(settings: Settings, channel: str, e164: str, available: Mapping[str, object]) -> list[str]:
    """Providers to try for ``e164`` on ``channel``: the longest matching prefix's list ("*" for
    any other number), keeping those configured here; the console when none is."""
    routes = settings.voice_routes if channel == "voice" else settings.sms_routes
    prefix = max((p for p in routes if p != "*" and e164.startswith(p)), key=len, default="*")
    names = [name for name in routes.get(prefix, routes.get("*", [])) if name in available]
    if not settings.notify_fallback:
        names = names[:1]
    if not names and "console" in available:
        names = ["console"]
    return names
