"""``esv import``: real permit logs replayed through the department-report service, on both
engines, and each finished case's outcome checked against its own limit."""
from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.importing import load_cases
from esupervision.importing.run import import_file
from esupervision.models.cases.case import Case
from esupervision.models.clocks.calendar import default_calendar
from esupervision.models.clocks.clock import Clock, local_date
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.cases.report import CaseAction
from tests.cases.test_import_readers import EXAMPLE_CSV, data_file

CAL = default_calendar()


def outcomes(engine, numbers) -> dict[str, str | None]:
    with Session(engine) as s:
        rows = s.execute(select(Case.number, Clock.outcome).join(Clock, Clock.id == Case.clock_id)).all()
    wanted = set(numbers)
    return {n: o for n, o in rows if n in wanted}


def ledger_size(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(LedgerEvent))


def test_receipt_log_imports_with_its_own_deadlines(engine):
    path = data_file("receipt.xes.gz")
    counts = import_file(engine, path, "receipt")
    assert (counts["cases"], counts["events"], counts["refused"]) == (1434, 8577, 0)
    assert counts["finished"] == 1329 and counts["overdue"] == 377
    # Case by case: overdue exactly when the case ended after the deadline it carries.
    expected = {c.number: ("overdue" if c.events[-1].occurred_at > c.deadline else "on time")
                for c in load_cases(path, "receipt") if c.finished}
    got = outcomes(engine, expected)
    assert {n: ("overdue" if o == "overdue" else "on time") for n, o in got.items()} == expected
    # A second import is recognised event by event and changes nothing.
    size = ledger_size(engine)
    again = import_file(engine, path, "receipt")
    assert again["accepted"] == 0 and again["duplicates"] == counts["reported"]
    assert ledger_size(engine) == size


@pytest.mark.slow
def test_bpic15_outcomes_follow_the_legal_term_in_natural_days(engine):
    path = data_file("BPIC15_2.xes.gz")
    counts = import_file(engine, path, "bpic15")
    assert (counts["cases"], counts["events"], counts["refused"]) == (832, 44354, 0)
    expected: dict[str, str] = {}
    for case in load_cases(path, "bpic15"):
        if not case.finished:
            continue
        start = case.events[0].occurred_at
        given_back, paused_at = 0, None
        for ev in case.events:   # paused days do not count (natural days: the dates between)
            if ev.action is CaseAction.REQUEST_SUPPLEMENT:
                paused_at = ev.occurred_at
            elif ev.action is CaseAction.SUPPLEMENT_RECEIVED and paused_at is not None:
                given_back += (local_date(ev.occurred_at) - local_date(paused_at)).days
                paused_at = None
        # The last day of a natural-day period moves off a rest day (民法典 203).
        due_day = CAL.natural_period_end(local_date(start), case.catalogue.committed_days + given_back)
        expected[case.number] = "overdue" if local_date(case.events[-1].occurred_at) > due_day else "in time"
    got = outcomes(engine, expected)
    assert {n: ("overdue" if o == "overdue" else "in time") for n, o in got.items()} == expected
    assert sum(v == "overdue" for v in expected.values()) == counts["overdue"]


def test_csv_example_in_chinese(engine):
    counts = import_file(engine, EXAMPLE_CSV, "csv-example")
    assert counts["cases"] == 5 and counts["refused"] == 0 and counts["finished"] == 4


def test_truncated_file_changes_nothing(engine, tmp_path):
    raw = gzip.decompress(data_file("receipt.xes.gz").read_bytes())
    cut = tmp_path / "receipt-cut.xes"
    cut.write_bytes(raw[: len(raw) // 2])
    before = ledger_size(engine)
    with pytest.raises(DomainError) as err:
        import_file(engine, cut, "receipt")
    assert err.value.code is ErrorCode.IMPORT_FILE_INVALID
    assert "line" in err.value.details
    assert ledger_size(engine) == before


def test_csv_missing_a_mapped_column_is_named(engine, tmp_path):
    lines = EXAMPLE_CSV.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    drop = header.index("发生时间")
    bad = tmp_path / "cases.csv"
    bad.write_text("\n".join(",".join(c for i, c in enumerate(l.split(",")) if i != drop) for l in lines),
                   encoding="utf-8")
    with pytest.raises(DomainError) as err:
        import_file(engine, bad, "csv-example")
    assert err.value.code is ErrorCode.IMPORT_FILE_INVALID and "发生时间" in err.value.message
    assert ledger_size(engine) == 0


def test_events_in_the_future_are_refused_and_named(engine, tmp_path, fixed_time):
    # Case SF2024030003 claims to have been accepted in 2099.
    text = EXAMPLE_CSV.read_text(encoding="utf-8").replace("2024-03-05 14:30", "2099-03-05 14:30")
    future = tmp_path / "future.csv"
    future.write_text(text, encoding="utf-8")
    counts = import_file(engine, future, "csv-example")
    assert counts["refused"] >= 1 and "EVENT_IN_FUTURE" in counts["refusals"]
    assert counts["refusal_examples"][0]["event"].startswith("SF2024030003")
    assert counts["accepted"] > 0   # the other cases are not held back by it


def test_cli_import_json(tmp_path, monkeypatch):
    from esupervision import db, settings
    from esupervision.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    try:
        result = CliRunner().invoke(main, ["import", str(EXAMPLE_CSV), "--mapping", "csv-example", "--json"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout.strip().splitlines()[-1])
        assert body["cases"] == 5 and body["refused"] == 0
        result = CliRunner().invoke(main, ["import", str(tmp_path / "nope.csv"), "--mapping", "csv-example"])
        assert result.exit_code == 2 and "IMPORT_FILE_INVALID" in result.output
        result = CliRunner().invoke(main, ["ledger", "verify"])
        assert result.exit_code == 0 and "ledger intact" in result.output
    finally:
        settings.get_settings.cache_clear()
        db.get_engine.cache_clear()
