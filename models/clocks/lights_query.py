"""Counts and lists by light, read straight from the stored instants through the partial indexes
on running clocks (``ix_clock_running_red`` / ``ix_clock_running_yellow``): never a scan of cases."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session

from esupervision.models.cases.case import Case, CaseStatus
from esupervision.models.clocks.clock import Clock, ClockState, SubjectType
from esupervision.models.clocks.light import Light


def light_condition(light: Light, now: datetime):  # noqa: ANN201 - an SQL expression
    """The SQL condition "this running clock shows ``light`` at ``now``"."""
    if light is Light.RED:
        return Clock.red_at <= now
    if light is Light.YELLOW:
        return and_(Clock.yellow_at <= now, Clock.red_at > now)
    return Clock.yellow_at > now


def light_counts(session: Session, *, now: datetime, subject_type: SubjectType = SubjectType.CASE,
                 department_id: uuid.UUID | None = None) -> dict[uuid.UUID | None, dict[str, int]]:
    """Running clocks per department by light at ``now`` (from the light tally), plus paused ones."""
    from esupervision.models.clocks import tally

    out: dict[uuid.UUID | None, dict[str, int]] = defaultdict(
        lambda: {"white": 0, "yellow": 0, "red": 0, "paused": 0})
    wanted = [department_id] if department_id is not None else None
    for dept, lights in tally.counts(session, now=now, subject_type=subject_type.value,
                                     department_ids=wanted).items():
        out[dept].update(lights)
    paused = (select(Clock.department_id, func.count())
              .where(Clock.state == ClockState.PAUSED.value, Clock.subject_type == subject_type.value)
              .group_by(Clock.department_id))
    if department_id is not None:
        paused = paused.where(Clock.department_id == department_id)
    for dept, count in session.execute(paused):
        out[dept]["paused"] = count
    return {dept: lights for dept, lights in out.items() if any(lights.values())}


def light_counts_by_scan(session: Session, *, now: datetime,
                         subject_type: SubjectType = SubjectType.CASE) -> dict[uuid.UUID | None, dict[str, int]]:
    """The same white / yellow / red counts straight from the clocks (for checks and benchmarks)."""
    out: dict[uuid.UUID | None, dict[str, int]] = defaultdict(lambda: {"white": 0, "yellow": 0, "red": 0})
    for light in Light:
        query = (select(Clock.department_id, func.count())
                 .where(Clock.state == ClockState.RUNNING.value, Clock.subject_type == subject_type.value,
                        light_condition(light, now))
                 .group_by(Clock.department_id))
        for dept, count in session.execute(query):
            out[dept][light.value] = count
    return dict(out)


def cases_by_light(session: Session, *, light: Light, now: datetime,
                   department_id: uuid.UUID | None = None, limit: int = 50,
                   after_red_at: datetime | None = None) -> list[tuple[Case, Clock]]:
    """One page of the cases showing ``light`` at ``now``, most urgent first."""
    # Driven by the clock index in urgency order; each case is then one primary-key probe.
    query = (select(Case, Clock).select_from(Clock).join(Case, Case.id == Clock.subject_id)
             .where(Clock.state == ClockState.RUNNING.value, Clock.subject_type == SubjectType.CASE.value,
                    light_condition(light, now))
             .order_by(Clock.red_at, Clock.id).limit(limit))
    if department_id is not None:
        query = query.where(Clock.department_id == department_id)
    if after_red_at is not None:
        query = query.where(Clock.red_at > after_red_at)
    return [(case, clock) for case, clock in session.execute(query)]


def over_legal_limit_counts(session: Session, *, now: datetime) -> dict[uuid.UUID | None, int]:
    """Open cases past their legal limit (法定时限) per department at ``now``: legal-limit clocks
    running red (from the light tally) and those paused (补正, art. 45) after they turned red."""
    out: dict[uuid.UUID | None, int] = defaultdict(int)
    for dept, lights in light_counts(session, now=now, subject_type=SubjectType.LEGAL_LIMIT).items():
        if lights["red"]:
            out[dept] += lights["red"]
    paused = (select(Clock.department_id, func.count())
              .where(Clock.state == ClockState.PAUSED.value, Clock.subject_type == SubjectType.LEGAL_LIMIT.value,
                     Clock.red_at <= Clock.paused_at, Clock.red_at <= now)
              .group_by(Clock.department_id))
    for dept, count in session.execute(paused):
        out[dept] += count
    return dict(out)


def status_counts(session: Session) -> dict[tuple[uuid.UUID, uuid.UUID], dict[str, int]]:
    """Cases per (center, department) by status."""
    out: dict[tuple[uuid.UUID, uuid.UUID], dict[str, int]] = defaultdict(
        lambda: {s.value: 0 for s in CaseStatus})
    query = select(Case.center_id, Case.department_id, Case.status, func.count()).group_by(
        Case.center_id, Case.department_id, Case.status)
    for center_id, dept_id, status, count in session.execute(query):
        out[(center_id, dept_id)][status] = count
    return dict(out)


# What the overview counts besides the cases themselves: complaints and supervision orders run
# on clocks of their own, and a screen shows their lights beside the cases'.
OTHER_LIGHTS = {"complaint_lights": SubjectType.COMPLAINT, "order_lights": SubjectType.ORDER}


def overview(session: Session, *, now: datetime) -> dict[str, Any]:
    """Counts by light and status per center and per department, as of ``now``; with the lights
    of the complaints and supervision orders each department has to answer, and its open cases
    past their legal limit (``over_legal_limit``). Legal-limit clocks never count as cases."""
    from esupervision.models.catalogue.catalogue import Center, Department

    centers = {c.id: c for c in session.scalars(select(Center))}
    departments = {d.id: d for d in session.scalars(select(Department))}
    lights = light_counts(session, now=now)
    others = {key: light_counts(session, now=now, subject_type=subject) for key, subject in OTHER_LIGHTS.items()}
    over_legal = over_legal_limit_counts(session, now=now)
    statuses = status_counts(session)
    per_dept: dict[uuid.UUID, dict[str, Any]] = {}
    for (center_id, dept_id), counts in statuses.items():
        per_dept[dept_id] = {"center_id": center_id, "status": counts}
    rows = []
    totals: dict[uuid.UUID, dict[str, Any]] = {}

    def none() -> dict[str, int]:
        return {"white": 0, "yellow": 0, "red": 0, "paused": 0}
    for dept_id, dept in departments.items():
        light = lights.get(dept_id, none())
        other = {key: counts.get(dept_id, none()) for key, counts in others.items()}
        status = per_dept.get(dept_id, {}).get("status", {s.value: 0 for s in CaseStatus})
        legal = over_legal.get(dept_id, 0)
        if not any(light.values()) and not any(status.values()) and not legal and not any(
                any(counts.values()) for counts in other.values()):
            continue
        rows.append({"department": dept.name, "department_code": dept.code,
                     "center": centers[dept.center_id].name, "lights": light, "status": status,
                     "over_legal_limit": legal, **other})
        total = totals.setdefault(dept.center_id, {
            "center": centers[dept.center_id].name, "center_code": centers[dept.center_id].code,
            "lights": none(), "status": {s.value: 0 for s in CaseStatus}, "over_legal_limit": 0,
            **{key: none() for key in others}})
        total["over_legal_limit"] += legal
        for key, value in light.items():
            total["lights"][key] += value
        for key, value in status.items():
            total["status"][key] += value
        for name, counts in other.items():
            for key, value in counts.items():
                total[name][key] += value
    rows.sort(key=lambda r: (-r["lights"]["red"], -r["lights"]["yellow"], r["department_code"]))
    return {"as_of": now.isoformat(), "centers": list(totals.values()), "departments": rows}
