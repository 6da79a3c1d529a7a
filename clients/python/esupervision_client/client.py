"""The esupervision API client: department systems report events and read cases back;
dashboards log in, page through cases and read the overview.

Retry policy: a request that never reached the server (connect errors) is always retried; one
that may have reached it (read errors, dropped connections, 502/503/504) is retried only when
repeating it is harmless: reads, and ``reportCaseEvents``, which the API applies once per source
event id. Login and token refresh are never repeated blindly (a reused refresh token revokes the
whole login, by design).
"""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import httpx

from esupervision_client import queries
from esupervision_client.errors import GraphQLError, TransportError
from esupervision_client.types import (AuthSession, Case, CaseDetail, CaseFilter, CasePage, EventResult,
                                       Overview, ReportedEvent)

MAX_BATCH = 1000          # the API's limit on events per reportCaseEvents call
RETRY_STATUSES = frozenset({502, 503, 504})
TOKEN_EXPIRED = "TOKEN_EXPIRED"


class EsupervisionClient:
    """A synchronous client for one API endpoint.

    ``url`` is the server (``http://host:8000``) or its GraphQL endpoint (``…/graphql``).
    Pass ``api_key`` for a department system, or call :meth:`login` for a staff member.
    """

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 30.0, retries: int = 3,
                 backoff: float = 0.2, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url if url.rstrip("/").endswith("/graphql") else url.rstrip("/") + "/graphql"
        self.api_key = api_key
        self.retries = retries
        self.backoff = backoff
        self.session: AuthSession | None = None
        self._refreshing = threading.Lock()
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "EsupervisionClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ department systems

    def report_events(self, events: Iterable[ReportedEvent], *, chunk_size: int = MAX_BATCH) -> list[EventResult]:
        """Report events in order, in batches of at most ``chunk_size`` (≤ 1000); one result per
        event, in the same order. A batch whose answer was lost is sent again with the same source
        event ids: what the lost attempt applied comes back ``duplicate`` with its ledger id."""
        if not 1 <= chunk_size <= MAX_BATCH:
            raise ValueError(f"chunk_size must be 1–{MAX_BATCH}, got {chunk_size}")
        pending = list(events)
        results: list[EventResult] = []
        for start in range(0, len(pending), chunk_size):
            batch = [e.to_input() for e in pending[start:start + chunk_size]]
            data = self.execute(queries.REPORT_EVENTS, {"events": batch}, idempotent=True)
            results.extend(EventResult.from_json(r) for r in data["reportCaseEvents"])
        return results

    def case(self, number: str) -> CaseDetail | None:
        """One case with its steps and history; None if it does not exist or is outside your scope."""
        body = self.execute(queries.CASE, {"number": number})["case"]
        return CaseDetail.from_json(body) if body else None

    # ------------------------------------------------------------------ dashboards

    def login(self, username: str, password: str) -> AuthSession:
        """Log in as a staff member; later calls carry the access token and renew it when it expires."""
        body = self.execute(queries.LOGIN, {"username": username, "password": password},
                            idempotent=False, authenticate=False)
        self.session = AuthSession.from_json(body["login"])
        return self.session

    def refresh(self) -> AuthSession:
        """Trade the refresh token for a new access token (the refresh token rotates too)."""
        if self.session is None:
            raise GraphQLError("not logged in", code="UNAUTHENTICATED", request_id=None)
        body = self.execute(queries.REFRESH, {"refreshToken": self.session.refresh_token},
                            idempotent=False, authenticate=False)
        self.session = AuthSession.from_json(body["refresh"])
        return self.session

    def cases(self, filter: CaseFilter | None = None, first: int = 50, after: str | None = None) -> CasePage:
        """One page of cases, newest first; ``after`` is a cursor from a previous page."""
        variables = {"filter": filter.to_input() if filter else None, "first": first, "after": after}
        return CasePage.from_json(self.execute(queries.CASES, variables)["cases"])

    def iter_cases(self, filter: CaseFilter | None = None, *, page_size: int = 100) -> Iterator[Case]:
        """Every case matching ``filter``, page after page."""
        after: str | None = None
        while True:
            page = self.cases(filter, first=page_size, after=after)
            yield from page.cases
            if not page.has_next_page or not page.cases:
                return
            after = page.end_cursor

    def overview(self) -> Overview:
        """Counts by light and status per center and department, as of now (public)."""
        return Overview.from_json(self.execute(queries.OVERVIEW)["overview"])

    # ------------------------------------------------------------------ transport

    def execute(self, query: str, variables: dict[str, Any] | None = None, *, idempotent: bool = True,
                authenticate: bool = True) -> dict[str, Any]:
        """Send one GraphQL document; its ``data``, or a :class:`GraphQLError` for the first error.
        An expired access token is refreshed once and the request sent again."""
        session = self.session if authenticate else None
        body = self._post(query, variables, idempotent=idempotent, authenticate=authenticate)
        errors = body.get("errors")
        if errors and authenticate and session is not None and _code(errors) == TOKEN_EXPIRED:
            with self._refreshing:
                if self.session is session:      # another thread may have refreshed already
                    self.refresh()
            body = self._post(query, variables, idempotent=idempotent, authenticate=authenticate)
            errors = body.get("errors")
        if errors:
            raise GraphQLError.from_answer(errors, body.get("_request_id"))
        return body["data"]

    def _headers(self, request_id: str, authenticate: bool) -> dict[str, str]:
        headers = {"X-Request-Id": request_id, "Accept": "application/json"}
        if authenticate and self.session is not None:
            headers["Authorization"] = f"Bearer {self.session.access_token}"
        elif authenticate and self.api_key:
            headers["Authorization"] = f"ApiKey {self.api_key}"
        return headers

    def _post(self, query: str, variables: dict[str, Any] | None, *, idempotent: bool,
              authenticate: bool) -> dict[str, Any]:
        request_id = uuid.uuid4().hex      # the same id on every attempt: one request in the logs
        payload = {"query": query, "variables": variables or {}}
        attempts = 0
        while True:
            attempts += 1
            headers = self._headers(request_id, authenticate)
            try:
                response = self._http.post(self.url, json=payload, headers=headers)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
                if attempts > self.retries or not (never_sent or idempotent):
                    raise TransportError(f"{exc.__class__.__name__}: {exc}", request_id=request_id,
                                         attempts=attempts) from exc
            else:
                if response.status_code in RETRY_STATUSES and idempotent and attempts <= self.retries:
                    pass
                else:
                    return _answer(response, request_id)
            time.sleep(self.backoff * 2 ** (attempts - 1))


def _code(errors: Sequence[dict[str, Any]]) -> str | None:
    return (errors[0].get("extensions") or {}).get("code")


def _answer(response: httpx.Response, request_id: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
        raise GraphQLError(f"HTTP {response.status_code}: {response.text[:200]}", code="HTTP_ERROR",
                           request_id=request_id, extensions={"status": response.status_code})
    body["_request_id"] = request_id
    return body
