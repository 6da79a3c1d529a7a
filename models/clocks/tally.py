"""Light tallies: how many running clocks turn yellow and red on each day, per department.

Counting a million running clocks by light on every dashboard refresh costs a scan however the
indexes are laid out. Since a clock's light follows from its instants, we keep, per department and
local day, how many running clocks reach yellow and red on that day. The count at ``now`` is then
the sum of the days before today (a few thousand small rows) plus an exact index range count of
the clocks whose instant falls earlier today. The tally is a projection of the clocks, updated in
the same transaction as they are, and ``rebuild`` recomputes it from the clocks alone.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from esupervision.models.clocks.clock import LOCAL_TZ, Clock, ClockState, local_date

NO_DEPARTMENT = uuid.UUID(int=0)
Key = tuple[str, uuid.UUID, date, str]


class LightTally(SQLModel, table=True):
    """Running clocks of a subject type and department whose ``kind`` instant falls on ``day``."""

    __tablename__ = "light_tally"

    subject_type: str = Field(primary_key=True)
    department_id: uuid.UUID = Field(primary_key=True)
    day: date = Field(primary_key=True, sa_type=Date)
    kind: str = Field(primary_key=True)   # yellow / red
    count: int = 0


def contribution(clock: Any) -> tuple[Key, Key] | None:
    """The two tally keys a clock counts in (its yellow day and its red day), or None when it
    does not count (not running)."""
    if clock.state != ClockState.RUNNING.value or clock.red_at is None:
        return None
    dept = clock.department_id or NO_DEPARTMENT
    yellow = clock.yellow_at if clock.yellow_at is not None else clock.red_at
    return ((clock.subject_type, dept, local_date(yellow), "yellow"),
            (clock.subject_type, dept, local_date(clock.red_at), "red"))


def add_change(deltas: Counter, before: tuple[Key, Key] | None, after: tuple[Key, Key] | None) -> None:
    """Record in ``deltas`` that one clock's contribution went from ``before`` to ``after``."""
    if before == after:
        return
    for key in before or ():
        deltas[key] -= 1
    for key in after or ():
        deltas[key] += 1


def apply(session: Session, deltas: Counter) -> None:
    """Add ``deltas`` to the tally, in key order (two writers never wait on each other in a cycle)."""
    rows = [{"subject_type": k[0], "department_id": k[1], "day": k[2], "kind": k[3], "count": n}
            for k, n in sorted(deltas.items()) if n]
    if not rows:
        return
    statement = _upsert(session.get_bind().dialect.name)
    for start in range(0, len(rows), 1000):
        session.execute(statement, rows[start:start + 1000])


@lru_cache
def _upsert(dialect: str) -> Any:
    """The tally's add-on-conflict statement, built once per dialect: every transaction that moves
    a clock runs it, and building it cost more than running it for a few rows."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = LightTally.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["subject_type", "department_id", "day", "kind"],
        set_={"count": table.c.count + statement.excluded["count"]})


def counts(session: Session, *, now: datetime, subject_type: str,
           department_ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, dict[str, int]]:
    """Running clocks per department at ``now``: white, yellow and red."""
    today = local_date(now)
    midnight = datetime.combine(today, time(0), LOCAL_TZ)
    tally = LightTally.__table__  # type: ignore[attr-defined]
    query = (select(tally.c.department_id, tally.c.kind,
                    func.sum(tally.c.count).filter(tally.c.day < today),
                    func.sum(tally.c.count))
             .where(tally.c.subject_type == subject_type).group_by(tally.c.department_id, tally.c.kind))
    wanted = list(department_ids) if department_ids is not None else None
    if wanted is not None:
        query = query.where(tally.c.department_id.in_(wanted))
    past: Counter = Counter()
    total: Counter = Counter()
    departments: set[uuid.UUID] = set()
    for dept, kind, before_today, all_days in session.execute(query):
        departments.add(dept)
        past[(dept, kind)] += int(before_today or 0)
        if kind == "red":
            total[dept] += int(all_days or 0)
    if not departments:
        return {}
    # Clocks reaching yellow or red earlier today: an index range per department.
    for kind, column in (("yellow", Clock.yellow_at), ("red", Clock.red_at)):
        today_query = (select(Clock.department_id, func.count())
                       .where(Clock.state == ClockState.RUNNING.value, Clock.subject_type == subject_type,
                              Clock.department_id.in_(sorted(departments, key=str)),  # type: ignore[union-attr]
                              and_(column >= midnight, column <= now))
                       .group_by(Clock.department_id))
        for dept, n in session.execute(today_query):
            past[(dept, kind)] += n
    out: dict[uuid.UUID, dict[str, int]] = {}
    for dept in departments:
        red = past[(dept, "red")]
        reached_yellow = max(past[(dept, "yellow")], red)
        out[dept] = {"white": total[dept] - reached_yellow, "yellow": reached_yellow - red, "red": red}
    return out


def rebuild(session: Session) -> int:
    """Recompute the whole tally from the running clocks; returns the number of tally rows."""
    session.execute(delete(LightTally))
    deltas: Counter = Counter()
    columns = (Clock.id, Clock.state, Clock.subject_type, Clock.department_id, Clock.yellow_at, Clock.red_at)
    last = None
    while True:
        query = select(*columns).where(Clock.state == ClockState.RUNNING.value).order_by(Clock.id).limit(20000)
        if last is not None:
            query = query.where(Clock.id > last)
        rows = session.execute(query).all()
        if not rows:
            break
        for row in rows:
            add_change(deltas, None, contribution(row))
        last = rows[-1].id
    apply(session, deltas)
    return sum(1 for n in deltas.values() if n)
