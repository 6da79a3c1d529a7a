"""What every provider adapter offers the gateway, and how its failures are told apart.

A provider error says what to do next:
- ``FAULT``: the provider is failing (outage, 5xx, garbage, bad credentials): try the next
  provider of the route, else retry later.
- ``TRANSIENT``: the provider works but says "not now" (flow control, 429): retry later, same route.
- ``PERMANENT``: this message can never go (invalid number, template refused): record and stop.
- ``UNCERTAIN``: the request may have reached the provider (read timeout): look it up before
  anything is sent again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


# The error code of an UNCERTAIN failure: the next attempt asks the provider before sending.
UNCERTAIN_CODE = "PROVIDER_TIMEOUT"


class ErrorKind(StrEnum):
    FAULT = "fault"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNCERTAIN = "uncertain"


class ProviderError(Exception):
    def __init__(self, kind: ErrorKind, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.kind = kind
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Outgoing:
    """One notice as a provider sends it."""

    notice_id: str
    channel: str            # sms / voice
    to: str                 # E.164
    template: str           # our template code
    params: dict[str, Any]
    text: str               # the rendered text (SMS body, or what a voice call says)
    claimed_at: datetime    # when this attempt began; a lookup ignores what came before


@dataclass(frozen=True)
class Receipt:
    """A delivery report: ``status`` is one of delivered / undelivered / failed / sent."""

    provider_message_id: str
    status: str
    error_code: str | None = None


class Provider(Protocol):
    name: str
    channels: frozenset[str]

    def send(self, message: Outgoing) -> str:
        """Hand ``message`` to the provider; returns its message id or raises ProviderError."""
        ...

    def find(self, message: Outgoing) -> str | None:
        """The provider's id of ``message`` if it already went out (a worker died mid-send)."""
        ...
