"""Live subscriptions: light changes and case events, resumable from a cursor.

A message's ``cursor`` is its ledger id. A subscriber that passes ``after`` first gets from the
ledger everything after it that it may see, then live messages, with nothing missed and nothing
twice: the channel is listened to before the ledger is read, and live messages already sent from
the ledger are skipped.

Who receives what (decision 9; the same scope as the ``cases`` query):
- ``lightChanged``: the light changes of cases the viewer may read, with their number and case
  (supervisor all; center admin their center; department leader and department system their
  department; window staff their window; an applicant their own cases). Clocks of no case
  (orders, complaints …) go by the clock's own center, department and window. The public gets
  every light change without what identifies a case (no number, subject, window or case): enough
  for a live overview, nothing more.
- ``caseEvents(number)``: every event of one case in the viewer's scope (an applicant: their own
  case); the public is refused. A case outside the scope is refused exactly as one that does not
  exist (``CASE_NOT_FOUND``).

The viewer is fixed when the WebSocket connects (the token of ``connection_init``), for the life of
the connection.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from anyio import to_thread
from graphql import GraphQLError
from sqlalchemy import select
from sqlmodel import Session
from strawberry.extensions import SchemaExtension
from strawberry.scalars import JSON
from strawberry.types import Info

from esupervision.api.context import Context
from esupervision.api.errors import _shape
from esupervision.api.schema.cases.case import READERS, CaseNode
from esupervision.api.schema.common import CaseStatus, Light, parse_id, require, viewer
from esupervision.api.schema.feeds import Delivered, latest_ledger_id, parse_cursor
from esupervision.models.clocks import timesource
from esupervision.models.access.scope import Role, Viewer
from esupervision.models.access.audit import record_reads
from esupervision.models.cases.case import Case, Step
from esupervision.models.cases.case import CaseStatus as DomainCaseStatus
from esupervision.models.cases.query import get_case
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.workers import runtime

LIGHT_TOPIC = "light.changed"
CASE_TOPIC = "case.event"
REPLAY_PAGE = 500


# ----------------------------------------------------------------------------- cursors

# ----------------------------------------------------------------------------- scope

@dataclass(frozen=True)
class CaseScope:
    """What decides who may read a case (models.access.case_scope, as values)."""

    center_id: str
    department_id: str
    window_id: str | None
    applicant_phone: str | None


def may_read(who: Viewer, scope: CaseScope) -> bool:
    """``models.access.case_scope`` for one case already in memory."""
    role = who.role
    if role is Role.SUPERVISOR:
        return True
    if role is Role.CENTER_ADMIN and who.center_id:
        return scope.center_id == str(who.center_id)
    if role in (Role.DEPARTMENT_LEADER, Role.DEPARTMENT_SYSTEM) and who.department_id:
        return scope.department_id == str(who.department_id)
    if role is Role.WINDOW_STAFF and who.window_id:
        return scope.window_id == str(who.window_id)
    if role is Role.APPLICANT and who.applicant_phone:
        return scope.applicant_phone == who.applicant_phone
    return False


def may_read_clock(who: Viewer, message: dict[str, Any]) -> bool:
    """The same rule on a clock that belongs to no case, by the clock's own places."""
    role = who.role
    if role is Role.SUPERVISOR:
        return True
    if role is Role.CENTER_ADMIN and who.center_id:
        return message.get("center_id") == str(who.center_id)
    if role in (Role.DEPARTMENT_LEADER, Role.DEPARTMENT_SYSTEM) and who.department_id:
        return message.get("department_id") == str(who.department_id)
    if role is Role.WINDOW_STAFF and who.window_id:
        return message.get("window_id") == str(who.window_id)
    return False


def in_scope(who: Viewer, message: dict[str, Any], scopes: dict[str, CaseScope | None]) -> bool:
    """Whether ``who`` hears a light change (the public hears every one, masked); ``scopes``
    holds the scope of the message's case when it has one."""
    if who.role is Role.PUBLIC:
        return True
    number = message.get("number")
    if number is None:
        return may_read_clock(who, message)
    scope = scopes.get(number)
    return scope is not None and may_read(who, scope)


class CaseScopes:
    """Case number → scope, shared by every subscriber of the process: a light change heard by a
    thousand subscribers costs one query, not a thousand. Entries live ``ttl`` seconds (a case
    can move to another window)."""

    def __init__(self, ttl: float = 30.0, size: int = 50_000) -> None:
        self._ttl = ttl
        self._size = size
        self._known: dict[str, tuple[float, CaseScope | None]] = {}

    async def get(self, context: Context, numbers: Iterable[str]) -> dict[str, CaseScope | None]:
        now = time.monotonic()
        wanted = set(numbers)
        found = {n: hit[1] for n in wanted if (hit := self._known.get(n)) and hit[0] > now}
        missing = wanted - found.keys()
        if missing:
            def fetch(session: Session) -> dict[str, CaseScope]:
                rows = session.execute(select(Case.number, Case.center_id, Case.department_id, Case.window_id,
                                              Case.applicant_phone).where(Case.number.in_(sorted(missing))))
                return {r.number: CaseScope(str(r.center_id), str(r.department_id),
                                            str(r.window_id) if r.window_id else None, r.applicant_phone)
                        for r in rows}
            loaded = await context.run(fetch)
            if len(self._known) + len(missing) > self._size:
                self._known.clear()
            for number in missing:
                found[number] = loaded.get(number)
                self._known[number] = (now + self._ttl, found[number])
        return found


_case_scopes = CaseScopes()


def _refresh(context: Context) -> None:
    """Each message is answered as of now, with fresh loaders: a WebSocket's context lives as
    long as the connection."""
    context.now = timesource.now()
    context.__dict__.pop("loaders", None)


# ----------------------------------------------------------------------------- lightChanged

@strawberry.input(description="灯色变化订阅的筛选（按计时所在的中心、部门、窗口）")
class LightChangeFilter:
    center_ids: list[strawberry.ID] | None = None
    department_ids: list[strawberry.ID] | None = None
    window_ids: list[strawberry.ID] | None = None
    lights: list[Light] | None = None
    subject_types: list[str] | None = strawberry.field(
        default=None, description="case 办件、step 环节、acceptance 受理期限、legal_limit 法定时限 …")


@dataclass(frozen=True)
class _LightMatch:
    center_ids: frozenset[str] | None
    department_ids: frozenset[str] | None
    window_ids: frozenset[str] | None
    lights: frozenset[str] | None
    subject_types: frozenset[str] | None

    @classmethod
    def of(cls, flt: LightChangeFilter | None) -> "_LightMatch":
        flt = flt or LightChangeFilter()

        def ids(values: list[strawberry.ID] | None) -> frozenset[str] | None:
            return None if values is None else frozenset(str(parse_id(v)) for v in values)
        return cls(ids(flt.center_ids), ids(flt.department_ids), ids(flt.window_ids),
                   None if flt.lights is None else frozenset(light.value for light in flt.lights),
                   None if flt.subject_types is None else frozenset(flt.subject_types))

    def __call__(self, message: dict[str, Any]) -> bool:
        return all(allowed is None or message.get(key) in allowed for key, allowed in (
            ("center_id", self.center_ids), ("department_id", self.department_ids),
            ("window_id", self.window_ids), ("light", self.lights), ("subject_type", self.subject_types)))


@strawberry.type(description="灯色变化（计时到达黄灯或红灯时刻时发布）")
class LightChange:
    ledger_id: int = strawberry.field(description="账本事件编号")
    cursor: str = strawberry.field(description="续订游标：断线后以 after 传回，不漏不重")
    light: Light
    previous: Light | None
    label: str
    subject_type: str = strawberry.field(description="case 办件、step 环节、acceptance 受理期限、legal_limit 法定时限 …")
    subject_id: strawberry.ID | None = strawberry.field(description="公众不可见")
    number: str | None = strawberry.field(description="办件编号；公众不可见")
    center_id: strawberry.ID
    department_id: strawberry.ID | None
    window_id: strawberry.ID | None = strawberry.field(description="公众不可见")
    due_instant: datetime | None = strawberry.field(description="灯色变化的应到时刻")
    announced_at: datetime = strawberry.field(description="发布时刻")

    @strawberry.field(description="所属办件（在查看范围内时）")
    async def case(self, info: Info) -> CaseNode | None:
        if self.number is None:
            return None
        who = viewer(info)
        row = await info.context.run(lambda s: get_case(s, viewer=who, number=self.number))
        return CaseNode.from_row(row) if row else None

    @classmethod
    def from_message(cls, message: dict[str, Any], *, public: bool) -> "LightChange":
        def instant(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if isinstance(value, str) else value

        def maybe_id(value: Any) -> strawberry.ID | None:
            return None if value is None or public else strawberry.ID(str(value))
        ledger_id = int(message["ledger_id"])
        return cls(ledger_id=ledger_id, cursor=str(ledger_id), light=Light(message["light"]),
                   previous=Light(message["previous"]) if message.get("previous") else None,
                   label=message.get("label") or "", subject_type=message["subject_type"],
                   subject_id=maybe_id(message.get("subject_id")),
                   number=None if public else message.get("number"),
                   center_id=strawberry.ID(str(message["center_id"])),
                   department_id=strawberry.ID(str(message["department_id"])) if message.get("department_id") else None,
                   window_id=maybe_id(message.get("window_id")),
                   due_instant=instant(message.get("due_instant")),
                   announced_at=instant(message["announced_at"]))  # type: ignore[arg-type]


def _light_messages(session: Session, after: int, centers: frozenset[str] | None) -> list[dict[str, Any]]:
    """One page of light changes recorded after ``after``, as the channel carried them."""
    query = (select(LedgerEvent.id, LedgerEvent.data, LedgerEvent.recorded_at)
             .where(LedgerEvent.id > after, LedgerEvent.kind.like("light.%")))  # type: ignore[union-attr]
    if centers is not None:
        query = query.where(LedgerEvent.center_id.in_([uuid.UUID(c) for c in centers]))  # type: ignore[attr-defined]
    rows = session.execute(query.order_by(LedgerEvent.id).limit(REPLAY_PAGE))
    return [{**row.data, "ledger_id": row.id, "announced_at": row.recorded_at.isoformat()} for row in rows]


class _LightStream:
    """One ``lightChanged`` subscription: what passes the filter and the viewer's scope, once."""

    def __init__(self, context: Context, who: Viewer, match: _LightMatch, after: int | None) -> None:
        self.context = context
        self.who = who
        self.match = match
        self.after = after
        self.sent = Delivered()
        self.public = who.role is Role.PUBLIC
        centers = match.center_ids
        if who.role is Role.CENTER_ADMIN and who.center_id:
            centers = frozenset({str(who.center_id)}) if centers is None else centers & {str(who.center_id)}
        self.replay_centers = centers

    def fresh(self, ledger_id: int) -> bool:
        """Not sent yet, and after the cursor the subscriber resumed from."""
        return ledger_id not in self.sent and (self.after is None or ledger_id > self.after)

    async def admit(self, messages: list[dict[str, Any]]) -> list[LightChange]:
        """The messages this subscriber gets, in order, each marked as sent."""
        fresh = [m for m in messages if "ledger_id" in m and self.fresh(int(m["ledger_id"])) and self.match(m)]
        numbers = {m["number"] for m in fresh if m.get("number")}
        scopes = await _case_scopes.get(self.context, numbers) if numbers and not self.public else {}
        admitted = []
        for m in fresh:
            if not in_scope(self.who, m, scopes):
                continue
            self.sent.add(int(m["ledger_id"]))
            admitted.append(LightChange.from_message(m, public=self.public))
        return admitted

    async def replay(self, after: int) -> AsyncGenerator[LightChange, None]:
        while True:
            page = await self.context.run(lambda s: _light_messages(s, after, self.replay_centers))
            if not page:
                return
            for change in await self.admit(page):
                yield change
            after = int(page[-1]["ledger_id"])


# ----------------------------------------------------------------------------- caseEvents

@strawberry.type(description="办件的一条事件（账本记录）")
class CaseEventMessage:
    ledger_id: int = strawberry.field(description="账本事件编号")
    cursor: str = strawberry.field(description="续订游标：断线后以 after 传回，不漏不重")
    kind: str = strawberry.field(description="case.accept、case.advance、light.red …")
    occurred_at: datetime = strawberry.field(description="报送方声称的发生时间")
    recorded_at: datetime = strawberry.field(description="系统记录时间")
    late: bool
    status: CaseStatus = strawberry.field(description="此事件之后的办件状态")
    data: JSON


def _case_events(session: Session, case_id: uuid.UUID, after: int) -> list[LedgerEvent]:
    """The events of a case, its steps and their clocks recorded after ``after`` (as ``history``)."""
    subjects = [case_id, *session.scalars(select(Step.id).where(Step.case_id == case_id))]
    return list(session.scalars(select(LedgerEvent).where(
        LedgerEvent.subject_id.in_(subjects), LedgerEvent.id > after)  # type: ignore[attr-defined]
        .order_by(LedgerEvent.id)))


def _status_after(status: str | None, event: LedgerEvent, case_id: str) -> str | None:
    """The case's status after ``event``, from the rows the ledger says it wrote."""
    for change in event.changes:
        if change.get("table") == "case" and change.get("id") == case_id:
            status = (change.get("values") or change.get("set") or {}).get("status", status)
    return status


async def _case_stream(context: Context, who: Viewer, number: str,
                       after: int | None) -> AsyncGenerator[CaseEventMessage, None]:
    with runtime.fanout().listen({CASE_TOPIC, LIGHT_TOPIC}) as feed:
        case = await context.run(lambda s: get_case(s, viewer=who, number=number))
        if case is None:
            raise DomainError(ErrorCode.CASE_NOT_FOUND, f"办件 {number} 不存在", case=number)
        case_id = str(case.id)
        status: str | None = None
        last = 0
        floor = after   # send what was recorded after this; the whole history is read for the status
        while True:
            events = await context.run(lambda s: _case_events(s, case.id, last))
            if floor is None:   # no cursor: from now on
                floor = events[-1].id if events else 0
            for event in events:
                status = _status_after(status, event, case_id)
                last = event.id
                if event.id <= floor:
                    continue
                _refresh(context)
                yield CaseEventMessage(ledger_id=event.id, cursor=str(event.id), kind=event.kind,
                                       occurred_at=event.occurred_at, recorded_at=event.recorded_at,
                                       late=event.late, status=DomainCaseStatus(status or case.status),
                                       data=event.data)
            # Messages only wake the stream; the ledger says what happened, in order.
            while True:
                batch, lost = await feed.next_batch()
                if lost or any(message.get("number") == number for _, message in batch):
                    break


# ----------------------------------------------------------------------------- the root type

@strawberry.type
class Subscription:
    @strawberry.subscription(description="灯色变化：先补发 after 之后的记录，再实时推送。按角色限定为可查看的办件；"
                                         "公众收到不含办件信息（编号、窗口、办件）的全部灯色变化")
    async def light_changed(self, info: Info, filter: LightChangeFilter | None = None,
                            after: str | None = None) -> AsyncGenerator[LightChange, None]:
        who = viewer(info)
        after_id = parse_cursor(after)
        context: Context = info.context
        stream = _LightStream(context, who, _LightMatch.of(filter), after_id)
        with runtime.fanout().listen({LIGHT_TOPIC}) as feed:
            start = after_id if after_id is not None else await latest_ledger_id(context)
            if after_id is not None:
                async for change in stream.replay(after_id):
                    _refresh(context)
                    yield change
            while True:
                batch, lost = await feed.next_batch()
                if lost:
                    async for change in stream.replay(stream.sent.floor(start)):
                        _refresh(context)
                        yield change
                for change in await stream.admit([m for _, m in batch]):
                    _refresh(context)
                    yield change

    @strawberry.subscription(description="一个办件的全部事件（同 Case.history）：先补发 after 之后的记录，再实时推送；"
                                         "无权查看的办件与不存在的同样答 CASE_NOT_FOUND")
    async def case_events(self, info: Info, number: str,
                          after: str | None = None) -> AsyncGenerator[CaseEventMessage, None]:
        who = require(info, *READERS)
        async for message in _case_stream(info.context, who, number, parse_cursor(after)):
            yield message


class SubscriptionResults(SchemaExtension):
    """Each streamed result as a single answer would be: errors with their code and the request id
    (nothing internal), and unmasked personal reads recorded as they happen, not at disconnect."""

    async def on_stream_result(self, result: Any) -> AsyncGenerator[None, None]:  # type: ignore[override]
        context = self.execution_context.context
        if getattr(result, "errors", None):
            request_id = getattr(context, "request_id", "-")
            result.errors = [_shape(e, request_id) if isinstance(e, GraphQLError) else e for e in result.errors]
        reads = getattr(context, "personal_reads", None)
        if reads:
            pending = list(reads)
            reads.clear()

            def write() -> None:
                with Session(context.engine) as session:
                    record_reads(session, pending)
                    session.commit()
            await to_thread.run_sync(write)
        yield
