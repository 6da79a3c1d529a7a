"""The working-day calendar: official facts, properties of the arithmetic, calendar files, storage."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine, select

from esupervision.models.clocks.calendar import (
                                                 CalendarOverrideRow,
                                                 CalendarYearRow,
                                                 DayOverride,
                                                 WorkCalendar,
                                                 YearCalendar,
                                                 add_override,
                                                 calendar_for,
                                                 default_calendar,
                                                 invalidate_calendar_cache,
                                                 parse_calendar_file,
                                                 remove_override,
                                                 store_year,
                                                 )
from esupervision.models.errors import DomainError, ErrorCode

EXAMPLE_2027 = Path(__file__).resolve().parents[2] / "docs" / "examples" / "calendar-2027.yaml"
CAL = default_calendar()


def naive_add_working_days(calendar: WorkCalendar, start: date, n: int) -> date:
    """The day-by-day loop the calendar replaces; the oracle for the fast path."""
    day = start
    while n > 0:
        day += timedelta(days=1)
        n -= calendar.is_working(day)
    return day


# --- official facts ----------------------------------------------------------------------------


def test_national_day_2024() -> None:
    assert not CAL.is_working(date(2024, 10, 1))
    assert not CAL.is_working(date(2024, 10, 7))
    assert CAL.is_working(date(2024, 9, 29))  # Sunday, 调休上班
    assert CAL.is_working(date(2024, 10, 12))  # Saturday, 调休上班
    # Friday 9-27 + 3: Sunday 9-29 (worked), Monday 9-30, then the week off, then Tuesday 10-08.
    assert CAL.add_working_days(date(2024, 9, 27), 3) == date(2024, 10, 8)
    assert CAL.add_working_days(date(2024, 9, 30), 1) == date(2024, 10, 8)
    assert CAL.add_working_days(date(2024, 10, 3), 1) == date(2024, 10, 8)
    assert CAL.working_days_between(date(2024, 9, 30), date(2024, 10, 8)) == 1


def test_spring_festival_2025() -> None:
    for offset in range(8):  # 2025-01-28 (除夕) .. 02-04
        assert not CAL.is_working(date(2025, 1, 28) + timedelta(days=offset))
    assert CAL.is_working(date(2025, 1, 26))  # Sunday
    assert CAL.is_working(date(2025, 2, 8))  # Saturday
    assert CAL.add_working_days(date(2025, 1, 27), 1) == date(2025, 2, 5)


def test_describe_year_names_the_days_that_differ() -> None:
    described = {d: (working, name) for d, working, name in CAL.describe_year(2024)}
    assert described[date(2024, 10, 1)] == (False, "国庆节")
    assert described[date(2024, 9, 29)] == (True, "国庆节")
    assert date(2024, 10, 5) not in described  # a Saturday off anyway
    assert CAL.describe_year(2027) == []


def test_agrees_with_the_package_for_every_official_day() -> None:
    day, last = date(2004, 1, 1), date(2026, 12, 31)
    while day <= last:
        assert CAL.is_working(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)
    assert CAL.official_years == frozenset(range(2004, 2027))


def test_add_working_days_edges() -> None:
    saturday = date(2024, 6, 1)
    assert CAL.add_working_days(saturday, 0) == saturday
    assert CAL.add_working_days(saturday, 1) == date(2024, 6, 3)
    assert CAL.add_working_days(date(2024, 6, 3), 1) == date(2024, 6, 4)  # start never counts
    with pytest.raises(ValueError):
        CAL.add_working_days(saturday, -1)
    with pytest.raises(DomainError) as raised:
        CAL.add_working_days(date(2100, 12, 20), 30)
    assert raised.value.code is ErrorCode.DEADLINE_CALENDAR_MISSING
    with pytest.raises(DomainError):
        CAL.is_working(date(1989, 12, 31))
    with pytest.raises(TypeError):
        CAL.is_working(datetime(2024, 6, 1, tzinfo=timezone.utc))
    assert CAL.working_days_between(date(2024, 6, 4), date(2024, 6, 3)) == 0
    assert CAL.add_natural_days(saturday, 10) == date(2024, 6, 11)


def test_calendar_is_immutable() -> None:
    with pytest.raises(AttributeError):
        CAL.official_years = frozenset()  # type: ignore[misc]


# --- properties --------------------------------------------------------------------------------

# 400 working days is under two years: every deadline stays inside the covered range.
starts = st.dates(min_value=date(1990, 1, 1), max_value=date(2098, 12, 31))
counts = st.integers(min_value=1, max_value=400)


@settings(max_examples=300, deadline=None)
@given(start=starts, n=counts)
def test_a_deadline_is_a_working_day_and_counts_back(start: date, n: int) -> None:
    deadline = CAL.add_working_days(start, n)
    assert CAL.is_working(deadline)
    assert deadline > start
    assert CAL.working_days_between(start, deadline) == n


@settings(max_examples=300, deadline=None)
@given(start=starts, n=st.integers(min_value=0, max_value=400))
def test_add_working_days_is_monotone(start: date, n: int) -> None:
    assert CAL.add_working_days(start, n) < CAL.add_working_days(start, n + 1)


@settings(max_examples=200, deadline=None)
@given(start=starts, n=st.integers(min_value=0, max_value=40))
def test_fast_path_equals_the_loop(start: date, n: int) -> None:
    assert CAL.add_working_days(start, n) == naive_add_working_days(CAL, start, n)


@settings(max_examples=200, deadline=None)
@given(a=starts, b=starts)
def test_between_counts_working_days(a: date, b: date) -> None:
    expected = sum(CAL.is_working(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))
    assert CAL.working_days_between(a, b) == expected


# --- provisional years and loaded files --------------------------------------------------------


def test_a_year_without_data_is_provisional_and_weekends_only() -> None:
    assert CAL.is_provisional(date(2026, 12, 1), date(2027, 1, 10))
    assert CAL.is_provisional(date(2027, 10, 1), date(2027, 10, 8))
    assert not CAL.is_provisional(date(2024, 1, 1), date(2026, 12, 24))
    # December 25-31 depend on the next year's notice (its 元旦 arrangement).
    assert CAL.is_provisional(date(2026, 12, 20), date(2026, 12, 28))
    assert CAL.is_provisional(date(1995, 3, 1), date(1995, 3, 2))
    for offset in range(365):
        day = date(2027, 1, 1) + timedelta(days=offset)
        assert CAL.is_working(day) == (day.weekday() < 5)


def test_loading_the_example_2027_file() -> None:
    year_2027 = parse_calendar_file(EXAMPLE_2027)
    assert year_2027.year == 2027
    calendar = WorkCalendar.build(loaded_years=[year_2027])
    assert 2027 in calendar.official_years
    assert not calendar.is_provisional(date(2027, 1, 1), date(2027, 12, 24))
    assert not calendar.is_provisional(date(2026, 12, 20), date(2026, 12, 28))
    for holiday in year_2027.holidays:
        assert not calendar.is_working(holiday.date)
    for workday in year_2027.workdays:
        assert calendar.is_working(workday.date) and workday.date.weekday() >= 5
    # Thursday 9-30 + 1 jumps the National Day week to Friday 10-08; Saturday 10-09 is worked.
    assert calendar.add_working_days(date(2027, 9, 30), 1) == date(2027, 10, 8)
    assert calendar.add_working_days(date(2027, 9, 30), 2) == date(2027, 10, 9)
    assert CAL.is_working(date(2027, 10, 1))  # the package-only calendar is untouched


def test_sources_layer_package_then_loaded_then_overrides() -> None:
    # A loaded 2024 replaces the package's 2024 notice: here without National Day.
    corrected = YearCalendar(2024, "test", holidays=[DayOverride(date(2024, 1, 1), False, "元旦")], workdays=[])
    calendar = WorkCalendar.build(
        loaded_years=[corrected],
        overrides=[
            DayOverride(date(2024, 10, 8), False, "台风停工"),
            DayOverride(date(2024, 10, 8), True, "台风过境，恢复办公"),  # later wins
            DayOverride(date(2024, 10, 9), False, "台风停工"),
        ],
    )
    assert calendar.is_working(date(2024, 10, 1))
    assert not calendar.is_working(date(2024, 9, 29))  # the package's 调休 Sunday is gone too
    assert calendar.is_working(date(2024, 10, 8))
    assert not calendar.is_working(date(2024, 10, 9))
    assert (date(2024, 10, 9), False, "台风停工") in calendar.describe_year(2024)
    assert not CAL.is_working(date(2024, 10, 1))


def test_year_calendar_refuses_broken_invariants() -> None:
    with pytest.raises(ValueError):
        YearCalendar(2027, "x", holidays=[], workdays=[DayOverride(date(2027, 2, 15), True, "春节")])
    with pytest.raises(ValueError):
        YearCalendar(2027, "x", holidays=[DayOverride(date(2028, 1, 1), False, "元旦")], workdays=[])


# --- bad files ---------------------------------------------------------------------------------

GOOD_HOLIDAY = "  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}\n"

BAD_FILES: list[tuple[str, str, str]] = [
    # (id, file text, text the message must contain: the entry or key at fault)
    ("malformed", "year: 2027\nholidays: [\n", "不是有效的 YAML"),
    ("not-a-mapping", "- 2027\n", "顶层不是映射"),
    ("empty", "", "文件为空"),
    ("duplicate-key", "year: 2027\nyear: 2028\nholidays:\n" + GOOD_HOLIDAY, "重复的键 'year'"),
    ("missing-year", "holidays:\n" + GOOD_HOLIDAY, "缺少年份 year"),
    ("year-not-int", "year: '2027'\nholidays:\n" + GOOD_HOLIDAY, "year"),
    ("year-too-late", "year: 2101\nholidays:\n" + GOOD_HOLIDAY, "年份 2101 超出范围"),
    ("year-too-early", "year: 1989\nholidays:\n" + GOOD_HOLIDAY, "年份 1989 超出范围"),
    ("unknown-top-key", "year: 2027\nholiday:\n" + GOOD_HOLIDAY, "未知的键 holiday"),
    ("no-holidays", "year: 2027\nholidays: []\n", "holidays"),
    (
        "unknown-entry-key",
        "year: 2027\nholidays:\n  - {name: 元旦, date: 2027-01-01, days: 3}\n",
        "holidays 第 1 条：未知的键 days",
    ),
    ("missing-name", "year: 2027\nholidays:\n  - {date: 2027-01-01}\n", "holidays 第 1 条：缺少名称"),
    (
        "from-after-to",
        "year: 2027\nholidays:\n" + GOOD_HOLIDAY + "  - {name: 春节, from: 2027-02-13, to: 2027-02-05}\n",
        "holidays 第 2 条（春节）：开始日期 from 2027-02-13 晚于结束日期 to 2027-02-05",
    ),
    (
        "from-without-to",
        "year: 2027\nholidays:\n  - {name: 春节, from: 2027-02-05}\n",
        "holidays 第 1 条（春节）：应给出 date",
    ),
    (
        "bad-date",
        "year: 2027\nholidays:\n  - {name: 春节, date: 2027-02-30}\n",
        "holidays 第 1 条（春节）：date 不是有效日期",
    ),
    (
        "short-date",
        "year: 2027\nholidays:\n  - {name: 春节, date: 2027-2-5}\n",
        "holidays 第 1 条（春节）：date 不是有效日期",
    ),
    (
        "holiday-other-year",
        "year: 2027\nholidays:\n" + GOOD_HOLIDAY + "  - {name: 元旦, date: 2028-01-01}\n",
        "holidays 第 2 条（元旦）：日期 2028-01-01 不属于 2027 年的通知",
    ),
    (
        "holiday-late-december",
        "year: 2027\nholidays:\n  - {name: 元旦, date: 2027-12-31}\n",
        "holidays 第 1 条（元旦）：日期 2027-12-31 不属于 2027 年的通知",
    ),
    (
        "workday-early-december",
        "year: 2027\nholidays:\n" + GOOD_HOLIDAY + "workdays:\n  - {name: 元旦, date: 2026-12-19}\n",
        "workdays 第 1 条（元旦）：日期 2026-12-19 不属于 2027 年的通知",
    ),
    (
        "workday-on-weekday",
        "year: 2027\nholidays:\n" + GOOD_HOLIDAY + "workdays:\n  - {name: 春节, date: 2027-02-15}\n",
        "workdays 第 1 条（春节）：调休上班日 2027-02-15 是星期一",
    ),
    (
        "both-holiday-and-workday",
        "year: 2027\nholidays:\n  - {name: 春节, from: 2027-02-05, to: 2027-02-13}\n"
        "workdays:\n  - {name: 春节, date: 2027-02-07}\n",
        "workdays 第 1 条（春节）：日期 2027-02-07 既是放假日又是调休上班日",
    ),
    (
        "duplicate-date",
        "year: 2027\nholidays:\n  - {name: 国庆节, from: 2027-10-01, to: 2027-10-07}\n"
        "  - {name: 国庆节, date: 2027-10-03}\n",
        "holidays 第 2 条（国庆节）：日期 2027-10-03 重复",
    ),
    (
        "range-too-long",
        "year: 2027\nholidays:\n  - {name: 国庆节, from: 2027-01-01, to: 2027-10-07}\n",
        "holidays 第 1 条（国庆节）：区间",
    ),
    (
        "date-with-time",
        "year: 2027\nholidays:\n  - {name: 元旦, date: !!timestamp '2027-01-01 08:00:00'}\n",
        "不能带时间",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in BAD_FILES], ids=[i for i, _, _ in BAD_FILES])
def test_bad_files_are_refused_naming_the_entry(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "calendar-2027.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DomainError) as raised:
        parse_calendar_file(path)
    error = raised.value
    assert error.code is ErrorCode.CALENDAR_FILE_INVALID
    assert expected in error.message, error.message
    assert error.message.startswith("日历文件 calendar-2027.yaml：")
    assert error.details["path"] == str(path)


def test_unreadable_and_bad_json_files(tmp_path: Path) -> None:
    for path, text in ((tmp_path / "missing.yaml", None), (tmp_path / "bad.json", '{"year": 2027,')):
        if text is not None:
            path.write_text(text, encoding="utf-8")
        with pytest.raises(DomainError) as raised:
            parse_calendar_file(path)
        assert raised.value.code is ErrorCode.CALENDAR_FILE_INVALID
        assert path.name in raised.value.message
    duplicated = tmp_path / "dup.json"
    duplicated.write_text('{"year": 2027, "year": 2028, "holidays": []}', encoding="utf-8")
    with pytest.raises(DomainError, match="重复的键 year"):
        parse_calendar_file(duplicated)


def test_json_file_and_previous_december_workday(tmp_path: Path) -> None:
    path = tmp_path / "calendar-2027.json"
    document = {
        "year": 2027,
        "source": "测试",
        "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"}],
        "workdays": [{"name": "元旦", "date": "2026-12-27"}],  # Sunday, from the 2027 notice
    }
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    year_2027 = parse_calendar_file(path)
    assert year_2027.workdays == [DayOverride(date(2026, 12, 27), True, "元旦")]
    calendar = WorkCalendar.build(loaded_years=[year_2027])
    assert calendar.is_working(date(2026, 12, 27))
    assert (date(2026, 12, 27), True, "元旦") in calendar.describe_year(2026)


# --- storage -----------------------------------------------------------------------------------


@pytest.fixture
def calendar_engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[CalendarYearRow.__table__, CalendarOverrideRow.__table__])  # type: ignore[list-item]
    invalidate_calendar_cache()
    yield engine
    invalidate_calendar_cache()
    engine.dispose()


def test_store_year_and_calendar_for(calendar_engine: Engine) -> None:
    with Session(calendar_engine) as session:
        assert calendar_for(session, None).is_provisional(date(2027, 10, 1), date(2027, 10, 8))
        store_year(session, parse_calendar_file(EXAMPLE_2027))
        session.commit()
    with Session(calendar_engine) as session:
        calendar = calendar_for(session, None)
        assert not calendar.is_provisional(date(2027, 10, 1), date(2027, 10, 8))
        assert not calendar.is_working(date(2027, 10, 1))
        assert calendar_for(session, None) is calendar  # cached
        # Loading the year again replaces the earlier load.
        store_year(session, YearCalendar(2027, "更正", holidays=[DayOverride(date(2027, 1, 1), False, "元旦")], workdays=[]))
        session.commit()
        assert session.get(CalendarYearRow, 2027).source == "更正"  # type: ignore[union-attr]
        assert calendar_for(session, None).is_working(date(2027, 10, 1))


def test_a_bad_file_changes_nothing(calendar_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "calendar-2027.yaml"
    path.write_text("year: 2027\nholidays:\n  - {name: 春节, from: 2027-02-13, to: 2027-02-05}\n", encoding="utf-8")
    with Session(calendar_engine) as session:
        with pytest.raises(DomainError):
            store_year(session, parse_calendar_file(path))
        session.commit()
        assert session.get(CalendarYearRow, 2027) is None
        assert calendar_for(session, None).is_provisional(date(2027, 2, 1), date(2027, 2, 28))


def test_overrides_are_scoped_and_layered(calendar_engine: Engine) -> None:
    city, county, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    monday, tuesday, saturday = date(2024, 6, 3), date(2024, 6, 4), date(2024, 6, 8)
    with Session(calendar_engine) as session:
        add_override(session, center_id=None, day=monday, working=False, name="全市停电")
        add_override(session, center_id=city, day=tuesday, working=False, name="台风停工")
        add_override(session, center_id=county, day=tuesday, working=True, name="县中心照常办公")
        add_override(session, center_id=county, day=saturday, working=True, name="周六延时服务")
        session.commit()

        county_calendar = calendar_for(session, county, ancestors=[city])
        assert not county_calendar.is_working(monday)  # global
        assert county_calendar.is_working(tuesday)  # the county's own beats the city's
        assert county_calendar.is_working(saturday)
        city_calendar = calendar_for(session, city)
        assert not city_calendar.is_working(tuesday) and not city_calendar.is_working(saturday)
        other_calendar = calendar_for(session, other)
        assert other_calendar.is_working(tuesday) and not other_calendar.is_working(monday)

        # A new override of the same date replaces the old one; removing restores the pattern.
        add_override(session, center_id=None, day=monday, working=True, name="恢复办公")
        assert calendar_for(session, other).is_working(monday)
        assert remove_override(session, center_id=county, day=saturday)
        assert not remove_override(session, center_id=county, day=saturday)
        assert not calendar_for(session, county, ancestors=[city]).is_working(saturday)
        session.commit()
        assert len(session.exec(select(CalendarOverrideRow)).all()) == 3

    with Session(calendar_engine) as session, pytest.raises(DomainError):
        add_override(session, center_id=None, day=date(2101, 1, 1), working=False, name="x")


def test_calendar_for_sees_changes_made_elsewhere(calendar_engine: Engine) -> None:
    """Another process stores a year: no local invalidation, the fingerprint still notices."""
    with Session(calendar_engine) as session:
        assert calendar_for(session, None).is_working(date(2027, 10, 1))
        loaded = parse_calendar_file(EXAMPLE_2027)
        session.add(
            CalendarYearRow(
                year=2027,
                source=loaded.source,
                loaded_at=datetime.now(timezone.utc),
                days=json.dumps(
                    {
                        "holidays": [{"date": d.date.isoformat(), "name": d.name} for d in loaded.holidays],
                        "workdays": [{"date": d.date.isoformat(), "name": d.name} for d in loaded.workdays],
                    }
                ),
            )
        )
        session.commit()
        assert not calendar_for(session, None).is_working(date(2027, 10, 1))


def test_rolled_back_store_is_forgotten(calendar_engine: Engine) -> None:
    with Session(calendar_engine) as session:
        store_year(session, parse_calendar_file(EXAMPLE_2027))
        assert not calendar_for(session, None).is_working(date(2027, 10, 1))
        session.rollback()
        assert calendar_for(session, None).is_working(date(2027, 10, 1))
