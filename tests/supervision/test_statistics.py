"""Efficiency statistics equal, case for case, what the ledger says.

A small city's history is reported through the service functions (online and window cases,
supplements, special procedures, extensions, steps, completions early / on time / overdue,
rejections, withdrawals, some reported as they happen and some entered a day later); the test
then recomputes every figure from the raw ledger events on its own and compares.
"""
from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.clocks.calendar import calendar_for
from esupervision.models.cases.casework import deem_accepted, ingest
from esupervision.models.catalogue.catalogue import Center, Department, Staff, Window, create_staff, create_window
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.ledger.replay import replay
from esupervision.models.cases.report import CaseAction
from esupervision.models.supervision.statistics import GroupBy, compute_statistics, p90
from esupervision.models.supervision.rollup import StatisticsDay, StatisticsHandling
from esupervision.models.ledger.transaction import transaction
from tests.builders import build_city, event

SH = ZoneInfo("Asia/Shanghai")
A = CaseAction


def _at(day: date, hour: float) -> datetime:
    return datetime.combine(day, time(0), SH) + timedelta(hours=hour)


def build_history(engine: Any, cases: int = 90, seed: int = 5) -> None:
    """A city center's autumn: ``cases`` cases reported through ``ingest``, each transaction at
    the instant the report reaches us (as it happens, or a day after the case's last event)."""
    build_city(engine)
    with transaction(engine, actor="test") as tx:
        city = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        depts = {d.code: d for d in tx.session.scalars(select(Department))}
        w1 = tx.session.scalars(select(Window).where(Window.code == "W01")).one()
        w2 = create_window(tx, center=city, department=depts["ZJJ"], code="W02", name="2号窗口")
        create_staff(tx, center=city, code="S02", name="王强", department=depts["ZJJ"], window=w2)
        create_staff(tx, center=city, code="S03", name="陈静", department=depts["SCJ"], window=w1)
    rng = random.Random(seed)
    reports: list[tuple[datetime, int, Any]] = []   # (recorded at, order, event)
    deem: list[tuple[datetime, str]] = []
    order = 0
    for n in range(cases):
        number = f"ST-{n:04d}"
        item, window, staff = rng.choice([("SCJ-001", "W01", "S01"), ("SCJ-001", "W01", "S03"),
                                          ("ZJJ-JOINT", "W02", "S02"), ("SCJ-SVC", "W01", None)])
        day = date(2026, 9, 1) + timedelta(days=rng.randrange(75))
        t = _at(day, 9 + rng.random() * 7)
        create = {"center_code": "C01", "item_code": item, "window_code": window, "staff_code": staff,
                  "applicant_name": "申请人", "attributes": {"applicant_phone": f"139{n:08d}"}}
        events = []
        online = rng.random() < 0.35
        if online:
            events.append(event(number, A.SUBMIT, t, channel="online", **create))
            if rng.random() < 0.1:
                # Never answered: accepted by law (art. 32) when its acceptance clock runs out.
                deem.append((t + timedelta(days=9), number))
            elif rng.random() < 0.1:
                t += timedelta(hours=5)
                events.append(event(number, A.REJECT, t, attributes={"reason": "材料不全"}))
            else:
                if rng.random() < 0.2:
                    t += timedelta(hours=3)
                    events.append(event(number, A.REQUEST_SUPPLEMENT, t))
                    t += timedelta(days=rng.randint(1, 4))
                    events.append(event(number, A.SUPPLEMENT_RECEIVED, t))
                t += timedelta(hours=rng.randint(1, 30))
                events.append(event(number, A.ACCEPT, t))
        else:
            events.append(event(number, A.ACCEPT, t, **create))
        accepted = any(e.action is A.ACCEPT for e in events)
        if accepted:
            if item == "SCJ-001" and rng.random() < 0.5:
                t += timedelta(hours=rng.randint(2, 20))
                events.append(event(number, A.ADVANCE, t, step_name="受理"))
            if rng.random() < 0.25:
                t += timedelta(hours=rng.randint(2, 30))
                events.append(event(number, A.REQUEST_SUPPLEMENT, t))
                t += timedelta(days=rng.randint(1, 6))
                events.append(event(number, A.SUPPLEMENT_RECEIVED, t))
            if rng.random() < 0.12:
                t += timedelta(hours=rng.randint(2, 30))
                events.append(event(number, A.SUSPEND, t, attributes={"kind": "expert_review"}))
                t += timedelta(days=rng.randint(2, 8))
                events.append(event(number, A.RESUME, t))
            if item != "SCJ-SVC" and rng.random() < 0.1:
                t += timedelta(hours=2)
                events.append(event(number, A.EXTEND, t, attributes={"days": 3, "approved_by": "王局长"}))
            end = rng.random()
            t += timedelta(days=rng.choice([0, 1, 2, 4, 6, 9, 14, 21]), hours=rng.randint(1, 6))
            if end < 0.72:
                result = "denied" if rng.random() < 0.1 else "approved"
                events.append(event(number, A.COMPLETE, t, attributes={"result": result}))
            elif end < 0.82:
                events.append(event(number, A.REJECT, t, attributes={"reason": "不符合条件"}))
            elif end < 0.87:
                events.append(event(number, A.WITHDRAW, t))
            # else: still in hand
        late = rng.random() < 0.3
        for e in events:
            recorded = (events[-1].occurred_at + timedelta(hours=26)) if late else e.occurred_at + timedelta(minutes=1)
            reports.append((recorded, order, e))
            order += 1
    pending = sorted(reports, key=lambda r: (r[0], r[1]))
    deem.sort()
    i = 0
    while i < len(pending) or deem:
        if deem and (i >= len(pending) or deem[0][0] <= pending[i][0]):
            at, number = deem.pop(0)
            with transaction(engine, now=at, actor="system") as tx:
                deem_accepted(tx, number)
            continue
        recorded = pending[i][0]
        batch = []
        while i < len(pending) and pending[i][0] == recorded:
            batch.append(pending[i][2])
            i += 1
        with transaction(engine, now=recorded, actor="dept:test") as tx:
            outcomes = ingest(tx, batch, source="dept:test")
        assert all(o.status == "accepted" for o in outcomes), [o for o in outcomes if o.status != "accepted"]


# ----------------------------------------------------------------------------- the oracle

CASE_FIGURES = ("received", "accepted", "handled", "completed", "on_time", "early", "overdue", "over_legal_limit",
                "returned",
                "supplement_requests", "suspended_days", "average_handling_days", "p90_handling_days",
                "on_time_rate", "early_rate")


def figures_from_ledger(session: Session, period_from: date, period_to: date, group: str,
                        **filters: uuid.UUID | None) -> dict[str | None, dict[str, Any]]:
    """Every case figure recomputed from the raw ledger events alone (rows folded from changes)."""
    rows: dict[str, dict[str, dict[str, Any]]] = {"case": {}, "clock": {}}
    seen: set[str] = set()
    facts: dict[str, list[tuple[str, date, dict[str, Any]]]] = defaultdict(list)
    for ev in session.scalars(select(LedgerEvent).order_by(LedgerEvent.id)):
        for change in ev.changes:
            table = rows.get(change["table"])
            if table is None:
                continue
            if "values" in change:
                table[change["id"]] = dict(change["values"])
            else:
                table[change["id"]].update(change["set"])
        if ev.subject_type != "case":
            continue
        cid = str(ev.subject_id)
        day = ev.occurred_at.astimezone(SH).date()
        extra: dict[str, Any] = {}
        if cid not in seen:
            seen.add(cid)
            facts[cid].append(("received", day, extra))
        kind = ev.kind.removeprefix("case.")
        if kind == "complete":
            case = rows["case"][cid]
            clock = rows["clock"][str(case["clock_id"])]
            legal = rows["clock"][str(case["legal_clock_id"])]
            extra = {"outcome": clock["outcome"], "paused": clock["paused_days"], "legal": legal["outcome"],
                     "accepted_at": datetime.fromisoformat(case["accepted_at"]), "at": ev.occurred_at,
                     "center_id": case["center_id"]}
        facts[cid].append((kind, day, extra))
    out: dict[str | None, dict[str, Any]] = {}
    calendars: dict[str, Any] = {}
    for cid, case_facts in facts.items():
        case = rows["case"][cid]
        if any(v is not None and str(case[k]) != str(v) for k, v in filters.items()):
            continue
        key = case[f"{group}_id"]
        key = None if key is None else str(key)
        figures = out.setdefault(key, Counter())
        accepted_day = next((d for k, d, _ in case_facts if k in ("accept", "deemed_accepted")), None)
        ended_day = next((d for k, d, _ in case_facts if k in ("complete", "reject", "withdraw")), None)
        if accepted_day is not None and accepted_day <= period_to and (ended_day is None or ended_day >= period_from):
            figures["handled"] += 1
        for kind, day, extra in case_facts:
            if not period_from <= day <= period_to:
                continue
            if kind == "received":
                figures["received"] += 1
            elif kind in ("accept", "deemed_accepted"):
                figures["accepted"] += 1
            elif kind == "reject":
                figures["returned"] += 1
            elif kind == "request_supplement":
                figures["supplement_requests"] += 1
            elif kind == "complete":
                figures["completed"] += 1
                figures["overdue" if extra["outcome"] == "overdue" else "on_time"] += 1
                figures["early"] += extra["outcome"] == "early"
                figures["over_legal_limit"] += extra["legal"] == "overdue"
                figures["suspended_days"] += extra["paused"]
                calendar = calendars.setdefault(extra["center_id"], calendar_for(session, uuid.UUID(extra["center_id"])))
                start, end = extra["accepted_at"].astimezone(SH).date(), extra["at"].astimezone(SH).date()
                days = max(0, sum(calendar.is_working(start + timedelta(days=i))
                                  for i in range(1, (end - start).days + 1)) - extra["paused"])
                figures[("days", days)] += 1
    result: dict[str | None, dict[str, Any]] = {}
    for key, figures in out.items():
        days = Counter({k[1]: n for k, n in figures.items() if isinstance(k, tuple)})
        plain = {k: figures.get(k, 0) for k in ("received", "accepted", "handled", "completed", "on_time", "early",
                                                "overdue", "over_legal_limit", "returned", "supplement_requests",
                                                "suspended_days")}
        if not any(plain.values()):
            continue
        n = sum(days.values())
        ordered = sorted(v for v, c in days.items() for _ in range(c))
        plain["average_handling_days"] = round(sum(ordered) / n, 2) if n else None
        plain["p90_handling_days"] = ordered[-(-9 * n // 10) - 1] if n else None
        done = plain["completed"]
        plain["on_time_rate"] = round(plain["on_time"] / done, 4) if done else None
        plain["early_rate"] = round(plain["early"] / done, 4) if done else None
        result[key] = plain
    return result


def table_figures(table: Any) -> dict[str | None, dict[str, Any]]:
    return {None if r.key_id is None else str(r.key_id): {k: getattr(r, k) for k in CASE_FIGURES}
            for r in table.rows}


PERIODS = [(date(2026, 9, 1), date(2026, 12, 31)), (date(2026, 10, 1), date(2026, 10, 31)),
           (date(2026, 9, 15), date(2026, 9, 15)), (date(2026, 11, 2), date(2026, 11, 20))]


@pytest.fixture
def history(engine):
    build_history(engine)
    return engine


def test_statistics_equal_the_ledger_case_for_case(history):
    with Session(history) as s:
        windows = {w.code: w.id for w in s.scalars(select(Window))}
        staff = {p.code: p.id for p in s.scalars(select(Staff))}
        depts = {d.code: d.id for d in s.scalars(select(Department))}
        assert s.scalar(select(func.count()).select_from(LedgerEvent).where(LedgerEvent.kind == "case.complete")) > 30
        for period_from, period_to in PERIODS:
            for group in GroupBy:
                table = compute_statistics(s, period_from=period_from, period_to=period_to, group_by=group)
                expected = figures_from_ledger(s, period_from, period_to, group.value)
                assert table_figures(table) == expected, (period_from, group)
                # The totals row is the sum of the rows, the rates and percentiles of all cases.
                every = figures_from_ledger(s, period_from, period_to, "center")
                assert len(every) == 1
                assert {k: getattr(table.totals, k) for k in CASE_FIGURES} == next(iter(every.values()))
        # Filters: a department by window and by item, a window by staff, a staff member alone.
        year = (date(2026, 9, 1), date(2026, 12, 31))
        for group, filters in [(GroupBy.WINDOW, {"department_id": depts["SCJ"]}),
                               (GroupBy.ITEM, {"department_id": depts["SCJ"]}),
                               (GroupBy.STAFF, {"window_id": windows["W01"]}),
                               (GroupBy.DEPARTMENT, {"staff_id": staff["S03"]}),
                               (GroupBy.CENTER, {"window_id": windows["W02"]})]:
            table = compute_statistics(s, period_from=year[0], period_to=year[1], group_by=group, **filters)
            assert table_figures(table) == figures_from_ledger(s, *year, group.value, **filters), (group, filters)
            assert table.rows


def test_replay_rebuilds_the_rollup_exactly(history):
    def stored(s: Session) -> tuple[set, set]:
        return ({tuple(r) for r in s.execute(select(StatisticsDay.__table__))},  # type: ignore[attr-defined]
                {tuple(r) for r in s.execute(select(StatisticsHandling.__table__))})  # type: ignore[attr-defined]

    with Session(history) as s:
        live = stored(s)
        before = compute_statistics(s, period_from=date(2026, 9, 1), period_to=date(2026, 12, 31),
                                    group_by=GroupBy.STAFF)
    assert live[0] and live[1]
    with Session(history) as s:
        counts = replay(s)
        s.commit()
    with Session(history) as s:
        assert stored(s) == live
        assert counts["statistics_day"] == len(live[0])
        after = compute_statistics(s, period_from=date(2026, 9, 1), period_to=date(2026, 12, 31),
                                   group_by=GroupBy.STAFF)
    assert after == before


def test_a_period_that_ends_before_it_starts_is_refused_and_changes_nothing(engine, fixed_time):
    build_city(engine)
    with Session(engine) as s:
        events = s.scalar(select(func.count()).select_from(LedgerEvent))
        with pytest.raises(DomainError) as refused:
            compute_statistics(s, period_from=date(2026, 10, 31), period_to=date(2026, 10, 1),
                               group_by=GroupBy.DEPARTMENT)
        assert refused.value.code == ErrorCode.INVALID_PERIOD
        with pytest.raises(DomainError) as refused:   # past the calendar's years
            compute_statistics(s, period_from=date(2026, 1, 1), period_to=date(9999, 12, 31),
                               group_by=GroupBy.DEPARTMENT)
        assert refused.value.code == ErrorCode.INVALID_PERIOD
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerEvent)) == events
        assert s.scalar(select(func.count()).select_from(StatisticsDay)) == 0


def test_staff_and_item_together_are_refused(engine, fixed_time):
    build_city(engine)
    with Session(engine) as s:
        item_id = uuid.uuid4()
        with pytest.raises(DomainError) as refused:
            compute_statistics(s, period_from=date(2026, 10, 1), period_to=date(2026, 10, 31),
                               group_by=GroupBy.STAFF, item_id=item_id)
        assert refused.value.code == ErrorCode.STATISTICS_FILTER_UNSUPPORTED


def test_p90_is_the_nearest_rank():
    assert p90(Counter()) is None
    assert p90(Counter({3: 1})) == 3
    assert p90(Counter({v: 1 for v in range(1, 11)})) == 9
    assert p90(Counter({1: 9, 30: 1})) == 1
    assert p90(Counter({1: 8, 30: 2})) == 30


# ----------------------------------------------------------------------------- other subjects

SUBJECT_FIGURES = ("urges", "urges_answered_on_time", "orders", "orders_answered_on_time", "complaints",
                   "evaluations", "evaluation_score", "errors")


def add_supervision(engine: Any, seed: int = 3) -> None:
    """Urges, orders (some answered, on time or not), complaints and consultations, ratings, on
    top of ``build_history``'s cases, each through its own service function."""
    from esupervision.models.access.scope import Role, Viewer
    from esupervision.models.cases.case import Case
    from esupervision.models.public.complaint import ComplaintKind, file_complaint
    from esupervision.models.public.evaluation import rate_case
    from esupervision.models.supervision.orders import Target, create_urge, issue_order, reply_to_order, reply_to_urge

    rng = random.Random(seed)
    supervisor = Viewer(role=Role.SUPERVISOR, username="sup")
    with Session(engine) as s:
        cases = list(s.scalars(select(Case).order_by(Case.number)))
    open_cases = [c for c in cases if c.status in ("accepted", "supplement", "suspended")]
    done = [c for c in cases if c.status == "completed"]
    assert len(open_cases) >= 3 and len(done) >= 10
    at = _at(date(2026, 11, 24), 10)
    for i, case in enumerate(open_cases):
        leader = Viewer(role=Role.DEPARTMENT_LEADER, department_id=case.department_id, username="leader")
        with transaction(engine, now=at + timedelta(minutes=i)) as tx:
            urge = create_urge(tx, target=Target(case_number=case.number), message="请尽快办理", by=supervisor)
        if i % 3:
            # Answered the same day, or after its reply deadline has passed.
            late = timedelta(days=6) if i % 3 == 2 else timedelta(hours=2)
            with transaction(engine, now=at + late + timedelta(minutes=i)) as tx:
                reply_to_urge(tx, urge_id=urge.id, reply="已督促承办人", by=leader)
        if i % 2 == 0:
            with transaction(engine, now=at + timedelta(minutes=30 + i)) as tx:
                order = issue_order(tx, target=Target(case_number=case.number), message="限期办结", by=supervisor)
            if i % 4 == 0:
                with transaction(engine, now=at + timedelta(hours=3, minutes=i)) as tx:
                    reply_to_order(tx, order_id=order.id, reply="已办理", by=leader)
    department = Viewer(role=Role.SUPERVISOR, username="sup")
    with transaction(engine, now=at) as tx:
        file_complaint(tx, filer=department, kind=ComplaintKind.COMPLAINT, content="窗口无人", phone="13900000001",
                       center_code="C01")
    for case in rng.sample(done, 10):
        applicant = Viewer(role=Role.APPLICANT, applicant_phone=case.applicant_phone)
        when = case.completed_at + timedelta(hours=rng.randint(1, 100))
        with transaction(engine, now=when) as tx:
            rate_case(tx, number=case.number, score=rng.randint(1, 5), phone=case.applicant_phone)
        kind = rng.choice([ComplaintKind.COMPLAINT, ComplaintKind.CONSULTATION])
        with transaction(engine, now=when + timedelta(hours=1)) as tx:
            file_complaint(tx, filer=applicant, kind=kind, content="办理太慢", case_number=case.number)


def subject_figures_from_ledger(session: Session, period_from: date, period_to: date, group: str,
                                **filters: uuid.UUID | None) -> dict[str | None, dict[str, Any]]:
    """Urges, orders, complaints, ratings and faults, folded from the ledger's changes and counted."""
    tables = ("urge", "supervision_order", "complaint", "evaluation", "fault")
    rows: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in tables}
    for changes in session.scalars(select(LedgerEvent.changes).order_by(LedgerEvent.id)):
        for change in changes:
            table = rows.get(change["table"])
            if table is None:
                continue
            if "values" in change:
                table[change["id"]] = dict(change["values"])
            else:
                table[change["id"]].update(change["set"])

    def day(value: str | None) -> date | None:
        return None if value is None else datetime.fromisoformat(value).astimezone(SH).date()

    def instant(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    out: dict[str | None, Counter] = defaultdict(Counter)
    scores: dict[str | None, int] = defaultdict(int)
    when = {"urge": "created_at", "supervision_order": "issued_at", "complaint": "filed_at",
            "evaluation": "rated_at", "fault": "occurred_at"}
    for table, by_id in rows.items():
        for row in by_id.values():
            if not period_from <= day(row[when[table]]) <= period_to:
                continue
            if any(v is not None and str(row.get(k)) != str(v) for k, v in filters.items()):
                continue
            key = row.get(f"{group}_id")
            key = None if key is None else str(key)
            figures = out[key]
            if table == "urge":
                figures["urges"] += 1
                figures["urges_answered_on_time"] += row["replied_at"] is not None and (
                    row["reply_due_at"] is None or instant(row["replied_at"]) <= instant(row["reply_due_at"]))
            elif table == "supervision_order":
                figures["orders"] += 1
                figures["orders_answered_on_time"] += row["replied_on_time"] is True
            elif table == "complaint":
                figures["complaints"] += row["kind"] == "complaint"
            elif table == "evaluation":
                figures["evaluations"] += 1
                scores[key] += row["score"]
            elif row["status"] != "revoked":
                figures["errors"] += 1
    result = {}
    for key, figures in out.items():
        plain = {k: figures.get(k, 0) for k in SUBJECT_FIGURES if k != "evaluation_score"}
        plain["evaluation_score"] = round(scores[key] / plain["evaluations"], 2) if plain["evaluations"] else None
        result[key] = plain
    return result


def test_urges_orders_complaints_ratings_and_errors_equal_the_ledger(engine):
    build_history(engine, cases=45, seed=7)
    add_supervision(engine)
    with Session(engine) as s:
        depts = {d.code: d.id for d in s.scalars(select(Department))}
        totals = Counter()
        for period_from, period_to in [(date(2026, 9, 1), date(2026, 12, 31)), (date(2026, 11, 24), date(2026, 11, 24)),
                                       (date(2026, 10, 1), date(2026, 10, 31))]:
            for group in GroupBy:
                table = compute_statistics(s, period_from=period_from, period_to=period_to, group_by=group)
                expected = subject_figures_from_ledger(s, period_from, period_to, group.value)
                got = {None if r.key_id is None else str(r.key_id): {k: getattr(r, k) for k in SUBJECT_FIGURES}
                       for r in table.rows}
                assert {k: v for k, v in got.items() if any(v.values())} == \
                    {k: v for k, v in expected.items() if any(v.values())}, (period_from, group)
                if group is GroupBy.CENTER and period_to.month == 12:
                    totals.update({k: getattr(table.totals, k) for k in SUBJECT_FIGURES if k != "evaluation_score"})
        table = compute_statistics(s, period_from=date(2026, 9, 1), period_to=date(2026, 12, 31),
                                   group_by=GroupBy.WINDOW, department_id=depts["SCJ"])
        expected = subject_figures_from_ledger(s, date(2026, 9, 1), date(2026, 12, 31), "window",
                                               department_id=depts["SCJ"])
        assert {str(r.key_id) if r.key_id else None: r.errors for r in table.rows if r.errors} == \
            {k: v["errors"] for k, v in expected.items() if v["errors"]}
    # The history holds every kind, so no figure is compared only as zero.
    assert all(totals[k] > 0 for k in SUBJECT_FIGURES if k != "evaluation_score"), totals


def test_statistics_of_a_real_log_equal_its_ledger(engine):
    """The receipt log of a Dutch municipality (1,434 cases, none written by us), imported through
    the department-report service: every case figure equals the ledger's, by every grouping."""
    from esupervision.importing.run import import_file
    from tests.cases.test_import_readers import data_file

    counts = import_file(engine, data_file("receipt.xes.gz"), "receipt")
    assert counts["refused"] == 0
    with Session(engine) as s:
        first, last = s.execute(select(func.min(LedgerEvent.occurred_at), func.max(LedgerEvent.occurred_at))
                                .where(LedgerEvent.subject_type == "case")).one()
        whole = (first.astimezone(SH).date(), last.astimezone(SH).date())
        middle = whole[0] + (whole[1] - whole[0]) / 2
        month = (middle.replace(day=1), (middle.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1))
        for period_from, period_to in (whole, month):
            for group in GroupBy:
                table = compute_statistics(s, period_from=period_from, period_to=period_to, group_by=group)
                assert table_figures(table) == figures_from_ledger(s, period_from, period_to, group.value), group
        table = compute_statistics(s, period_from=whole[0], period_to=whole[1], group_by=GroupBy.CENTER)
    assert table.totals.completed >= 1000 and table.totals.overdue > 0 and table.totals.p90_handling_days
