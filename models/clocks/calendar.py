"""The working-day calendar behind every clock (dates are Asia/Shanghai local dates).

A day is a working day by the weekly pattern (Monday to Friday), unless a source says
otherwise. Sources, later ones winning:

1. the official data of the ``chinese-calendar`` package (the default; years 2004-2026 in 1.11);
2. years loaded at run time from a calendar file (a State Council notice the package does not
   know yet, see below), stored in ``calendar_year``; a loaded year replaces the package's data
   for that year's notice;
3. per-date overrides (day off or extra working day, with a name), stored in
   ``calendar_override``: global ones, then those of the center's ancestors, then the center's.

Dates 1990-01-01 to 2100-12-31 are covered. A year no source has official data for is computed
on weekends alone and every deadline touching it is *provisional* (``is_provisional``).
Arithmetic is O(1) per call: ``WorkCalendar`` keeps, for every day, the count of working days up
to it and, for every k, the day index of the k-th working day.

Which notice a date belongs to
------------------------------
The notice for year Y announces the days of Y, and also the New Year (元旦) arrangement that
reaches back into the last week of December of Y-1: the 2008 notice gave 2007-12-29 (Saturday)
as a working day and 2007-12-30/31 off; the 2012 notice gave 2011-12-31 (Saturday) as a
working day; the 2019 notice gave 2018-12-29 working and 2018-12-30/31 off. So a date from
December 25 to 31 belongs to the *next* year's notice, every other date to its own year's.
Consequences: a calendar file for Y may list dates from (Y-1)-12-25 to Y-12-24; loading Y
replaces the package's entries in exactly that window; and a deadline that reaches December 25-31
of a year whose next year has no official data is provisional too.

Calendar file format (YAML, or JSON when the name ends in ``.json``)
-------------------------------------------------------------------
::

    year: 2027                                  # required, 1990-2100
    source: "国务院办公厅关于2027年部分节假日安排的通知"   # optional, defaults to the file name
    holidays:                                   # required, not empty: 放假 (days off)
      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}   # inclusive range ...
      - {name: 端午, date: 2027-06-09}                    # ... or a single date
    workdays:                                   # optional: 调休上班 (weekend days worked)
      - {name: 春节, date: 2027-02-14}

Every entry has a non-empty ``name`` and either ``date`` or both ``from`` and ``to``
(ISO dates, ``YYYY-MM-DD``). A file is refused whole (``CALENDAR_FILE_INVALID``, naming the
entry; nothing is stored) when it cannot be read or parsed, has a duplicate or unknown key,
lacks ``year`` or has it outside 1990-2100, has a range with ``from`` after ``to`` or longer than
31 days, a date outside the notice window above, a working day that is not a Saturday or
Sunday, a date listed twice, or a date that is both a holiday and a working day.
``docs/calendar-format.md`` says the same for operators.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import chinese_calendar.constants as package_data
import yaml
from sqlalchemy import Column, Index, Text, func
from sqlmodel import Field, Session, SQLModel, col, delete, select

from . import timesource
from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.errors import DomainError, ErrorCode

FIRST_DAY = date(1990, 1, 1)
LAST_DAY = date(2100, 12, 31)
FIRST_YEAR = FIRST_DAY.year
LAST_YEAR = LAST_DAY.year
MONDAY_TO_FRIDAY: frozenset[int] = frozenset(range(5))
# A calendar-file range longer than this is surely a typo (the longest official break is 10 days).
MAX_RANGE_DAYS = 31
# From this day of December on, dates belong to the next year's notice (see the module docstring).
NEXT_NOTICE_FROM_DECEMBER_DAY = 25

_BASE = FIRST_DAY.toordinal()
_DAY_COUNT = LAST_DAY.toordinal() - _BASE + 1
_WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
_PACKAGE_NAMES: dict[str, str] = {h.value: h.chinese for h in package_data.Holiday}


def notice_year(day: date) -> int:
    """The year whose State Council notice decides ``day`` (December 25-31 go to the next one)."""
    if day.month == 12 and day.day >= NEXT_NOTICE_FROM_DECEMBER_DAY:
        return day.year + 1
    return day.year


def notice_window(year: int) -> tuple[date, date]:
    """The first and last date (inclusive) a notice for ``year`` may speak about."""
    return date(year - 1, 12, NEXT_NOTICE_FROM_DECEMBER_DAY), date(year, 12, NEXT_NOTICE_FROM_DECEMBER_DAY - 1)


@dataclass(frozen=True, slots=True)
class DayOverride:
    """One date that is a day off (``working=False``) or a working day (``working=True``)."""

    date: date
    working: bool
    name: str


@dataclass(frozen=True)
class YearCalendar:
    """The official schedule of one year's notice: its holidays and its adjusted working days.

    Construction checks the invariants a loaded year relies on (dates in the notice window,
    working days on weekends, no date twice) and raises ``ValueError`` otherwise;
    ``parse_calendar_file`` checks the same with messages naming the file entry.
    """

    year: int
    source: str
    holidays: list[DayOverride]
    workdays: list[DayOverride]

    def __post_init__(self) -> None:
        if not FIRST_YEAR <= self.year <= LAST_YEAR:
            raise ValueError(f"year {self.year} outside {FIRST_YEAR}-{LAST_YEAR}")
        seen: set[date] = set()
        for working, days in ((False, self.holidays), (True, self.workdays)):
            for day in days:
                if day.working is not working:
                    raise ValueError(f"{day} listed with the wrong working flag")
                problem = _day_problem(day.date, working, self.year)
                if problem:
                    raise ValueError(problem)
                if day.date in seen:
                    raise ValueError(f"{day.date} listed twice")
                seen.add(day.date)

    def days(self) -> list[DayOverride]:
        """Holidays then working days, each list in the order given."""
        return [*self.holidays, *self.workdays]


def _day_problem(day: date, working: bool, year: int) -> str | None:
    """Why ``day`` cannot be in the notice for ``year`` (a Chinese sentence), or None."""
    first, last = notice_window(year)
    if not first <= day <= last:
        return (
            f"日期 {day} 不属于 {year} 年的通知（{year} 年的通知只能安排 {first} 至 {last}；"
            f"12月{NEXT_NOTICE_FROM_DECEMBER_DAY}日至31日的安排由下一年的通知公布）"
        )
    if working and day.weekday() < 5:
        return f"调休上班日 {day} 是{_WEEKDAY_NAMES[day.weekday()]}，只能是周六或周日"
    return None


def _out_of_range(day: date) -> DomainError:
    return DomainError(
        ErrorCode.DEADLINE_CALENDAR_MISSING,
        f"日期 {day} 超出工作日历的范围（{FIRST_DAY} 至 {LAST_DAY}）",
        date=day,
    )


class WorkCalendar:
    """An immutable working-day calendar over 1990-01-01 .. 2100-12-31.

    Build it with ``WorkCalendar.build`` (or take ``default_calendar()`` / ``calendar_for``).
    Every query is O(1). A date outside the covered range raises
    ``DomainError(DEADLINE_CALENDAR_MISSING)``; a ``datetime`` instead of a local ``date`` raises
    ``TypeError`` (convert to an Asia/Shanghai date first).
    """

    __slots__ = ("_working", "_count_before", "_nth", "_names", "_weekly", "_official_prefix", "official_years",
                 "derived")

    _working: bytes  # 1 per working day, indexed by days since FIRST_DAY
    _count_before: array  # [i] = working days with index < i; length _DAY_COUNT + 1
    _nth: array  # [k] = index of the (k+1)-th working day
    _names: dict[int, str]  # name of every day a source decided
    _weekly: bytes  # the plain weekly pattern, indexed like _working
    _official_prefix: array  # [i] = official notice years among FIRST_YEAR .. FIRST_YEAR+i-1
    official_years: frozenset[int]
    # Results computed from this calendar alone (e.g. deadlines, see ``clock.compute_deadline``),
    # kept by whoever computes them: the calendar never changes, so neither do they.
    derived: dict[Any, Any]

    def __init__(
        self,
        *,
        working: bytes,
        weekly: bytes,
        names: dict[int, str],
        official_years: frozenset[int],
    ) -> None:
        if len(working) != _DAY_COUNT or len(weekly) != _DAY_COUNT:
            raise ValueError("a WorkCalendar covers exactly 1990-01-01 .. 2100-12-31")
        count_before = array("i", accumulate(working, initial=0))
        nth = array("i", (i for i, flag in enumerate(working) if flag))
        # Notice years run one past LAST_YEAR: December 25-31 of 2100 belong to the 2101 notice.
        prefix = array("i", accumulate((y in official_years for y in range(FIRST_YEAR, LAST_YEAR + 2)), initial=0))
        for slot, value in (
            ("_working", bytes(working)),
            ("_count_before", count_before),
            ("_nth", nth),
            ("_names", dict(names)),
            ("_weekly", bytes(weekly)),
            ("_official_prefix", prefix),
            ("official_years", frozenset(official_years)),
            ("derived", {}),
        ):
            object.__setattr__(self, slot, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("WorkCalendar is immutable; build a new one")

    def __repr__(self) -> str:
        years = sorted(self.official_years)
        span = f"{years[0]}-{years[-1]}" if years else "none"
        return f"<WorkCalendar official years {span} ({len(years)})>"

    @classmethod
    def build(
        cls,
        *,
        loaded_years: Iterable[YearCalendar] = (),
        overrides: Iterable[DayOverride] = (),
        working_weekdays: frozenset[int] = MONDAY_TO_FRIDAY,
    ) -> WorkCalendar:
        """The calendar of the package's official data, then ``loaded_years``, then ``overrides``.

        A loaded year replaces the package's entries of that year's notice (the same year loaded
        twice: the last one wins); overrides are applied in the order given, so later ones win.
        ``official_years`` is the package's notice years plus the loaded ones.
        Raises ``DomainError(DEADLINE_CALENDAR_MISSING)`` for an override outside the range.
        """
        loaded = {year_calendar.year: year_calendar for year_calendar in loaded_years}
        first_weekday = FIRST_DAY.weekday()
        week = bytes(int((first_weekday + i) % 7 in working_weekdays) for i in range(7))
        weekly = (week * (_DAY_COUNT // 7 + 1))[:_DAY_COUNT]
        working = bytearray(weekly)
        names: dict[int, str] = {}

        def put(day: date, is_working: bool, name: str) -> None:
            index = day.toordinal() - _BASE
            if not 0 <= index < _DAY_COUNT:
                raise _out_of_range(day)
            working[index] = is_working
            names[index] = name

        package_years: set[int] = set()
        for is_working, entries in ((False, package_data.holidays), (True, package_data.workdays)):
            for day, english in entries.items():
                year = notice_year(day)
                package_years.add(year)
                if year not in loaded and FIRST_DAY <= day <= LAST_DAY:
                    put(day, is_working, _PACKAGE_NAMES.get(english, english))
        for year in sorted(loaded):
            for entry in loaded[year].days():
                put(entry.date, entry.working, entry.name)
        for entry in overrides:
            put(entry.date, entry.working, entry.name)
        return cls(
            working=bytes(working),
            weekly=weekly,
            names=names,
            official_years=frozenset(package_years | set(loaded)),
        )

    def _index(self, day: date) -> int:
        if isinstance(day, datetime):
            raise TypeError(f"{day!r} is a datetime; pass the Asia/Shanghai local date")
        index = day.toordinal() - _BASE
        if not 0 <= index < _DAY_COUNT:
            raise _out_of_range(day)
        return index

    def is_working(self, d: date) -> bool:
        """True when ``d`` is a working day."""
        return bool(self._working[self._index(d)])

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start``; ``start`` itself never counts.

        ``n == 0`` returns ``start`` unchanged; ``n < 0`` raises ``ValueError``; a result beyond
        2100-12-31 raises ``DomainError(DEADLINE_CALENDAR_MISSING)``.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        index = self._index(start)
        if n == 0:
            return start
        k = self._count_before[index + 1] + n - 1
        if k >= len(self._nth):
            raise _out_of_range(start + timedelta(days=n))
        return date.fromordinal(_BASE + self._nth[k])

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days ``d`` with ``a < d <= b`` (0 when ``b <= a``)."""
        ia, ib = self._index(a), self._index(b)
        if ib <= ia:
            return 0
        return self._count_before[ib + 1] - self._count_before[ia + 1]

    def add_natural_days(self, start: date, n: int) -> date:
        """``start`` plus ``n`` calendar days (weekends and holidays count)."""
        if isinstance(start, datetime):
            raise TypeError(f"{start!r} is a datetime; pass the Asia/Shanghai local date")
        return start + timedelta(days=n)

    def natural_period_end(self, start: date, n: int) -> date:
        """The last day of a period of ``n`` calendar days after ``start``: ``start + n``, or the
        first working day after it when that is a rest day (民法典 第二百零三条: 期间的最后一日
        是法定休假日的，以法定休假日结束的次日为期间的最后一日; 民事诉讼法 第八十五条 likewise)."""
        end = self.add_natural_days(start, n)
        return end if self.is_working(end) else self.add_working_days(end, 1)

    def is_provisional(self, a: date, b: date) -> bool:
        """True when a result over ``a .. b`` may change once more official data is loaded.

        That is when a year in ``[a.year, b.year]`` has no official data, or when the later date
        falls on December 25-31 and the next year's notice (which decides those days) is missing.
        """
        low, high = (a, b) if a <= b else (b, a)
        first, last = low.year, notice_year(high)
        if first < FIRST_YEAR or last > LAST_YEAR + 1:
            return True
        official = self._official_prefix[last - FIRST_YEAR + 1] - self._official_prefix[first - FIRST_YEAR]
        return official != last - first + 1

    def describe_year(self, year: int) -> list[tuple[date, bool, str]]:
        """Every date of ``year`` that differs from the weekly pattern: (date, working, name)."""
        first = self._index(date(year, 1, 1))
        last = self._index(date(year, 12, 31))
        return [
            (date.fromordinal(_BASE + i), bool(self._working[i]), self._names.get(i, ""))
            for i in range(first, last + 1)
            if self._working[i] != self._weekly[i]
        ]


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """The calendar of the ``chinese-calendar`` package's official data alone (built once)."""
    return WorkCalendar.build()


# --- persistence -------------------------------------------------------------------------------


class CalendarYearRow(SQLModel, table=True):
    """A year loaded from a calendar file; replaces the package's data for that notice."""

    __tablename__ = "calendar_year"  # type: ignore[assignment]

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    source: str = Field(sa_column=Column(Text, nullable=False))
    loaded_at: datetime = Field(default_factory=timesource.now, sa_column=Column(UTCDateTime(), nullable=False))
    # {"holidays": [{"date": "2027-01-01", "name": "元旦"}, ...], "workdays": [...]}
    days: str = Field(sa_column=Column(Text, nullable=False))


class CalendarOverrideRow(SQLModel, table=True):
    """A local day off or extra working day; ``center_id`` None applies everywhere."""

    __tablename__ = "calendar_override"  # type: ignore[assignment]
    __table_args__ = (Index("ix_calendar_override_center_date", "center_id", "date"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID | None = Field(default=None)
    # Spelled dt.date: a field named ``date`` would otherwise shadow its own type for pydantic.
    date: dt.date
    working: bool
    name: str
    created_at: datetime = Field(default_factory=timesource.now, sa_column=Column(UTCDateTime(), nullable=False))


def _year_to_json(year_calendar: YearCalendar) -> str:
    return json.dumps(
        {
            "holidays": [{"date": d.date.isoformat(), "name": d.name} for d in year_calendar.holidays],
            "workdays": [{"date": d.date.isoformat(), "name": d.name} for d in year_calendar.workdays],
        },
        ensure_ascii=False,
    )


def _year_from_row(row: CalendarYearRow) -> YearCalendar:
    stored = json.loads(row.days)
    return YearCalendar(
        year=row.year,
        source=row.source,
        holidays=[DayOverride(date.fromisoformat(d["date"]), False, d["name"]) for d in stored["holidays"]],
        workdays=[DayOverride(date.fromisoformat(d["date"]), True, d["name"]) for d in stored["workdays"]],
    )


# (center_id, ancestors) -> (fingerprint of the two tables, calendar)
_cache: dict[tuple[uuid.UUID | None, tuple[uuid.UUID, ...]], tuple[tuple[Any, ...], WorkCalendar]] = {}


def invalidate_calendar_cache() -> None:
    """Forget every calendar ``calendar_for`` built; the next call rebuilds from the database."""
    _cache.clear()


def _fingerprint(session: Session) -> tuple[Any, ...]:
    # One cheap query; it changes when another process loads a year or adds an override, so a
    # long-running server sees `esv calendar load` without a restart.
    return tuple(session.exec(_fingerprint_statement()).one())


@lru_cache
def _fingerprint_statement() -> Any:
    """Built once: every transaction that touches a clock asks it."""
    return select(
        select(func.count()).select_from(CalendarYearRow).scalar_subquery(),
        select(func.max(CalendarYearRow.loaded_at)).scalar_subquery(),
        select(func.count()).select_from(CalendarOverrideRow).scalar_subquery(),
        select(func.max(CalendarOverrideRow.created_at)).scalar_subquery(),
    )


def calendar_for(
    session: Session,
    center_id: uuid.UUID | None,
    ancestors: Sequence[uuid.UUID] = (),
) -> WorkCalendar:
    """The calendar of a center: package, every loaded year, global overrides, then the overrides
    of ``ancestors`` (ordered from the farthest, e.g. the city center, to the parent), then the
    center's own; within one level the most recent override of a date wins.

    Cached per process, per (center, ancestors), until a store function runs here or the stored
    years or overrides change (checked with one small query per call).
    """
    key = (center_id, tuple(ancestors))
    fingerprint = _fingerprint(session)
    cached = _cache.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]

    years = [_year_from_row(row) for row in session.exec(select(CalendarYearRow))]
    levels: dict[uuid.UUID | None, int] = {None: 0}
    for rank, ancestor in enumerate(key[1], start=1):
        levels[ancestor] = rank
    if center_id is not None:
        levels[center_id] = len(key[1]) + 1
    scoped = [c for c in levels if c is not None]
    condition = col(CalendarOverrideRow.center_id).is_(None)
    if scoped:
        condition = condition | col(CalendarOverrideRow.center_id).in_(scoped)
    rows = list(session.exec(select(CalendarOverrideRow).where(condition)))
    rows.sort(key=lambda row: (levels[row.center_id], row.created_at, row.id))
    overrides = [DayOverride(row.date, row.working, row.name) for row in rows]

    calendar = WorkCalendar.build(loaded_years=years, overrides=overrides)
    _cache[key] = (fingerprint, calendar)
    return calendar


def store_year(session: Session, year_calendar: YearCalendar) -> None:
    """Store a loaded year, replacing any earlier load of the same year.

    Flushes but does not commit: the caller owns the transaction. Deadlines in that year stop
    being provisional for every ``calendar_for`` built afterwards.
    """
    row = session.get(CalendarYearRow, year_calendar.year)
    if row is None:
        row = CalendarYearRow(year=year_calendar.year, source=year_calendar.source, days=_year_to_json(year_calendar))
    else:
        row.source = year_calendar.source
        row.days = _year_to_json(year_calendar)
        row.loaded_at = timesource.now()
    session.add(row)
    session.flush()
    invalidate_calendar_cache()


def _check_override_day(day: date) -> None:
    if isinstance(day, datetime):
        raise TypeError(f"{day!r} is a datetime; pass the Asia/Shanghai local date")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _out_of_range(day)


def add_override(session: Session, *, center_id: uuid.UUID | None, day: date, working: bool, name: str) -> None:
    """Make ``day`` a day off or a working day for a center (``center_id`` None: everywhere).

    An earlier override of the same center and date is replaced. Flushes, does not commit.
    """
    _check_override_day(day)
    if not name.strip():
        raise ValueError("an override needs a name (e.g. 台风停工, 中心搬迁)")
    _delete_override(session, center_id=center_id, day=day)
    session.add(CalendarOverrideRow(center_id=center_id, date=day, working=working, name=name.strip()))
    session.flush()
    invalidate_calendar_cache()


def remove_override(session: Session, *, center_id: uuid.UUID | None, day: date) -> bool:
    """Remove a center's (or the global) override of ``day``; True when there was one.

    Flushes, does not commit.
    """
    _check_override_day(day)
    removed = _delete_override(session, center_id=center_id, day=day)
    session.flush()
    invalidate_calendar_cache()
    return removed


def _delete_override(session: Session, *, center_id: uuid.UUID | None, day: date) -> bool:
    owner = col(CalendarOverrideRow.center_id)
    statement = delete(CalendarOverrideRow).where(
        col(CalendarOverrideRow.date) == day,
        owner.is_(None) if center_id is None else owner == center_id,
    )
    result = session.exec(statement)  # type: ignore[call-overload]
    return bool(result.rowcount)


# --- calendar files ----------------------------------------------------------------------------

_TOP_KEYS = frozenset({"year", "source", "holidays", "workdays"})
_ENTRY_KEYS = frozenset({"name", "date", "from", "to"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _CalendarYamlLoader(yaml.SafeLoader):
    """Safe YAML that keeps dates as text (checked here, with the entry at hand) and refuses
    duplicate keys (plain YAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"重复的键 {key!r}（duplicate key）", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_CalendarYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _invalid(path: Path, entry: str, problem: str) -> DomainError:
    return DomainError(
        ErrorCode.CALENDAR_FILE_INVALID,
        f"日历文件 {path.name}：{entry}：{problem}",
        path=str(path),
        entry=entry,
    )


def _read_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _invalid(path, "文件", f"无法读取（{exc}）") from exc
    if path.suffix.lower() == ".json":

        def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            keys = [k for k, _ in pairs]
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            if duplicates:
                raise ValueError(f"重复的键 {', '.join(duplicates)}（duplicate key）")
            return dict(pairs)

        try:
            return json.loads(text, object_pairs_hook=no_duplicates)
        except ValueError as exc:  # JSONDecodeError is a ValueError
            raise _invalid(path, "文件", f"不是有效的 JSON（{exc}）") from exc
    try:
        return yaml.load(text, Loader=_CalendarYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else "文件"
        problem = getattr(exc, "problem", None) or str(exc)
        raise _invalid(path, where, f"不是有效的 YAML（{problem}）") from exc


def _parse_date(path: Path, entry: str, key: str, value: Any) -> date:
    if isinstance(value, datetime):
        raise _invalid(path, entry, f"{key} 应为日期（YYYY-MM-DD），不能带时间：{value}")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _invalid(path, entry, f"{key} 不是有效日期（应为 YYYY-MM-DD）：{value!r}")


def _entry_days(path: Path, entry: str, item: Any) -> tuple[str, list[date]]:
    """The name and the dates of one holidays/workdays entry."""
    if not isinstance(item, dict):
        raise _invalid(path, entry, "应为包含 name 和 date（或 from/to）的映射")
    unknown = sorted(str(k) for k in item if k not in _ENTRY_KEYS)
    if unknown:
        raise _invalid(path, entry, f"未知的键 {', '.join(unknown)}（允许 name, date, from, to）")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _invalid(path, entry, "缺少名称 name（如 春节）")
    name = name.strip()
    entry = f"{entry}（{name}）"
    has_date, has_from, has_to = "date" in item, "from" in item, "to" in item
    if has_date and not (has_from or has_to):
        return name, [_parse_date(path, entry, "date", item["date"])]
    if has_from and has_to and not has_date:
        start = _parse_date(path, entry, "from", item["from"])
        end = _parse_date(path, entry, "to", item["to"])
        if start > end:
            raise _invalid(path, entry, f"开始日期 from {start} 晚于结束日期 to {end}")
        length = (end - start).days + 1
        if length > MAX_RANGE_DAYS:
            raise _invalid(path, entry, f"区间 {start} 至 {end} 长达 {length} 天，超过 {MAX_RANGE_DAYS} 天，疑为笔误")
        return name, [start + timedelta(days=i) for i in range(length)]
    raise _invalid(path, entry, "应给出 date，或同时给出 from 和 to（二者只能选一种）")


def parse_calendar_file(path: Path) -> YearCalendar:
    """Read and check a calendar file (format in the module docstring) into a ``YearCalendar``.

    Pure: it stores nothing. Any problem raises ``DomainError(CALENDAR_FILE_INVALID)`` whose
    message names the problem and the entry (entries are numbered from 1), with ``path`` and
    ``entry`` in its details.
    """
    path = Path(path)
    document = _read_document(path)
    if not isinstance(document, dict):
        raise _invalid(path, "文件", "文件为空或顶层不是映射（应包含 year、holidays 等键）")
    unknown = sorted(str(k) for k in document if k not in _TOP_KEYS)
    if unknown:
        raise _invalid(path, "顶层", f"未知的键 {', '.join(unknown)}（允许 year, source, holidays, workdays）")

    if "year" not in document:
        raise _invalid(path, "year", "缺少年份 year")
    year = document["year"]
    if not isinstance(year, int) or isinstance(year, bool):
        raise _invalid(path, "year", f"年份应为整数：{year!r}")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise _invalid(path, "year", f"年份 {year} 超出范围 {FIRST_YEAR}-{LAST_YEAR}")

    source = document.get("source", f"日历文件 {path.name}")
    if not isinstance(source, str) or not source.strip():
        raise _invalid(path, "source", "来源 source 应为非空文字（如通知的标题）")

    lists: dict[str, list[Any]] = {}
    for key in ("holidays", "workdays"):
        value = document.get(key, [])
        if value is None:
            value = []
        if not isinstance(value, list):
            raise _invalid(path, key, f"{key} 应为列表")
        lists[key] = value
    if not lists["holidays"]:
        raise _invalid(path, "holidays", "缺少放假安排 holidays（至少一条）")

    seen: dict[date, tuple[str, str]] = {}  # date -> (list key, entry label)
    parsed: dict[str, list[DayOverride]] = {"holidays": [], "workdays": []}
    for key, working in (("holidays", False), ("workdays", True)):
        for number, item in enumerate(lists[key], start=1):
            name, days = _entry_days(path, f"{key} 第 {number} 条", item)
            entry = f"{key} 第 {number} 条（{name}）"
            for day in days:
                problem = _day_problem(day, working, year)
                if problem:
                    raise _invalid(path, entry, problem)
                if day in seen:
                    other_key, other_entry = seen[day]
                    if other_key == key:
                        raise _invalid(path, entry, f"日期 {day} 重复（已见于 {other_entry}）")
                    raise _invalid(path, entry, f"日期 {day} 既是放假日又是调休上班日（另见 {other_entry}）")
                seen[day] = (key, entry)
                parsed[key].append(DayOverride(day, working, name))

    return YearCalendar(year=year, source=source.strip(), holidays=parsed["holidays"], workdays=parsed["workdays"])
