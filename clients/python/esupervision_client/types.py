"""Typed values the client sends and returns: inputs render themselves as GraphQL variables,
results are built from the API's JSON (camelCase) with instants parsed to aware datetimes."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Light = Literal["WHITE", "YELLOW", "RED"]
# accepted: applied now; duplicate: this source event id was applied before (never twice);
# refused: not applied, ``code`` says why.
EventStatus = Literal["accepted", "duplicate", "refused"]


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _aware(name: str, value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.isoformat()


# ----------------------------------------------------------------------------- inputs

@dataclass(frozen=True)
class ReportedEvent:
    """One event of one case as a department system reports it. ``source_event_id`` is your own
    id of the event: the API applies each id once, so sending it again is safe."""

    source_event_id: str
    case_number: str
    action: str                       # ACCEPT, ADVANCE, REQUEST_SUPPLEMENT, COMPLETE … (CaseAction)
    occurred_at: datetime             # timezone-aware
    item_code: str | None = None
    center_code: str | None = None
    department_code: str | None = None
    window_code: str | None = None
    staff_code: str | None = None
    applicant_name: str | None = None
    channel: str | None = None
    step_name: str | None = None
    attributes: Mapping[str, Any] | None = None

    def to_input(self) -> dict[str, Any]:
        body: dict[str, Any] = {"sourceEventId": self.source_event_id, "caseNumber": self.case_number,
                                "action": self.action.upper(),
                                "occurredAt": _aware("occurred_at", self.occurred_at)}
        for name in ("item_code", "center_code", "department_code", "window_code", "staff_code",
                     "applicant_name", "channel", "step_name"):
            value = getattr(self, name)
            if value is not None:
                body[_camel(name)] = value
        if self.attributes:
            body["attributes"] = dict(self.attributes)
        return body


@dataclass(frozen=True)
class CaseFilter:
    """Narrows a list of cases; every field left None means "any". Ids are the API's ids,
    statuses the CaseStatus names (ACCEPTED …), lights WHITE / YELLOW / RED / PAUSED."""

    center_ids: Sequence[str] | None = None
    department_ids: Sequence[str] | None = None
    window_ids: Sequence[str] | None = None
    staff_ids: Sequence[str] | None = None
    item_ids: Sequence[str] | None = None
    statuses: Sequence[str] | None = None
    lights: Sequence[str] | None = None
    channel: str | None = None
    accepted_from: datetime | None = None
    accepted_to: datetime | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    completed_from: datetime | None = None
    completed_to: datetime | None = None
    reported_late: bool | None = None
    text: str | None = None           # a case number prefix, or part of the applicant's name

    def to_input(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, datetime):
                value = _aware(name, value)
            elif isinstance(value, (list, tuple)):
                value = [v.upper() if name in ("statuses", "lights") else v for v in value]
            body[_camel(name)] = value
        return body


# ----------------------------------------------------------------------------- results

@dataclass(frozen=True)
class EventResult:
    """What the API did with one reported event."""

    source_event_id: str
    status: EventStatus
    ledger_id: int | None = None      # the ledger event that recorded it (accepted and duplicate)
    late: bool = False                # recorded long after it occurred
    code: str | None = None           # why it was refused
    message: str | None = None

    @property
    def applied(self) -> bool:
        """The event is in the ledger: accepted now, or by an earlier send of the same id."""
        return self.status in ("accepted", "duplicate")

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "EventResult":
        return cls(source_event_id=body["sourceEventId"], status=body["status"], ledger_id=body.get("ledgerId"),
                   late=bool(body.get("late")), code=body.get("code"), message=body.get("message"))


@dataclass(frozen=True)
class Ref:
    """A catalogue entry a case points at: center, department, window or item."""

    id: str
    code: str
    name: str

    @classmethod
    def from_json(cls, body: Mapping[str, Any] | None) -> "Ref | None":
        return cls(id=body["id"], code=body["code"], name=body["name"]) if body else None


@dataclass(frozen=True)
class Step:
    seq: int
    name: str
    status: str                       # running / done / …
    limit_days: int
    started_at: datetime
    finished_at: datetime | None
    department: Ref
    light: Light | None
    due_at: datetime | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "Step":
        clock = body.get("clock") or {}
        return cls(seq=body["seq"], name=body["name"], status=body["status"], limit_days=body["limitDays"],
                   started_at=_instant(body["startedAt"]),  # type: ignore[arg-type]
                   finished_at=_instant(body.get("finishedAt")),
                   department=Ref.from_json(body["department"]),  # type: ignore[arg-type]
                   light=clock.get("light"), due_at=_instant(clock.get("dueAt")))


@dataclass(frozen=True)
class LedgerEntry:
    """One event of the case's history as the tamper-evident ledger recorded it."""

    id: int
    seq: int
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    lag_seconds: float
    late: bool
    actor: str | None
    source: str | None
    data: Any

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "LedgerEntry":
        return cls(id=body["id"], seq=body["seq"], kind=body["kind"],
                   occurred_at=_instant(body["occurredAt"]),  # type: ignore[arg-type]
                   recorded_at=_instant(body["recordedAt"]),  # type: ignore[arg-type]
                   lag_seconds=body["lagSeconds"], late=body["late"], actor=body.get("actor"),
                   source=body.get("source"), data=body.get("data"))


@dataclass(frozen=True)
class Case:
    """A case as lists show it: where it is, its light and deadline, and its running steps."""

    id: str
    number: str
    status: str                       # CaseStatus name: ACCEPTED, SUPPLEMENT, COMPLETED …
    status_label: str
    light: Light | None
    accepted_at: datetime | None
    due_at: datetime | None
    completed_at: datetime | None
    channel: str
    applicant_name: str | None
    reported_late: bool
    center: Ref
    department: Ref
    item: Ref
    window: Ref | None
    running_steps: list[Step]

    @classmethod
    def _fields(cls, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(id=body["id"], number=body["number"], status=body["status"], status_label=body["statusLabel"],
                    light=body.get("light"), accepted_at=_instant(body.get("acceptedAt")),
                    due_at=_instant(body.get("dueAt")), completed_at=_instant(body.get("completedAt")),
                    channel=body["channel"], applicant_name=body.get("applicantName"),
                    reported_late=body["reportedLate"], center=Ref.from_json(body["center"]),
                    department=Ref.from_json(body["department"]), item=Ref.from_json(body["item"]),
                    window=Ref.from_json(body.get("window")),
                    running_steps=[Step.from_json(s) for s in body["runningSteps"]])

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "Case":
        return cls(**cls._fields(body))


@dataclass(frozen=True)
class CaseDetail(Case):
    """One case end to end: every step, and the full history from the ledger."""

    steps: list[Step] = field(default_factory=list)
    history: list[LedgerEntry] = field(default_factory=list)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "CaseDetail":
        return cls(**cls._fields(body), steps=[Step.from_json(s) for s in body["steps"]],
                   history=[LedgerEntry.from_json(e) for e in body["history"]])


@dataclass(frozen=True)
class CasePage:
    total_count: int                  # every case matching the filter, not just this page
    cases: list[Case]
    cursors: list[str]                # one per case: pass one as ``after`` to continue behind it
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "CasePage":
        edges = body["edges"]
        return cls(total_count=body["totalCount"], cases=[Case.from_json(e["node"]) for e in edges],
                   cursors=[e["cursor"] for e in edges], has_next_page=body["pageInfo"]["hasNextPage"],
                   end_cursor=body["pageInfo"]["endCursor"])


@dataclass(frozen=True)
class LightCounts:
    white: int
    yellow: int
    red: int
    paused: int


@dataclass(frozen=True)
class OverviewRow:
    name: str
    code: str | None
    center: str
    lights: LightCounts
    statuses: dict[str, int]
    complaint_lights: LightCounts      # complaints and consultations awaiting an answer
    order_lights: LightCounts          # supervision orders awaiting a reply

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "OverviewRow":
        return cls(name=body["name"], code=body.get("code"), center=body["center"],
                   lights=LightCounts(**body["lights"]),
                   statuses={s["status"]: s["count"] for s in body["statuses"]},
                   complaint_lights=LightCounts(**body["complaintLights"]),
                   order_lights=LightCounts(**body["orderLights"]))


@dataclass(frozen=True)
class Overview:
    """Counts by light and status per center and per department, as of ``as_of``."""

    as_of: datetime
    centers: list[OverviewRow]
    departments: list[OverviewRow]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "Overview":
        return cls(as_of=_instant(body["asOf"]),  # type: ignore[arg-type]
                   centers=[OverviewRow.from_json(r) for r in body["centers"]],
                   departments=[OverviewRow.from_json(r) for r in body["departments"]])


@dataclass(frozen=True)
class AuthSession:
    """A staff login: the short-lived access token and the rotating refresh token."""

    access_token: str
    refresh_token: str
    expires_in: int
    role: str
    display_name: str

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "AuthSession":
        return cls(access_token=body["accessToken"], refresh_token=body["refreshToken"],
                   expires_in=body["expiresIn"], role=body["role"], display_name=body["displayName"])
