"""The demo city for ``esv demo`` and ``esv serve --demo``: 清河市, its centers, bureaus, catalogue,
windows, staff and a few thousand cases of the last ~60 working days, all built through the
service functions users call (``create_*`` of the catalogue, ``ingest`` for cases, the light
scheduler for announcements), so the ledger holds every record and replays to the projection.

What a viewer sees right after the build:

- cases in every status and every light, by window and online, some extended, paused
  (补正 and each kind of 特别程序), rejected, withdrawn, deemed accepted (art. 32), a few
  reported late; red ones accepted long enough ago are past their legal limit too (法定时限,
  art. 42: ``overLegalLimit``, a ``legal_limit_exceeded`` fault), and a few were completed past it;
- the supervision office at work (``supervision_demo``): automatic rules, urges and orders answered
  on time, late or never, faults, accountability suggestions decided and appealed, complaints and
  consultations, ratings with bad ones followed up, and last month's published report;
- every deadline at the end of its last day (23:59:59 local, as the law counts days and the
  README says): lights change at local midnights, when the scheduler announces them (with
  ``--speed 60`` the next midnight comes within 24 minutes).

Events are replayed in time order as the departments would have reported them: one transaction
per batch of at most ``BATCH_EVENTS`` events of one local day, with ``now`` the instant of the
batch's last report (so nothing is "late" unless meant to be), the light scheduler run at
every local midnight in between, and the supervision office's afternoon (16:30) of each working
day between that day's reports. The result depends only on ``seed`` and ``now`` (ids aside).
"""
from __future__ import annotations

import itertools
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from esupervision import demo_names as names
from esupervision.models.base import utc
from esupervision.models.clocks.calendar import WorkCalendar
from esupervision.models.cases.case import SuspendKind
from esupervision.models.cases.casework import ingest
from esupervision.models.catalogue.catalogue import (JOINT_DAYS, Center, CenterLevel, ItemKind,
                                                     ItemSpec, MaterialSpec, StepSpec, create_center,
                                                     create_department, create_item, create_staff,
                                                     create_window)
from esupervision.models.clocks.clock import (LOCAL_TZ, Basis, WarningRule, compute_deadline,
                                              end_of_day, local_date)
from esupervision.models.cases.report import CaseAction, ReportedEvent
from esupervision.models.ledger.transaction import Transaction, transaction
from esupervision.supervision_demo import AFTERNOON, SupervisionStory
from esupervision.workers.lights import announce_due

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]

SOURCE = "demo"
ACTOR = "demo"
PHASES = ("departments", "items", "cases", "supervision", "lights")
WINDOW_WORKING_DAYS = 60
BATCH_EVENTS = 300
OFFICE_OPEN, OFFICE_CLOSE = time(8, 30), time(17, 30)
ONLINE_FROM, ONLINE_UNTIL = time(7, 0), time(23, 30)
# A day is usable for window events once the office has been open this long before ``now``.
MIN_OFFICE_TODAY = timedelta(minutes=20)
SAFETY = timedelta(minutes=2)     # no event closer than this to ``now``

KIND_OF = {"L": ItemKind.LICENCE, "N": ItemKind.NON_LICENCE, "P": ItemKind.PUBLIC_SERVICE}
KIND_TAG = {"L": "XK", "N": "FW", "P": "GG"}
DEFAULT_LEGAL = {"L": 20, "N": 20, "P": 10}
COMMITTED_CHOICES = {"L": (3, 5, 5, 7, 8, 10, 10, 12, 15), "N": (3, 5, 7, 7, 10, 15),
                     "P": (1, 2, 3, 3, 5, 7)}

# Shares of the cases by what they are doing at ``now``; completed cases take the rest.
SHARES = (
    ("submitted", 0.02), ("prereviewed", 0.015), ("prereview_failed", 0.01), ("deemed", 0.005),
    ("white", 0.08), ("yellow", 0.04), ("red", 0.04), ("supplement", 0.025),
    ("suspended", 0.03), ("extended", 0.015), ("rejected", 0.04), ("withdrawn", 0.02),
)
# Below this many cases the shares are taken as they fall (some statuses may be missing).
FULL_MIX_FROM = 100


class DemoDatabaseNotEmpty(ValueError):
    """The demo is built only into an empty database; it never mixes with real records."""


# ----------------------------------------------------------------------------- the catalogue

@dataclass(frozen=True)
class StepGroup:
    """Steps sharing one ``seq``: one, or one per department of a joint approval."""

    name: str
    limit_days: int
    department_codes: tuple[str | None, ...]


@dataclass(frozen=True)
class ItemPlan:
    spec: ItemSpec
    letter: str                       # L / N / P
    for_persons: bool
    groups: tuple[StepGroup, ...]

    @property
    def extension_cap(self) -> int:
        """How many days one approved extension may add (行政许可法 art. 42 and the item)."""
        return self.spec.legal_days + self.spec.default_extension() - self.spec.committed_days


@dataclass
class Desk:
    """A department's windows and people, by code."""

    windows: list[tuple[str, list[str]]] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    leader_name: str = ""


def _parse_base(base: str) -> tuple[str, int | None, bool, str]:
    head, name = base.split(":", 1)
    letter, rest = head[0], head[1:]
    for_persons = rest.endswith("*")
    digits = rest.rstrip("*")
    return letter, int(digits) if digits else None, for_persons, name


def _step_groups(committed: int, lead: str, co: Sequence[str], site_check: bool,
                 slack: bool) -> tuple[StepGroup, ...]:
    """受理 / 审查 / 决定 / 办结 with limits summing to at most ``committed``."""
    if co:
        accept = 1 if committed >= 6 else 0
        finish = 1 if committed >= 4 else 0
        decide = max(1, committed // 5) if committed >= 3 else 0
        review = committed - accept - finish - decide
        return (StepGroup("受理", accept, (lead,)), StepGroup("并联审查", review, (lead, *co)),
                StepGroup("决定", decide, (lead,)), StepGroup("办结", finish, (lead,)))
    if committed == 0:
        return (StepGroup("受理", 0, (None,)), StepGroup("办结", 0, (None,)))
    accept = 1 if committed >= 5 else 0
    finish = 1 if committed >= 3 else 0
    decide = (committed - accept - finish) * 3 // 10
    review = committed - accept - finish - decide - (1 if slack and committed >= 5 else 0)
    groups = [StepGroup("受理", accept, (None,))]
    if site_check and review >= 3:
        groups += [StepGroup("审查", review - review // 3, (None,)),
                   StepGroup("现场核查", review // 3, (None,))]
    else:
        groups.append(StepGroup("审查", review, (None,)))
    groups += [StepGroup("决定", decide, (None,)), StepGroup("办结", finish, (None,))]
    return tuple(groups)


def _materials(rng: random.Random, code: str, letter: str, for_persons: bool) -> list[MaterialSpec]:
    first = "申请表" if for_persons else ("申请书" if letter != "P" else "申请表")
    materials = [MaterialSpec(first, form_url=f"/forms/{code}/1.pdf")]
    pool = names.PERSON_MATERIALS if for_persons else names.ENTERPRISE_MATERIALS
    count = rng.randint(2, 5) if letter == "L" else rng.randint(1, 3)
    for name in rng.sample(pool, min(count, len(pool))):
        n = len(materials) + 1
        copy = "复印件" in name
        materials.append(MaterialSpec(
            name, required=not (n > 3 and rng.random() < 0.3), copies=2 if copy and rng.random() < 0.3 else 1,
            form_url=f"/forms/{code}/{n}.pdf" if name in names.FORM_MATERIALS else None))
    return materials


def plan_catalogue(rng: random.Random) -> list[ItemPlan]:
    """The 677 items of the city center, with exactly 564 in the center and 502 supervised."""
    plans: list[ItemPlan] = []
    for bureau in names.CITY_BUREAUS:
        bases = [_parse_base(b) for b in bureau.bases]
        entries: list[tuple[tuple[str, int | None, bool, str], str]] = []
        for round_ in range(max(len(v) for v in names.VARIANTS.values())):
            for base in bases:
                variants = names.VARIANTS[base[0]]
                if round_ < len(variants):
                    entries.append((base, variants[round_]))
        for n, ((letter, legal, for_persons, base_name), variant) in enumerate(entries[:bureau.items], 1):
            code = f"{bureau.code}-{KIND_TAG[letter]}-{n:03d}"
            co = names.JOINT_ITEMS.get((bureau.code, base_name), ()) if variant in ("", "（变更）") else ()
            legal_days = legal or DEFAULT_LEGAL[letter]
            if legal == 1:                       # 即办
                committed = rng.choice((0, 0, 1))
            elif co and letter == "L":
                legal_days, committed = JOINT_DAYS, rng.choice((15, 20, 25, 30))
            else:
                committed = min(legal_days, rng.choice(COMMITTED_CHOICES[letter]))
            if co and committed < 3:
                committed = min(legal_days, 3)
            groups = _step_groups(committed, bureau.code, co, site_check=letter == "L" and rng.random() < 0.3,
                                  slack=rng.random() < 0.25)
            steps = [StepSpec(g.name, g.limit_days, seq=seq, department_code=dept)
                     for seq, g in enumerate(groups, 1) for dept in g.department_codes]
            fee: dict[str, Any] = {}
            if letter != "P" and rng.random() < 0.15:
                fee = dict(rng.choice(names.FEES))
            basis = bureau.law
            if letter == "L":
                basis += "；《中华人民共和国行政许可法》第四十二条"
            spec = ItemSpec(
                code=code, name=base_name + variant, department_code=bureau.code, legal_days=legal_days,
                committed_days=committed, kind=KIND_OF[letter], joint=bool(co), co_department_codes=list(co),
                warning=WarningRule(2, 0.3) if rng.random() < 0.25 else WarningRule(),
                steps=steps, materials=_materials(rng, code, letter, for_persons), fee=fee,
                legal_basis=basis)
            plans.append(ItemPlan(spec, letter, for_persons, groups))
    if len(plans) != names.ITEM_COUNT:
        raise AssertionError(f"demo catalogue has {len(plans)} items, not {names.ITEM_COUNT}")
    # Joint approvals stay in the center and supervised: they are what supervision watches most.
    movable = [i for i, p in enumerate(plans) if not p.spec.joint]
    outside = set(rng.sample(movable, names.ITEM_COUNT - names.ITEMS_IN_CENTER))
    inside = [i for i in movable if i not in outside]
    unsupervised = set(rng.sample(inside, names.ITEMS_IN_CENTER - names.ITEMS_SUPERVISED))
    for i, plan in enumerate(plans):
        plan.spec.in_center = i not in outside
        plan.spec.supervised = plan.spec.in_center and i not in unsupervised
    return plans


# ----------------------------------------------------------------------------- staffing

@dataclass(frozen=True)
class StaffPlan:
    code: str
    name: str
    title: str
    phone: str
    window_code: str | None = None
    is_leader: bool = False


@dataclass
class DepartmentPlan:
    """A department of some center with its windows (code, name) and people."""

    center_code: str
    code: str
    name: str
    windows: list[tuple[str, str]] = field(default_factory=list)
    staff: list[StaffPlan] = field(default_factory=list)

    def desk(self) -> Desk:
        desk = Desk(leader_name=next(s.name for s in self.staff if s.is_leader))
        for code, _ in self.windows:
            at_window = [s.code for s in self.staff if s.window_code == code]
            desk.windows.append((code, at_window))
            desk.staff.extend(at_window)
        return desk


def plan_staffing(rng: random.Random) -> list[DepartmentPlan]:
    """Every department of every center, its windows and staff: 1-3 per window and a leader."""
    people = People(rng)
    phones = iter(rng.sample(range(10_000), 10_000))
    used: set[str] = set()

    def person() -> str:
        while (name := people.person()) in used:
            pass
        used.add(name)
        return name

    def staff_windows(dept: DepartmentPlan, first: int) -> int:
        n = first
        for code, _ in dept.windows:
            for k in range(rng.choice((1, 2, 2, 3))):
                dept.staff.append(StaffPlan(f"S{n:04d}", person(), "窗口负责人" if k == 0 else "窗口工作人员",
                                            f"1390000{next(phones):04d}", window_code=code))
                n += 1
        dept.staff.append(StaffPlan(f"S{n:04d}", person(), rng.choice(("科长", "科长", "局长")),
                                    f"1390000{next(phones):04d}", is_leader=True))
        return n + 1

    plans: list[DepartmentPlan] = []
    window_no, staff_no = 1, 1
    for bureau in names.CITY_BUREAUS:
        dept = DepartmentPlan(names.CITY_CODE, bureau.code, bureau.name)
        for k in range(bureau.windows):
            label = (f"{bureau.short}综合受理{window_no}号窗口" if k == 0 and bureau.windows >= 3
                     else f"{bureau.short}{window_no}号窗口")
            dept.windows.append((f"W{window_no:03d}", label))
            window_no += 1
        staff_no = staff_windows(dept, staff_no)
        plans.append(dept)
    local = [(p, len(names.LOCAL_DEPARTMENTS) - 2) for p in names.COUNTIES]
    local += [(p, names.DISTRICT_DEPARTMENT_COUNT) for p in names.DISTRICTS]
    for place, count in local:
        staff_no = 1
        for k, (code, name) in enumerate(names.LOCAL_DEPARTMENTS[:count], 1):
            title = f"国家税务总局{place.name}{name}" if code == "SWU" else f"{place.name}{name}"
            dept = DepartmentPlan(place.code, code, title, windows=[(f"W{k:02d}", f"{name}{k}号窗口")])
            staff_no = staff_windows(dept, staff_no)
            plans.append(dept)
    return plans


# ----------------------------------------------------------------------------- people

class People:
    """Names, phone numbers and obviously fake identity numbers, from one seeded generator."""

    ID_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def person(self) -> str:
        given = self.rng.choice(names.GIVEN_CHARS)
        if self.rng.random() < 0.65:
            given += self.rng.choice(names.GIVEN_CHARS)
        return self.rng.choice(names.SURNAMES) + given

    def enterprise(self) -> str:
        return (names.CITY_NAME + self.rng.choice(names.TRADE_NAMES) + self.rng.choice(names.INDUSTRIES)
                + self.rng.choice(names.ORGANISATION_FORMS))

    def id_number(self, for_persons: bool) -> str:
        """Region 99 does not exist: 18 characters shaped like a real number, never a real one."""
        rng = self.rng
        if not for_persons:   # 统一社会信用代码 shape
            return "91999900MA" + "".join(rng.choice(self.ID_CHARS) for _ in range(8))
        born = date(1955, 1, 1) + timedelta(days=rng.randint(0, 18_250))
        body = f"99{rng.randint(0, 9999):04d}{born:%Y%m%d}{rng.randint(0, 999):03d}"
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
        return body + check

    def applicant_phone(self) -> str:
        return f"1380000{self.rng.randint(0, 9999):04d}"


# ----------------------------------------------------------------------------- working days

class Days:
    """Consecutive working days around ``now``: index arithmetic is working-day arithmetic."""

    def __init__(self, calendar: WorkCalendar, now: datetime) -> None:
        self.calendar = calendar
        self.now = now
        self.now_local = now.astimezone(LOCAL_TZ)
        today = self.now_local.date()
        self.today = today
        self.days = [d for d in (today + timedelta(days=k) for k in range(-220, 120)) if calendar.is_working(d)]
        opened = datetime.combine(today, OFFICE_OPEN, LOCAL_TZ) + MIN_OFFICE_TODAY
        self.last = max(i for i, d in enumerate(self.days)
                        if d < today or (d == today and self.now_local >= opened))
        self.first = self.last - (WINDOW_WORKING_DAYS - 1)

    def __getitem__(self, index: int) -> date:
        return self.days[index]

    def opening(self, index: int) -> datetime:
        """The earliest instant a window event may have on that day."""
        return datetime.combine(self.days[index], OFFICE_OPEN, LOCAL_TZ)

    def window(self, index: int, online: bool = False) -> tuple[datetime, datetime]:
        """When events may happen that day: office hours (any waking hour online), never after now."""
        day = self.days[index]
        opens, closes = (ONLINE_FROM, ONLINE_UNTIL) if online else (OFFICE_OPEN, OFFICE_CLOSE)
        start = datetime.combine(day, opens, LOCAL_TZ)
        end = min(datetime.combine(day, closes, LOCAL_TZ), self.now_local - SAFETY)
        return start, max(end, start)


def _light(days: Days, plan: ItemPlan, accept: int, extended: int = 0) -> str:
    """The light at ``now`` of a case clock accepted on working day ``accept`` and never paused."""
    deadline = compute_deadline(days.calendar, started_at=days.opening(accept), limit_days=plan.spec.committed_days,
                                basis=Basis.WORKING, extended_days=extended, rule=plan.spec.warning)
    if days.now >= deadline.red_at:
        return "red"
    return "yellow" if days.now >= deadline.yellow_at else "white"


# ----------------------------------------------------------------------------- case stories

@dataclass
class Entry:
    """One event of a story in working-day units: ``pos`` counted days after acceptance."""

    pos: int
    rank: float
    action: CaseAction
    fields: dict[str, Any]


@dataclass
class Story:
    """One case as planned: its events on working-day indexes, then on instants."""

    plan: ItemPlan
    online: bool
    opener: dict[str, Any]            # ReportedEvent fields of the event that creates the case
    events: list[tuple[int, CaseAction, dict[str, Any]]] = field(default_factory=list)
    late_by: int = 0                  # working days between the last event and its report
    instants: list[datetime] = field(default_factory=list)
    number: str = ""

    def add(self, day: int, action: CaseAction, **fields: Any) -> None:
        if self.events and day < self.events[-1][0]:
            raise AssertionError(f"demo story goes back in time: {action} on {day}")
        self.events.append((day, action, fields))


class Storyteller:
    """Plans every case: which item, which channel, what happened on which working day."""

    def __init__(self, rng: random.Random, days: Days, items: list[ItemPlan], desks: dict[str, Desk]) -> None:
        self.rng = rng
        self.days = days
        self.items = [p for p in items if p.spec.supervised]
        self.desks = desks
        self.people = People(rng)
        # Some items are asked for far more than others (食品经营许可, 社保卡 ...).
        self.weights = [1.0 / (rank ** 0.7) for rank in range(1, len(self.items) + 1)]
        rng.shuffle(self.weights)
        self.suspend_kinds = itertools.cycle(k.value for k in SuspendKind)

    # -- choices ---------------------------------------------------------------------------

    def item(self, want: Callable[[ItemPlan], bool] = lambda p: True) -> ItemPlan:
        for _ in range(200):
            plan = self.rng.choices(self.items, self.weights)[0]
            if want(plan):
                return plan
        return self.rng.choice([p for p in self.items if want(p)])

    def staff_of(self, department: str) -> str:
        return self.rng.choice(self.desks[department].staff)

    def open_story(self, plan: ItemPlan, online: bool) -> Story:
        people = self.people
        dept = plan.spec.department_code
        opener: dict[str, Any] = {
            "center_code": names.CITY_CODE, "item_code": plan.spec.code,
            "applicant_name": people.person() if plan.for_persons else people.enterprise(),
            "channel": "online" if online else "window",
            "attributes": {"applicant_id_number": people.id_number(plan.for_persons),
                           "applicant_phone": people.applicant_phone()},
        }
        if not online:
            window, staff = self.rng.choice(self.desks[dept].windows)
            opener.update(window_code=window, staff_code=self.rng.choice(staff))
        return Story(plan, online, opener)

    # -- shapes ----------------------------------------------------------------------------

    def submit(self, story: Story, day: int) -> None:
        story.add(day, CaseAction.SUBMIT, **story.opener)

    def accept(self, story: Story, day: int, **attributes: Any) -> None:
        if story.online:
            story.add(day, CaseAction.ACCEPT, staff_code=self.staff_of(story.plan.spec.department_code),
                      attributes=attributes)
        else:
            opener = dict(story.opener)
            opener["attributes"] = {**opener["attributes"], **attributes}
            story.add(day, CaseAction.ACCEPT, **opener)

    def before_acceptance(self, story: Story, accept_day: int) -> None:
        """An online application: submitted, pre-reviewed, then accepted within 3 working days."""
        if not story.online:
            return
        submit = accept_day - self.rng.randint(0, 3)
        self.submit(story, submit)
        story.add(self.rng.randint(submit, accept_day), CaseAction.PREREVIEW_PASS)

    def walk(self, story: Story, accept: int, total: int, *, pause: tuple[int, int, str] | None = None,
             resumed: bool = True, extension: tuple[int, int] | None = None,
             end: tuple[CaseAction, dict[str, Any]] | None = None, accept_attributes: dict[str, Any] | None = None,
             activity: bool = False) -> None:
        """From acceptance through the steps, ``total`` counted working days long.

        ``pause`` = (counted day, working days paused, kind), resumed unless ``resumed`` is
        False; ``extension`` = (counted day, days); ``end`` the closing action, None for a case
        still open at ``now`` (events past the last usable day are left out).
        """
        plan, rng = story.plan, self.rng
        entries = [Entry(0, -100, CaseAction.ACCEPT, {})]
        limits = [g.limit_days + rng.uniform(0.2, 0.8) for g in plan.groups]
        whole, running = sum(limits), 0.0
        for index, group in enumerate(plan.groups[:-1]):
            running += limits[index]
            pos = min(total, round(total * running / whole))
            for dept in group.department_codes:
                fields: dict[str, Any] = {"step_name": group.name,
                                          "staff_code": self.staff_of(dept or plan.spec.department_code)}
                if len(group.department_codes) > 1:
                    fields["department_code"] = dept
                entries.append(Entry(pos, 10 * index, CaseAction.ADVANCE, fields))
            if activity and index == 0:
                entries.append(Entry(pos, 10 * index + 5, CaseAction.STEP,
                                     {"step_name": plan.groups[1].name,
                                      "attributes": {"activity": rng.choice(names.ACTIVITIES)}}))
        if pause is not None:
            pos, _, kind = pause
            action = CaseAction.REQUEST_SUPPLEMENT if kind == "supplement" else CaseAction.SUSPEND
            reason = rng.choice(names.SUPPLEMENT_REASONS) if kind == "supplement" else ""
            attributes = ({"reason": reason, "missing_materials": names.SUPPLEMENT_MATERIALS[reason]}
                          if kind == "supplement" else {"kind": kind})
            entries.append(Entry(pos, -1, action, {"attributes": attributes}))
        if extension is not None:
            pos, days = extension
            entries.append(Entry(pos, -2, CaseAction.EXTEND, {"attributes": {
                "days": days, "approved_by": self.desks[plan.spec.department_code].leader_name,
                "reason": rng.choice(names.EXTENSION_REASONS)}}))
        if end is not None:
            entries.append(Entry(total, 10 ** 6, end[0], end[1]))
        entries.sort(key=lambda e: (e.pos, e.rank))
        shift = 0
        for entry in entries:
            day = accept + entry.pos + shift
            if day > self.days.last:
                return
            if entry.action is CaseAction.ACCEPT:
                self.accept(story, day, **(accept_attributes or {}))
            elif entry.action in (CaseAction.REQUEST_SUPPLEMENT, CaseAction.SUSPEND):
                story.add(day, entry.action, **entry.fields)
                assert pause is not None
                if not resumed:
                    return
                shift += pause[1]
                if accept + entry.pos + shift > self.days.last:
                    return
                closing = (CaseAction.SUPPLEMENT_RECEIVED if entry.action is CaseAction.REQUEST_SUPPLEMENT
                           else CaseAction.RESUME)
                story.add(accept + entry.pos + shift, closing)
            else:
                story.add(day, entry.action, **entry.fields)

    # -- scenarios -------------------------------------------------------------------------

    def tell(self, scenario: str) -> Story:
        """One case of ``scenario`` (a name of ``SHARES``, or ``completed``)."""
        scenes: dict[str, Callable[[], Story]] = {
            "completed": self._completed, "submitted": self._submitted, "prereviewed": self._prereviewed,
            "prereview_failed": self._prereview_failed, "deemed": self._deemed,
            "white": lambda: self._running("white"), "yellow": lambda: self._running("yellow"),
            "red": lambda: self._running("red"), "extended": self._extended,
            "supplement": lambda: self._paused("supplement"),
            "suspended": lambda: self._paused(next(self.suspend_kinds)),
            "rejected": self._rejected, "withdrawn": self._withdrawn,
        }
        return scenes[scenario]()

    def _online(self) -> bool:
        return self.rng.random() < 0.35

    def _completed(self) -> Story:
        rng, days = self.rng, self.days
        plan = self.item()
        story = self.open_story(plan, self._online())
        c = plan.spec.committed_days
        extension = None
        if plan.extension_cap >= 1 and c >= 3 and rng.random() < 0.04:
            extension = rng.randint(1, min(plan.extension_cap, 10))
        limit = c + (extension or 0)
        roll = rng.random()
        if roll < 0.72 and limit >= 1:
            total = rng.randint(0, limit - 1)
        elif roll < 0.90 or limit == 0 and roll < 0.95:
            total = limit
        else:
            total = limit + rng.randint(1, max(2, limit // 2))
        pause = None
        roll = rng.random()
        if total >= 2 and roll < 0.16:
            kind = "supplement" if roll < 0.12 else rng.choice(list(SuspendKind)).value
            pause = (rng.randint(1, total - 1), rng.randint(1, 6), kind)
        span = total + (pause[1] if pause else 0)
        latest = days.last - span
        accept = rng.randint(min(days.first + 3, latest), latest)
        self.before_acceptance(story, accept)
        denied = rng.random() < 0.06
        result = {"attributes": {"result": "denied", "reason": rng.choice(names.DENY_REASONS)} if denied
                  else {"result": "approved"}}
        ext = (rng.randint(0, max(0, total - 1)), extension) if extension else None
        self.walk(story, accept, total, pause=pause, extension=ext, end=(CaseAction.COMPLETE, result),
                  activity=rng.random() < 0.15)
        if rng.random() < 0.015:
            story.late_by = rng.randint(2, 4)
        return story

    def _running(self, light: str, extension_days: int = 0) -> Story:
        """A case accepted and running at ``now`` whose case clock shows ``light``."""
        rng, days = self.rng, self.days
        candidates: list[int] = []
        for _ in range(50):
            plan = self.item(lambda p: p.extension_cap >= extension_days)
            candidates = [a for a in range(days.first, days.last + 1)
                          if _light(days, plan, a, extension_days) == light]
            if candidates:
                break
        accept = rng.choice(candidates or list(range(days.first, days.last + 1)))
        story = self.open_story(plan, self._online())
        self.before_acceptance(story, accept)
        elapsed = days.last - accept
        ext = (rng.randint(0, elapsed), extension_days) if extension_days else None
        self.walk(story, accept, elapsed + rng.randint(1, 3), extension=ext, activity=rng.random() < 0.15)
        return story

    def _extended(self) -> Story:
        days = self.rng.choice((5, 10))
        return self._running(self.rng.choice(("white", "yellow", "white")), extension_days=days)

    def _paused(self, kind: str) -> Story:
        rng, days = self.rng, self.days
        plan = self.item(lambda p: p.spec.committed_days >= 3 and (kind == "supplement" or p.letter == "L"))
        story = self.open_story(plan, self._online())
        accept = days.last - rng.randint(1, min(20, plan.spec.committed_days + 5))
        self.before_acceptance(story, accept)
        pause_at = rng.randint(max(1, days.last - accept - 6), days.last - accept)
        self.walk(story, accept, days.last - accept + 5, pause=(pause_at, 0, kind), resumed=False)
        return story

    def _submitted(self) -> Story:
        story = self.open_story(self.item(), online=True)
        self.submit(story, self.days.last - self.rng.randint(0, 3))
        return story

    def _prereviewed(self) -> Story:
        story = self.open_story(self.item(), online=True)
        day = self.days.last - self.rng.randint(1, 4)
        self.submit(story, day)
        story.add(self.rng.randint(day, self.days.last), CaseAction.PREREVIEW_PASS)
        return story

    def _prereview_failed(self) -> Story:
        story = self.open_story(self.item(), online=True)
        day = self.rng.randint(self.days.first, self.days.last - 1)
        self.submit(story, day)
        story.add(day + self.rng.randint(0, 1), CaseAction.PREREVIEW_FAIL,
                  attributes={"reason": self.rng.choice(names.PREREVIEW_FAIL_REASONS)})
        return story

    def _deemed(self) -> Story:
        """Submitted online and never answered: accepted by law after 5 working days (art. 32)."""
        story = self.open_story(self.item(), online=True)
        self.submit(story, self.days.last - self.rng.randint(7, 15))
        return story

    def _rejected(self) -> Story:
        rng, days = self.rng, self.days
        reason = {"attributes": {"reason": rng.choice(names.REJECT_REASONS)}}
        plan = self.item()
        online = self._online()
        story = self.open_story(plan, online)
        if online and rng.random() < 0.6:          # 不予受理 before acceptance
            day = rng.randint(days.first, days.last - 2)
            self.submit(story, day)
            story.add(day + rng.randint(1, 2), CaseAction.REJECT, **reason)
            return story
        total = rng.randint(0, max(0, plan.spec.committed_days - 1))
        accept = rng.randint(days.first, days.last - total)
        self.before_acceptance(story, accept)
        self.walk(story, accept, total, end=(CaseAction.REJECT, reason))
        return story

    def _withdrawn(self) -> Story:
        rng, days = self.rng, self.days
        plan = self.item()
        online = self._online()
        story = self.open_story(plan, online)
        if online and rng.random() < 0.5:
            day = rng.randint(days.first, days.last - 2)
            self.submit(story, day)
            story.add(day + rng.randint(0, 2), CaseAction.WITHDRAW)
            return story
        total = rng.randint(0, plan.spec.committed_days + 2)
        pause = (rng.randint(0, total), 30, "supplement") if rng.random() < 0.4 else None
        accept = rng.randint(days.first, days.last - total)
        self.before_acceptance(story, accept)
        if pause:   # withdrawn while the applicant was to supplement materials
            self.walk(story, accept, total + 10, pause=pause, resumed=False)
            day = min(days.last, story.events[-1][0] + rng.randint(1, 5))
            story.add(day, CaseAction.WITHDRAW)
        else:
            self.walk(story, accept, total, end=(CaseAction.WITHDRAW, {}))
        return story


def _scenario_counts(cases: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, share in SHARES:
        n = round(share * cases)
        if cases >= FULL_MIX_FROM:
            n = max(n, len(SuspendKind) if name == "suspended" else 1)
        counts[name] = n
    rest = cases - sum(counts.values())
    if rest < 0:   # tiny demos: trim the open shares first
        for name in reversed(list(counts)):
            cut = min(counts[name], -rest)
            counts[name] -= cut
            rest += cut
    counts["completed"] = rest
    return counts


# ----------------------------------------------------------------------------- timing

def _place_in_time(story: Story, days: Days, rng: random.Random) -> None:
    """Give every event an instant: in office hours of its working day, in order, before now."""
    by_day: dict[int, list[int]] = defaultdict(list)
    for k, (day, _, _) in enumerate(story.events):
        by_day[day].append(k)
    instants: list[datetime] = [days.now] * len(story.events)
    for day in sorted(by_day):
        ks = by_day[day]
        alone_online = len(ks) == 1 and story.events[ks[0]][1] is CaseAction.SUBMIT
        start, end = days.window(day, online=alone_online)
        seconds = max(1, int((end - start).total_seconds()))
        picks = sorted(rng.randint(0, seconds) for _ in ks)
        for k, s in zip(ks, picks):
            instants[k] = start + timedelta(seconds=s)
    # Strictly increasing, so the ledger shows each step after the one before it.
    for k in range(1, len(instants)):
        if instants[k] <= instants[k - 1]:
            instants[k] = instants[k - 1] + timedelta(seconds=1)
    story.instants = [utc(i) for i in instants]


@dataclass(frozen=True, order=True)
class Report:
    """One event as a department system sends it, and when."""

    reported_at: datetime
    order: int
    event: ReportedEvent = field(compare=False)


def _reports(stories: list[Story], days: Days) -> list[Report]:
    reports: list[Report] = []
    order = 0
    for story in stories:
        late_at = None
        if story.late_by:
            last_day = min(days.last, story.events[-1][0] + story.late_by)
            late_at = min(datetime.combine(days[last_day], time(17, 50), LOCAL_TZ), days.now_local - SAFETY)
            late_at = utc(max(late_at, story.instants[-1]))
        for k, ((_, action, fields), at) in enumerate(zip(story.events, story.instants)):
            event = ReportedEvent(source_event_id=f"{story.number}-{k + 1:02d}", case_number=story.number,
                                  action=action, occurred_at=at, **fields)
            reports.append(Report(late_at or at, order, event))
            order += 1
    reports.sort()
    return reports


def _number_cases(stories: list[Story]) -> None:
    """Case numbers like QH202611260012: the center, the day it began, its rank that day."""
    stories.sort(key=lambda s: s.instants[0])
    per_day: dict[date, int] = defaultdict(int)
    for story in stories:
        day = local_date(story.instants[0])
        per_day[day] += 1
        story.number = f"{names.CITY_CODE}{day:%Y%m%d}{per_day[day]:04d}"


# ----------------------------------------------------------------------------- writing

def _check_empty(engine: Engine, now: datetime) -> WorkCalendar:
    with transaction(engine, now=now, actor=ACTOR) as tx:
        centers = tx.session.scalar(select(func.count()).select_from(Center))
        if centers:
            raise DemoDatabaseNotEmpty(
                f"数据库中已有 {centers} 个服务中心，演示数据只能建在空数据库中 "
                f"(the database already holds {centers} centers; the demo needs an empty database)")
        return tx.calendar(None)


def _build_centers(tx: Transaction, counts: dict[str, int]) -> dict[str, Center]:
    centers = {names.CITY_CODE: create_center(tx, code=names.CITY_CODE, name=names.CITY_CENTER_NAME,
                                              level=CenterLevel.CITY)}
    for place in names.COUNTIES:
        centers[place.code] = create_center(tx, code=place.code, name=place.center_name,
                                            level=CenterLevel.COUNTY, parent_code=names.CITY_CODE)
        for township in place.townships:
            code = f"{place.code}-{names.TOWNSHIP_CODES[township]}"
            centers[code] = create_center(tx, code=code, name=f"{place.name}{township}便民服务中心",
                                          level=CenterLevel.TOWNSHIP, parent_code=place.code)
    for place in names.DISTRICTS:
        centers[place.code] = create_center(tx, code=place.code, name=place.center_name,
                                            level=CenterLevel.DISTRICT, parent_code=names.CITY_CODE)
    counts["centers"] = len(centers)
    return centers


def _build_catalogue(engine: Engine, at: datetime, staffing: list[DepartmentPlan], items: list[ItemPlan],
                     report: Progress, counts: dict[str, int]) -> None:
    """Centers, departments, windows, staff and items, in one transaction at ``at``."""
    with transaction(engine, now=at, actor=ACTOR) as tx:
        centers = _build_centers(tx, counts)
        for done, plan in enumerate(staffing, 1):
            center = centers[plan.center_code]
            dept = create_department(tx, center=center, code=plan.code, name=plan.name)
            windows = {code: create_window(tx, center=center, department=dept, code=code, name=name)
                       for code, name in plan.windows}
            for person in plan.staff:
                create_staff(tx, center=center, code=person.code, name=person.name, department=dept,
                             window=windows.get(person.window_code or ""), title=person.title,
                             phone=person.phone, is_leader=person.is_leader)
            counts["windows"] += len(windows)
            counts["staff"] += len(plan.staff)
            report("departments", done, len(staffing))
        counts["departments"] = len(staffing)
        counts["city_departments"] = sum(p.center_code == names.CITY_CODE for p in staffing)
        for done, plan in enumerate(items, 1):
            create_item(tx, center=centers[names.CITY_CODE], spec=plan.spec)
            if done % 25 == 0 or done == len(items):
                report("items", done, len(items))
    counts["items"] = len(items)
    counts["items_in_center"] = sum(p.spec.in_center for p in items)
    counts["items_supervised"] = sum(p.spec.supervised for p in items)


def _announce(engine: Engine, at: datetime) -> int:
    """The light scheduler's pass at ``at``, as it would have run then."""
    announced = 0
    while True:
        with transaction(engine, now=at, actor="system:lights") as tx:
            n = announce_due(tx, limit=500)
        announced += n
        if n < 500:
            return announced


def _local_midnights(start: datetime, end: datetime) -> list[datetime]:
    day = local_date(start) + timedelta(days=1)
    out = []
    while (m := end_of_day(day - timedelta(days=1))) <= end:
        out.append(m)
        day += timedelta(days=1)
    return out


def _replay(engine: Engine, reports: list[Report], start: datetime, now: datetime, report: Progress,
            counts: dict[str, int], afternoons: dict[date, tuple[datetime, Callable[[datetime], None]]]) -> list[str]:
    """Send the reports day by day, running the light scheduler at every local midnight and each
    of ``afternoons`` (a day's instant and what happens then) between that day's reports."""
    problems: list[str] = []
    by_day: dict[date, list[Report]] = defaultdict(list)
    for r in reports:
        by_day[local_date(r.reported_at)].append(r)
    done = 0

    def send(batch_all: list[Report]) -> None:
        nonlocal done
        for i in range(0, len(batch_all), BATCH_EVENTS):
            batch = batch_all[i:i + BATCH_EVENTS]
            with transaction(engine, now=min(now, batch[-1].reported_at), actor=ACTOR) as tx:
                outcomes = ingest(tx, [r.event for r in batch], source=SOURCE)
            for outcome in outcomes:
                if outcome.status == "refused":
                    counts["refused"] += 1
                    if len(problems) < 20:
                        problems.append(f"{outcome.source_event_id}: {outcome.code} {outcome.message}")
                else:
                    counts["events"] += 1
            done += len(batch)
            report("cases", done, len(reports))

    for midnight in [*_local_midnights(start, now), None]:
        day_before = local_date(midnight - timedelta(seconds=1)) if midnight else None
        for day in sorted(d for d in {*by_day, *afternoons} if day_before is None or d <= day_before):
            batch_all = by_day.pop(day, [])
            if day in afternoons:
                at, happen = afternoons.pop(day)
                send([r for r in batch_all if r.reported_at <= at])
                happen(at)
                batch_all = [r for r in batch_all if r.reported_at > at]
            send(batch_all)
        if midnight is not None:
            counts["light_announcements"] += _announce(engine, midnight + timedelta(seconds=1))
    counts["light_announcements"] += _announce(engine, now)
    report("lights", 1, 1)
    return problems


# ----------------------------------------------------------------------------- entry point

@dataclass
class DemoPlan:
    """The whole demo on paper: what ``build_demo`` writes, in the order it writes it."""

    items: list[ItemPlan]
    staffing: list[DepartmentPlan]
    stories: list[Story]
    reports: list[Report]


def plan_demo(calendar: WorkCalendar, *, now: datetime, cases: int, seed: int) -> DemoPlan:
    """The demo for ``now`` and ``seed``, without touching a database (the same inputs always
    give the same plan)."""
    if cases < 0:
        raise ValueError(f"cases must be >= 0, got {cases}")
    now = utc(now)
    days = Days(calendar, now)
    items = plan_catalogue(random.Random(f"{seed}:catalogue"))
    staffing = plan_staffing(random.Random(f"{seed}:staff"))
    desks = {p.code: p.desk() for p in staffing if p.center_code == names.CITY_CODE}
    rng = random.Random(f"{seed}:cases")
    teller = Storyteller(rng, days, items, desks)
    planned = _scenario_counts(cases)
    scenarios = [name for name, n in planned.items() for _ in range(n)]
    rng.shuffle(scenarios)
    stories = [teller.tell(name) for name in scenarios]
    for story in stories:
        _place_in_time(story, days, rng)
    _number_cases(stories)
    return DemoPlan(items, staffing, stories, _reports(stories, days))


def build_demo(engine: Engine, *, now: datetime, cases: int = 3000, seed: int = 7,
               progress: Progress | None = None) -> dict[str, int]:
    """Build the demo city into an empty database and return what it made.

    Counts returned: centers, departments (of every center), city_departments, items,
    items_in_center, items_supervised, windows, staff, cases, events (accepted), refused,
    light_announcements, and what the supervision story did (supervision_rules, urges, orders,
    order_replies, ratings, complaints, published_reports ...), and the counties' and districts' own business
    (local_items, local_cases, local_events, local_refused: ``esupervision.demo_local``). Deterministic for a
    given ``seed`` and ``now`` (ids aside); every record
    goes through the service functions and lands in the ledger. Raises ``DemoDatabaseNotEmpty``
    (a ValueError) when the database already holds centers, ``ValueError`` for a negative
    ``cases`` or a naive ``now``. Progress is reported as (phase, done, total), phases ``PHASES``.
    """
    now = utc(now)
    report = progress or (lambda phase, done, total: None)
    calendar = _check_empty(engine, now)
    plan = plan_demo(calendar, now=now, cases=cases, seed=seed)
    counts: dict[str, int] = defaultdict(int)
    # The catalogue is in place a few days before the first case.
    opened_at = min((s.instants[0] for s in plan.stories), default=now) - timedelta(days=3)
    _build_catalogue(engine, opened_at, plan.staffing, plan.items, report, counts)
    counts["cases"] = len(plan.stories)
    counts["events"] = counts["refused"] = counts["light_announcements"] = 0
    afternoons, story = _supervision(engine, calendar, now, seed, plan, report, counts)
    problems = _replay(engine, plan.reports, opened_at, now, report, counts, afternoons)
    if problems:
        log.warning("demo: %d events refused, e.g. %s", counts["refused"], "; ".join(problems[:5]))
    if cases:
        # The counties and districts inside the city's deployment have their own business too
        # (a thirtieth of the city's cases each), so city-wide screens show every center.
        from esupervision.demo_local import build_local_business
        counts.update(build_local_business(engine, opened_at=opened_at + timedelta(minutes=1), now=now,
                                           cases_per_center=max(1, cases // 30), seed=seed))
    if story is not None:
        from esupervision.demo_accounts import busiest_desk
        story.finish(busiest_desk(engine))
        report("supervision", 1, 1)
    return dict(counts)


def _supervision(engine: Engine, calendar: WorkCalendar, now: datetime, seed: int, plan: DemoPlan,
                 report: Progress, counts: dict[str, int]
                 ) -> tuple[dict[date, tuple[datetime, Callable[[datetime], None]]], SupervisionStory | None]:
    """The supervision office's afternoons over the demo's working days (none without cases)."""
    if not plan.stories:
        return {}, None
    days = Days(calendar, now)
    working = [days[i] for i in range(days.first, days.last + 1)]
    story = SupervisionStory(engine, working_days=working, now=now, seed=seed, counts=counts)
    instants = [datetime.combine(day, AFTERNOON, LOCAL_TZ) for day in working]
    instants = [utc(at) for at in instants if at < days.now_local - SAFETY]
    afternoons: dict[date, tuple[datetime, Callable[[datetime], None]]] = {}
    for n, at in enumerate(instants, 1):
        def happen(at: datetime, n: int = n) -> None:
            story.afternoon(at)
            report("supervision", n, len(instants) + 1)
        afternoons[local_date(at)] = (at, happen)
    return afternoons, story


def settle_past_notices(engine: Engine, *, before: datetime) -> int:
    """Mark the notices the demo's history queued before ``before`` as sent when they were
    written (by the console provider, as the embedded default sends); returns how many.

    The history runs weeks of cases in minutes: without this, ``esv serve --demo`` would send
    its twelve thousand notices at start, stamped with today's date — the console flooded, and
    staff called in the morning about cases that went red weeks ago. Notices written at the
    build's own instant (the lights due now) stay queued and go out as the server starts."""
    from sqlalchemy import update

    from esupervision.models.notices.notice import Notice, NoticeStatus

    with engine.begin() as connection:
        result = connection.execute(
            update(Notice).where(Notice.status == NoticeStatus.QUEUED.value, Notice.created_at < utc(before))
            .values(status=NoticeStatus.SENT.value, provider="console", attempts=1,
                    sent_at=Notice.created_at, finished_at=Notice.created_at, not_before=None))
    return result.rowcount
