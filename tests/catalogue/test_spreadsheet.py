"""The catalogue from the office's spreadsheets (issue 16): every row checked (a Chinese error naming
sheet, row and column; nothing written), a diff of added / changed / unchanged, applied through the
catalogue's service functions (each change a ledger event), and written back in the same format."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.catalogue_file import read_sheets, write_workbook
from esupervision.models.catalogue.catalogue import Item, ItemStep, Staff
from esupervision.models.catalogue.spreadsheet import apply_catalogue, catalogue_rows, read_catalogue
from esupervision.models.errors import DomainError
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.ledger.transaction import transaction
from tests.builders import build_city

TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "catalogue-template.xlsx"


def ledger_size(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(LedgerEvent))


def load(engine, path: Path):
    with Session(engine) as s:
        return read_catalogue(s, read_sheets([path]))


def apply(engine, parsed):
    with transaction(engine, actor="test") as tx:
        return apply_catalogue(tx, parsed)


@pytest.fixture
def exported(engine, tmp_path) -> Path:
    build_city(engine)
    with Session(engine) as s:
        rows = catalogue_rows(s)
    path = tmp_path / "catalogue.xlsx"
    write_workbook(path, rows)
    return path


def edit(path: Path, sheet: str, row: int, header: str, value) -> None:
    book = load_workbook(path)
    ws = book[sheet]
    column = [c.value for c in ws[1]].index(header) + 1
    ws.cell(row, column).value = value
    book.save(path)


def test_export_then_import_changes_nothing(engine, exported) -> None:
    before = ledger_size(engine)
    outcome = apply(engine, load(engine, exported))
    assert outcome.counts() == {"added": 0, "changed": 0, "unchanged": 2 + 2 + 1 + 1 + 3}
    assert ledger_size(engine) == before


def test_changes_and_additions_are_ledger_events(engine, exported) -> None:
    edit(exported, "事项", 2, "承诺时限", 3)                        # SCJ-001: 5 → 3
    book = load_workbook(exported)
    book["部门"].append(["C01", "GAJ", "公安局"])
    book["窗口"].append(["C01", "W09", "9号窗口", "GAJ"])
    book["工作人员"].append(["C01", "S09", "李强", "GAJ", "W09", "科员", None, "否"])
    book["事项"].append(["C01", "GAJ-001", "户籍迁移", "GAJ", "公共服务", "自然日", 10, 7, None, "否", None,
                        "是", "是", None, None, "工本费每证10元", "清价费〔2018〕12号", "户口登记条例"])
    book["环节"].append(["C01", "GAJ-001", 1, "受理", 1, None])
    book["环节"].append(["C01", "GAJ-001", 2, "审核", 6, "GAJ"])
    book["材料"].append(["C01", "GAJ-001", "居民身份证", "是", 1, None])
    book.save(exported)
    before = ledger_size(engine)
    outcome = apply(engine, load(engine, exported))
    assert outcome.counts()["added"] == 4 and outcome.counts()["changed"] == 1
    with Session(engine) as s:
        kinds = [k for (k,) in s.execute(select(LedgerEvent.kind).order_by(LedgerEvent.id).offset(before))]
        item = s.scalars(select(Item).where(Item.code == "GAJ-001")).one()
        assert (item.basis, item.legal_days, item.committed_days, item.fee["basis"]) == (
            "natural", 10, 7, "清价费〔2018〕12号")
        assert s.scalar(select(func.count()).select_from(ItemStep).where(ItemStep.item_id == item.id)) == 2
        assert s.scalars(select(Item.committed_days).where(Item.code == "SCJ-001")).one() == 3
    assert sorted(kinds) == sorted(["catalogue.item_changed", "catalogue.department_created",
                                    "catalogue.window_created", "catalogue.staff_created", "catalogue.item_created"])
    # Applied again: everything unchanged.
    assert apply(engine, load(engine, exported)).counts()["changed"] == 0


@pytest.mark.parametrize("sheet,row,header,value,words", [
    ("事项", 2, "承诺时限", 30, "工作表「事项」第 2 行「承诺时限」列"),        # committed over legal
    ("事项", 2, "法定时限", "二十", "工作表「事项」第 2 行「法定时限」列：应为整数"),
    ("事项", 2, "计日方式", "周", "工作表「事项」第 2 行「计日方式」列：应为 工作日、自然日 之一"),
    ("窗口", 2, "部门编码", "NOPE", "工作表「窗口」第 2 行「部门编码」列：部门 NOPE 不在中心 C01"),
    ("工作人员", 2, "姓名", None, "工作表「工作人员」第 2 行「姓名」列：不能为空"),
    ("环节", 2, "事项编码", "X-1", "工作表「环节」第 2 行「事项编码」列：事项 X-1 不在中心 C01"),
])
def test_a_bad_row_is_named_and_nothing_is_written(engine, exported, sheet, row, header, value, words) -> None:
    edit(exported, "部门", 2, "名称", "改名的部门")    # a good change that must not be applied either
    edit(exported, sheet, row, header, value)
    before = ledger_size(engine)
    with pytest.raises(DomainError) as refused:
        apply(engine, load(engine, exported))
    assert refused.value.code == "CATALOGUE_FILE_INVALID" and words in refused.value.message
    assert ledger_size(engine) == before


def test_csv_files_one_sheet_each(engine, tmp_path) -> None:
    build_city(engine)
    path = tmp_path / "departments.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["中心编码", "编码", "名称"], ["C01", "SCJ", "市场监督管理局"],
                                      ["C01", "MZJ", "民政局"]])
    assert apply(engine, load(engine, path)).counts() == {"added": 1, "changed": 0, "unchanged": 1}


@pytest.fixture
def cli(empty_db_url, monkeypatch):
    from esupervision import db, settings
    from esupervision.cli import main
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()

    def run(*args: str, input: str | None = None):  # noqa: ANN202
        return CliRunner().invoke(main, list(args), input=input)
    yield run
    db.get_engine().dispose()
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()


def test_the_template_from_an_empty_database(cli, tmp_path) -> None:
    # The README's first run: esv init, then the shipped template imported, then exported the same.
    assert cli("init", "--center-code", "QH", "--center-name", "清河市行政服务中心", "--supervisor", "chief",
               "--password-stdin", input="Qinghe-2026-watch\n").exit_code == 0
    result = cli("catalogue", "import", str(TEMPLATE), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "changed 0，未变 unchanged 1" in result.output     # QH itself, made by esv init
    result = cli("catalogue", "import", str(TEMPLATE), input="n\n")
    assert "nothing changed" in result.output
    result = cli("catalogue", "import", str(TEMPLATE), "--apply")
    assert result.exit_code == 0 and "已应用 applied" in result.output, result.output
    again = tmp_path / "again.xlsx"
    assert cli("catalogue", "export", str(again)).exit_code == 0
    assert read_sheets([again]) == read_sheets([TEMPLATE])
    result = cli("catalogue", "import", str(again), "--apply")
    assert "added 0，变更 changed 0" in result.output
    assert cli("ledger", "verify").exit_code == 0
