"""The relay of county commands (issue 17, item 5): urges and orders the city's supervisors made
on cases of county deployments, delivered to each county's own GraphQL API.

Like the notice relay it works from the table (``county_command``), never from broker messages:
a command is claimed with a lease, sent with the county's service key and the command's own
``Idempotency-Key`` (the county acts once however often it is sent: a relay killed after sending
and before recording sends it again and gets the first answer back), and its outcome written.
A county that does not answer (down, timeout, HTTP 5xx, its first request still running) is
tried again with back-off (2 s doubling to 5 min); a refusal for good (the case finished or
unknown there, the key revoked) is kept with the county's own words. Each pass also marks the
commands whose events arrived in the city's verified replica (confirmed, replied).
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from esupervision.models.clocks import timesource
from esupervision.models.errors import ErrorCode
from esupervision.models.supervision import county_commands as commands
from esupervision.models.supervision.county_commands import (
    CommandKind,
    CountyCommand,
    Outcome,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.settings import Settings, get_settings

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
INTERVAL_S = 1.0
# What staff at the county read before the city's words (the SMS says who is pressing them).
SOURCE_MARK = "市级监察："

_MUTATIONS = {
    CommandKind.URGE: ("urge", "mutation CityUrge($input: UrgeInput!) { urge(input: $input) { id number } }"),
    CommandKind.ORDER: ("issueSupervisionOrder", "mutation CityOrder($input: SupervisionOrderInput!) "
                        "{ issueSupervisionOrder(input: $input) { id number } }"),
}
# The county refused for good, whatever we send again.
_FINAL = frozenset({ErrorCode.CASE_NOT_FOUND, ErrorCode.CASE_NOT_RUNNING, ErrorCode.URGE_TARGET_FINISHED,
                    ErrorCode.NO_ADDRESSEE, ErrorCode.BAD_INPUT, ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    ErrorCode.COUNTY_CASE_READ_ONLY})
_CREDENTIAL = frozenset({ErrorCode.TOKEN_INVALID, ErrorCode.TOKEN_EXPIRED, ErrorCode.UNAUTHENTICATED,
                         ErrorCode.FORBIDDEN})


def graphql_url(base: str) -> str:
    base = base.rstrip("/")
    return base if base.endswith("/graphql") else base + "/graphql"


def request_body(command: CountyCommand) -> dict[str, Any]:
    """The GraphQL request that makes ``command`` at the county (the same on every attempt)."""
    _, document = _MUTATIONS[CommandKind(command.kind)]
    return {"query": document, "variables": {"input": {
        "caseNumber": command.case_number, "message": SOURCE_MARK + command.message, "replyDays": command.reply_days}}}


def read_answer(command: CountyCommand, status: int, body: Any) -> Outcome:
    """What the county's answer means for ``command``."""
    if status >= 500 or status == 429:
        return Outcome(retry_error=("UNAVAILABLE", f"县区系统返回 HTTP {status}"))
    if not isinstance(body, dict):
        return Outcome(retry_error=("UNAVAILABLE", f"县区系统答复无法解析（HTTP {status}）"))
    field, _ = _MUTATIONS[CommandKind(command.kind)]
    made = (body.get("data") or {}).get(field)
    if made and made.get("number"):
        return Outcome(accepted=True, county_number=made["number"], county_subject_id=uuid.UUID(made["id"]))
    errors = body.get("errors") or [{}]
    code = str((errors[0].get("extensions") or {}).get("code") or "UNKNOWN")
    text = str(errors[0].get("message") or "")
    if code == ErrorCode.IDEMPOTENCY_ANSWER_LOST:
        return Outcome(accepted=True)   # it took effect there; the replica names it (confirm_from_replica)
    if code in _CREDENTIAL:
        return Outcome(final_error=(ErrorCode.COMMAND_CREDENTIAL_REFUSED.value,
                                    f"县区拒绝了市级监察的服务密钥（{code}：{text}）；请县区重新签发后用 "
                                    f"esv counties credential {command.county_code} 登记"))
    if code in _FINAL or 400 <= status < 500:
        return Outcome(final_error=(code, text))
    return Outcome(retry_error=(code, text))


@dataclass
class Delivery:
    """One attempt's transport: ``post(url, body, headers) -> (status, parsed body)``."""

    post: Callable[[str, dict[str, Any], dict[str, str]], tuple[int, Any]]


def http_post(client: httpx.Client) -> Callable[[str, dict[str, Any], dict[str, str]], tuple[int, Any]]:
    def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
        answer = client.post(url, json=body, headers=headers)
        try:
            return answer.status_code, answer.json()
        except ValueError:
            return answer.status_code, None
    return post


def deliver_one(session: Session, command: CountyCommand, settings: Settings,
                post: Callable[[str, dict[str, Any], dict[str, str]], tuple[int, Any]]) -> Outcome:
    """Send ``command`` once; never raises for what the county or the network does."""
    link = commands.county_by_code(session, command.county_code)
    if link is None:
        return Outcome(final_error=(ErrorCode.COMMAND_COUNTY_UNKNOWN.value,
                                    f"县区 {command.county_code} 已不在登记之列"))
    try:
        key = commands.credential(session, command.county_code, settings)
    except Exception as exc:   # a key that cannot be opened: set it again, then it goes
        return Outcome(final_error=(ErrorCode.COMMAND_CREDENTIAL_REFUSED.value, str(exc)))
    if key is None:
        return Outcome(final_error=(ErrorCode.COMMAND_CREDENTIAL_REFUSED.value,
                                    f"没有县区 {command.county_code} 的服务密钥"))
    headers = {"Authorization": f"ApiKey {key}", "Idempotency-Key": command.idempotency_key}
    try:
        status, body = post(graphql_url(link.url), request_body(command), headers)
    except httpx.HTTPError as exc:
        return Outcome(retry_error=("UNAVAILABLE", f"县区系统无法访问：{type(exc).__name__}"))
    return read_answer(command, status, body)


class CountyCommandRelay:
    """Delivers due county commands every ``interval`` seconds (and when woken), and marks those
    the replica confirms. Safe to run in several processes (leases, idempotency keys)."""

    def __init__(self, engine: Engine, settings: Settings | None = None, *, interval: float = INTERVAL_S,
                 post: Callable[[str, dict[str, Any], dict[str, str]], tuple[int, Any]] | None = None) -> None:
        self.engine = engine
        self.settings = settings or get_settings()
        self.interval = interval
        self._client: httpx.Client | None = None
        self._post = post
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.delivered = self.refused = self.retried = self.confirmed = 0

    def post(self) -> Callable[[str, dict[str, Any], dict[str, str]], tuple[int, Any]]:
        if self._post is None:
            self._client = httpx.Client(timeout=TIMEOUT_S)
            self._post = http_post(self._client)
        return self._post

    def wake(self, *_: object) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run_once(self) -> int:
        """One pass: deliver what is due, then confirm from the replica; returns commands sent."""
        with Session(self.engine, expire_on_commit=False) as session:
            due = commands.claim_due(session, now=timesource.now())
            for command in due:
                outcome = deliver_one(session, command, self.settings, self.post())
                commands.record_outcome(session, command.id, outcome, now=timesource.now())
                if outcome.accepted:
                    self.delivered += 1
                elif outcome.final_error:
                    self.refused += 1
                    log.warning("county command %s refused by %s: %s", command.number, command.county_code,
                                outcome.final_error[0])
                else:
                    self.retried += 1
            self.confirmed += commands.confirm_from_replica(session)
            session.commit()
        return len(due)

    def run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if self.run_once() >= 20:
                    continue
            except Exception as exc:  # the city's database away: try again next pass
                log.warning("county command relay pass failed: %s", exc)
            self._wake.wait(self.interval)
        if self._client is not None:
            self._client.close()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="county-command-relay", daemon=True)
        thread.start()
        return thread


def start_relay(engine: Engine, subscribe: Callable | None = None) -> CountyCommandRelay:
    """The relay on a thread of this process, woken as soon as a command is queued."""
    relay = CountyCommandRelay(engine)
    if subscribe is not None:
        subscribe(lambda topic, _message: relay.wake() if topic == commands.TOPIC else None)
    relay.start_thread()
    return relay
