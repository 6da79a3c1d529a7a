"""Supervision across deployments (issue 17, item 5): urges (催办) and orders (督办) a city
supervisor makes on a case of a county that runs its own deployment.

The city holds a read-only, verified copy of such a county's cases; the county's own API is
authoritative for every write. So the city does not urge on its copy: it records a county command
(who, what, which case, an idempotency key) in the transaction of the request, and the relay
(``workers/county_commands.py``) delivers it to the county's GraphQL API with the service key the
county issued to the city (role ``city_supervision`` there: urge and order on the county's cases,
nothing else), retrying with back-off until the county accepts or refuses it. The same
``Idempotency-Key`` on every attempt makes the county act once however often it is sent. The
county's staff are told there, by its own outbox; the urge's ledger event comes back to the city
through replication, which marks the command confirmed (and replied, when the county answers).

States: queued → delivered (the county's API accepted it and named its number) → confirmed (its
``urge.created`` / ``order.issued`` event arrived in the city's verified replica) → replied (its
reply event arrived); or refused (the county said no for good: the case finished or unknown there,
the key revoked — the error is kept, in the county's words).

The county's service key is kept sealed (AES-GCM under a key derived from ``ESV_JWT_SECRET``): the
city's tables never hold it in the clear, and it is never logged.
"""
from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from esupervision.models.access.scope import Role, Viewer
from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.cases.case import FINAL, STATUS_LABELS, Case, CaseStatus
from esupervision.models.catalogue.numbering import next_number
from esupervision.models.clocks.clock import local_date
from esupervision.models.counties.link import CountyLink, county_by_code, replica_center
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.ledger.transaction import Transaction
from sqlalchemy import Index, select, update
from sqlmodel import Field, Session, SQLModel

from esupervision.settings import Settings

TOPIC = "county_command.queued"
MAX_TEXT = 2000
MAX_REPLY_DAYS = 30
# Back-off of a delivery that failed for a reason that may pass (county down, timeout, 5xx).
FIRST_RETRY_S = 2.0
MAX_RETRY_S = 300.0
# How long one relay holds a command it is sending: past it, another relay may send it again
# (with the same idempotency key, so the county still acts once).
LEASE_S = 60.0
# Past this many hours undelivered, the county's idempotency keys (kept 24 h) may have expired:
# a command still not delivered is refused rather than risk acting twice.
GIVE_UP_AFTER = timedelta(hours=20)


class CommandKind(StrEnum):
    URGE = "urge"      # 催办
    ORDER = "order"    # 督办


class CommandStatus(StrEnum):
    QUEUED = "queued"          # 待送达
    DELIVERED = "delivered"    # 县区系统已接收
    CONFIRMED = "confirmed"    # 已见于县区账本副本
    REPLIED = "replied"        # 县区已反馈
    REFUSED = "refused"        # 县区拒绝（原因见 last_error）


STATUS_TEXT = {CommandStatus.QUEUED: "待送达", CommandStatus.DELIVERED: "县区系统已接收",
               CommandStatus.CONFIRMED: "已见于县区账本", CommandStatus.REPLIED: "县区已反馈",
               CommandStatus.REFUSED: "县区拒绝"}
KIND_TEXT = {CommandKind.URGE: "催办", CommandKind.ORDER: "督办"}


class CountyCommand(SQLModel, table=True):
    """A city supervisor's urge or order on a county deployment's case, and its delivery."""

    __tablename__ = "county_command"
    __table_args__ = (Index("ix_county_command_due", "status", "next_attempt_at"),
                      Index("ix_county_command_county", "county_code", "county_number"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    number: str = Field(unique=True)                 # the city's own number (SJCB-/SJDB-<center>-<day>-n)
    county_code: str
    center_id: uuid.UUID                             # the case's center (the county's, or a township's)
    kind: str                                        # urge / order
    case_number: str
    message: str
    reply_days: int
    issued_by: str
    issued_at: datetime = Field(sa_type=UTCDateTime)
    idempotency_key: str = Field(unique=True)        # the Idempotency-Key of every delivery attempt
    status: str = CommandStatus.QUEUED.value
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    last_error_code: str | None = None
    last_error: str | None = None
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    county_number: str | None = None                 # the urge's or order's number at the county
    county_subject_id: uuid.UUID | None = None       # and its id there (its events' subject)
    seq_floor: int = 0                               # the case center's replicated size when queued
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_seq: int | None = None                 # its event's sequence number in the county's log
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reply: str | None = None


class CountyCredential(SQLModel, table=True):
    """The service key a county issued to the city's supervision office, sealed."""

    __tablename__ = "county_credential"

    county_code: str = Field(primary_key=True)
    sealed_key: str                                  # nonce + AES-GCM ciphertext, base64
    key_hint: str                                    # its last 4 characters, for operators
    set_at: datetime = Field(sa_type=UTCDateTime)


# ----------------------------------------------------------------------------- the counties

def county_of_center(session: Session, center_id: uuid.UUID) -> CountyLink | None:
    """The county deployment whose replica holds ``center_id`` (its center or a township); None for
    a center of this deployment's own."""
    return replica_center(session, center_id)


def refuse_local_write(session: Session, center_id: uuid.UUID, what: str) -> None:
    """A replicated county's case is read-only here: its urges and orders go to the county."""
    link = county_of_center(session, center_id)
    if link is not None:
        raise DomainError(ErrorCode.COUNTY_CASE_READ_ONLY,
                          f"{what}属于{link.name}（{link.code}）自己的部署，本系统只有其只读副本；"
                          "请用 superviseCountyCase 催办或督办，将送达县区系统", county=link.code)


# ----------------------------------------------------------------------------- the sealed key

def _aead(settings: Settings) -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    secret = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                  info=b"esupervision county credential").derive(settings.jwt_secret.encode())
    return AESGCM(secret)


def seal(key: str, settings: Settings, county_code: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead(settings).encrypt(nonce, key.encode(), county_code.encode())
    return base64.b64encode(nonce + sealed).decode()


def unseal(sealed: str, settings: Settings, county_code: str) -> str:
    """The key in the clear; COMMAND_CREDENTIAL_MISSING when it cannot be opened (the secret
    changed since it was set: set it again)."""
    from cryptography.exceptions import InvalidTag
    raw = base64.b64decode(sealed)
    try:
        return _aead(settings).decrypt(raw[:12], raw[12:], county_code.encode()).decode()
    except InvalidTag:
        raise DomainError(ErrorCode.COMMAND_CREDENTIAL_MISSING,
                          f"县区 {county_code} 的服务密钥无法解开（ESV_JWT_SECRET 已更换？），请重新登记",
                          county=county_code) from None


def set_credential(session: Session, *, county_code: str, key: str, settings: Settings,
                   now: datetime) -> CountyCredential:
    """Keep (or replace) the county's service key, sealed; commands refused for the old key are
    sent again with the new one."""
    key = key.strip()
    if not key:
        raise DomainError(ErrorCode.BAD_INPUT, "服务密钥为空 empty key")
    if county_by_code(session, county_code) is None:
        raise DomainError(ErrorCode.COMMAND_COUNTY_UNKNOWN, f"县区 {county_code} 未登记（先 esv counties add）",
                          county=county_code)
    row = session.get(CountyCredential, county_code)
    sealed = seal(key, settings, county_code)
    if row is None:
        row = CountyCredential(county_code=county_code, sealed_key=sealed, key_hint=key[-4:], set_at=now)
        session.add(row)
    else:
        row.sealed_key, row.key_hint, row.set_at = sealed, key[-4:], now
    session.execute(update(CountyCommand).where(
        CountyCommand.county_code == county_code,  # type: ignore[arg-type]
        CountyCommand.status == CommandStatus.REFUSED.value,  # type: ignore[arg-type]
        CountyCommand.last_error_code == ErrorCode.COMMAND_CREDENTIAL_REFUSED.value)  # type: ignore[arg-type]
        .values(status=CommandStatus.QUEUED.value, next_attempt_at=now))
    session.flush()
    return row


def credential(session: Session, county_code: str, settings: Settings) -> str | None:
    row = session.get(CountyCredential, county_code)
    return unseal(row.sealed_key, settings, county_code) if row else None


# ----------------------------------------------------------------------------- queueing

def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > MAX_TEXT:
        raise DomainError(ErrorCode.BAD_INPUT, f"{what}不能为空，且不超过 {MAX_TEXT} 字")
    return value


def queue_command(tx: Transaction, *, kind: CommandKind, case_number: str, message: str, reply_days: int,
                  by: Viewer) -> tuple[CountyCommand, CountyLink]:
    """Record a city supervisor's urge or order on a county deployment's case, for the relay to
    deliver; nothing is applied to the city's replica. Refuses a case the city has no copy of
    (CASE_NOT_FOUND) or that is its own (COMMAND_COUNTY_UNKNOWN: urge it directly), a finished
    one (CASE_NOT_RUNNING, as the replica last saw it), a county without a service key at the city
    (COMMAND_CREDENTIAL_MISSING), and anyone but a supervisor or that county center's admin.
    The relay is woken after commit (``TOPIC``)."""
    session, now = tx.session, tx.now
    message = _text(message, "催办内容" if kind is CommandKind.URGE else "督办内容")
    if not 1 <= reply_days <= MAX_REPLY_DAYS:
        raise DomainError(ErrorCode.BAD_INPUT, f"反馈期限应为 1–{MAX_REPLY_DAYS} 个工作日", reply_days=reply_days)
    case = session.scalars(select(Case).where(Case.number == case_number)).first()
    if case is None:
        raise DomainError(ErrorCode.CASE_NOT_FOUND, f"办件 {case_number} 不存在", case=case_number)
    link = county_of_center(session, case.center_id)
    if link is None:
        raise DomainError(ErrorCode.COMMAND_COUNTY_UNKNOWN,
                          f"办件 {case_number} 不属于任何已登记的县区部署，请直接催办或督办", case=case_number)
    if not (by.role is Role.SUPERVISOR or (by.role is Role.CENTER_ADMIN and by.center_id == case.center_id)):
        raise DomainError(ErrorCode.FORBIDDEN, "只有监察人员（或本中心管理员）可以催办、督办")
    if case.status in FINAL:
        raise DomainError(ErrorCode.CASE_NOT_RUNNING,
                          f"办件 {case.number} 已结束（{STATUS_LABELS[CaseStatus(case.status)]}），不能催办或督办",
                          case=case.number, status=case.status)
    if session.get(CountyCredential, link.code) is None:
        raise DomainError(ErrorCode.COMMAND_CREDENTIAL_MISSING,
                          f"{link.name}（{link.code}）尚未向市级监察发放服务密钥，无法送达；"
                          f"请县区签发后用 esv counties credential {link.code} 登记", county=link.code)
    command_id = new_id()
    prefix = "SJCB" if kind is CommandKind.URGE else "SJDB"
    number = next_number(session, kind=prefix, center_id=case.center_id, day=local_date(now),
                         existing=CountyCommand.number)
    row = CountyCommand(id=command_id, number=number, county_code=link.code, center_id=case.center_id,
                        kind=kind.value, case_number=case.number, message=message, reply_days=reply_days,
                        issued_by=by.actor, issued_at=now, idempotency_key=f"city-command-{command_id}",
                        next_attempt_at=now, seq_floor=_replicated_size(session, case.center_id))
    session.add(row)
    session.flush()
    tx.announce(TOPIC, {"kind": "county_command.queued", "id": str(row.id), "county": link.code})
    return row, link


def _replicated_size(session: Session, center_id: uuid.UUID) -> int:
    from esupervision.models.counties.link import CountyChain
    return session.scalar(select(CountyChain.size).where(CountyChain.center_id == center_id)) or 0


# ----------------------------------------------------------------------------- the relay's side

def claim_due(session: Session, *, now: datetime, limit: int = 20) -> list[CountyCommand]:
    """Queued commands due now, leased to the caller for ``LEASE_S`` (another relay skips them);
    commits. A relay that dies mid-send leaves the lease to run out, and the command is sent again."""
    query = (select(CountyCommand).where(CountyCommand.status == CommandStatus.QUEUED.value,
                                         CountyCommand.next_attempt_at <= now)
             .order_by(CountyCommand.next_attempt_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=LEASE_S)
    session.commit()
    return rows


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to."""

    accepted: bool = False
    county_number: str | None = None
    county_subject_id: uuid.UUID | None = None
    final_error: tuple[str, str] | None = None      # (code, text): the county said no for good
    retry_error: tuple[str, str] | None = None      # (code, text): try again later


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: 2, 4, 8 … up to 5 min."""
    return min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1))


def record_outcome(session: Session, command_id: uuid.UUID, outcome: Outcome, *, now: datetime) -> CountyCommand | None:
    """Write what the attempt came to; commits. An acceptance is never undone by a late failure."""
    row = session.scalars(select(CountyCommand).where(CountyCommand.id == command_id).with_for_update()).first()
    if row is None or row.status != CommandStatus.QUEUED.value:
        return row
    if outcome.accepted:
        row.status = CommandStatus.DELIVERED.value
        row.delivered_at, row.county_number = now, outcome.county_number
        row.county_subject_id = outcome.county_subject_id
        row.last_error_code = row.last_error = None
    elif outcome.final_error is not None:
        row.status = CommandStatus.REFUSED.value
        row.last_error_code, row.last_error = outcome.final_error
    else:
        code, text = outcome.retry_error or ("UNAVAILABLE", "县区系统暂时无法访问")
        row.last_error_code, row.last_error = code, text
        if now - row.issued_at >= GIVE_UP_AFTER:
            row.status = CommandStatus.REFUSED.value
            row.last_error = f"{text}；{GIVE_UP_AFTER.total_seconds() / 3600:.0f} 小时内未能送达，已停止重试"
        else:
            row.next_attempt_at = now + timedelta(seconds=retry_delay(row.attempts))
    session.commit()
    return row


# ----------------------------------------------------------------------------- replies through the ledger

_CREATED = {"urge.created": CommandKind.URGE, "order.issued": CommandKind.ORDER}
_REPLIED = {"urge.replied": CommandKind.URGE, "order.replied": CommandKind.ORDER}
OPEN = (CommandStatus.QUEUED.value, CommandStatus.DELIVERED.value, CommandStatus.CONFIRMED.value)


def _sent_here(row: CountyCommand, event: LedgerEvent) -> bool:
    """Whether ``event`` (a creation in the county's log) is this command's, when the county's
    answer naming it was lost: made with a service key, on this case, of this kind and text."""
    data = event.data or {}
    return ((event.actor or "").startswith("apikey:") and _CREATED.get(event.kind) == CommandKind(row.kind)
            and data.get("case_number") == row.case_number and (data.get("message") or "").endswith(row.message))


def confirm_from_replica(session: Session) -> int:
    """Mark the commands whose urge or order (and reply) the city's verified replica of the county
    now holds: confirmed by its creation event, replied by its reply; in the caller's transaction.
    The replicated events are rows of the city's ``ledger_event`` on the county's centers (see
    ``counties.link``); a delivered command is found by the subject the county named, one whose
    answer was lost by what it said, among the events after those the city had when it was queued.
    Returns how many commands changed."""
    rows = list(session.scalars(select(CountyCommand).where(
        CountyCommand.status.in_(OPEN), CountyCommand.attempts > 0)))  # type: ignore[attr-defined]
    changed = 0
    for row in rows:
        if row.county_subject_id is not None:
            events = list(session.scalars(select(LedgerEvent).where(
                LedgerEvent.subject_id == row.county_subject_id,
                LedgerEvent.kind.in_([*_CREATED, *_REPLIED])).order_by(LedgerEvent.id)))  # type: ignore[attr-defined]
        elif row.status != CommandStatus.CONFIRMED.value:
            found = session.scalars(select(LedgerEvent).where(
                LedgerEvent.center_id == row.center_id, LedgerEvent.seq > row.seq_floor,
                LedgerEvent.kind == ("urge.created" if row.kind == CommandKind.URGE else "order.issued"))
                .order_by(LedgerEvent.seq))
            first = next((e for e in found if _sent_here(row, e)), None)
            events = [first] if first is not None else []
        else:
            continue
        before = row.status
        for event in events:
            if event.kind in _CREATED and row.status != CommandStatus.REPLIED.value:
                if row.delivered_at is None:      # the county acted before its answer reached us
                    row.delivered_at = event.recorded_at
                row.county_number = row.county_number or (event.data or {}).get("number")
                row.county_subject_id = event.subject_id
                row.status = CommandStatus.CONFIRMED.value
                row.confirmed_at, row.confirmed_seq = event.recorded_at, event.seq
            elif event.kind in _REPLIED and row.confirmed_at is not None:
                row.status = CommandStatus.REPLIED.value
                row.replied_at, row.reply = event.recorded_at, (event.data or {}).get("reply")
        changed += row.status != before
    session.flush()
    return changed


# ----------------------------------------------------------------------------- reading

def visible_commands(session: Session, *, who: Viewer, county_code: str | None = None,
                     statuses: list[str] | None = None, case_number: str | None = None,
                     limit: int = 50, offset: int = 0) -> tuple[list[CountyCommand], bool]:
    """Commands in ``who``'s scope, newest first: supervisors all, a center admin their center's."""
    query = select(CountyCommand).order_by(CountyCommand.issued_at.desc(), CountyCommand.id.desc())  # type: ignore[attr-defined]
    if who.role is Role.CENTER_ADMIN:
        query = query.where(CountyCommand.center_id == who.center_id)
    elif who.role is not Role.SUPERVISOR:
        return [], False
    if county_code is not None:
        query = query.where(CountyCommand.county_code == county_code)
    if statuses is not None:
        query = query.where(CountyCommand.status.in_(statuses))  # type: ignore[attr-defined]
    if case_number is not None:
        query = query.where(CountyCommand.case_number == case_number)
    rows = list(session.scalars(query.offset(offset).limit(limit + 1)))
    return rows[:limit], len(rows) > limit
