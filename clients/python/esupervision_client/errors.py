"""What can go wrong talking to the API, as exceptions a caller can act on."""
from __future__ import annotations

from typing import Any


class EsupervisionError(Exception):
    """Base of every error this client raises."""


class GraphQLError(EsupervisionError):
    """The API refused the request; ``code`` is its stable ``extensions.code`` (TOKEN_INVALID,
    CASE_NOT_FOUND, PAGE_TOO_LARGE …) and ``request_id`` names the request in the server's logs."""

    def __init__(self, message: str, *, code: str, request_id: str | None,
                 path: list[str | int] | None = None, extensions: dict[str, Any] | None = None,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{code}: {message} (request {request_id})")
        self.message = message
        self.code = code
        self.request_id = request_id
        self.path = path
        self.extensions = extensions or {}
        self.errors = errors or []        # every error of the answer; this one is the first

    @classmethod
    def from_answer(cls, errors: list[dict[str, Any]], request_id: str | None) -> "GraphQLError":
        first = errors[0]
        extensions = first.get("extensions") or {}
        return cls(first.get("message", ""), code=str(extensions.get("code", "UNKNOWN")),
                   request_id=extensions.get("requestId", request_id), path=first.get("path"),
                   extensions=extensions, errors=errors)


class TransportError(EsupervisionError):
    """The API could not be reached (or kept failing) after the allowed retries."""

    def __init__(self, message: str, *, request_id: str | None, attempts: int) -> None:
        super().__init__(f"{message} (request {request_id}, {attempts} attempts)")
        self.request_id = request_id
        self.attempts = attempts
