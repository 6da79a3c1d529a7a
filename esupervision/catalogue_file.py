"""Catalogue spreadsheets on disk: an .xlsx workbook of the sheets of
``models/catalogue/spreadsheet.py`` (openpyxl), or CSV files of one sheet each, named after it
(事项.csv or items.csv)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from esupervision.models.catalogue.spreadsheet import SHEET_ALIASES, SHEETS
from esupervision.models.errors import DomainError, ErrorCode


def read_sheets(paths: list[Path]) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Every sheet of the files as (row number, {header: cell}) pairs; empty rows skipped."""
    sheets: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for path in paths:
        if not path.is_file():
            raise DomainError(ErrorCode.CATALOGUE_FILE_INVALID, f"文件不存在 no such file: {path}")
        if path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as handle:
                sheets[path.stem] = _rows(list(csv.reader(handle)))
        elif path.suffix.lower() in (".xlsx", ".xlsm"):
            from openpyxl import load_workbook
            try:
                book = load_workbook(path, read_only=True, data_only=True)
            except Exception as exc:   # openpyxl raises many kinds for a file that is no workbook
                raise DomainError(ErrorCode.CATALOGUE_FILE_INVALID,
                                  f"无法读取工作簿 not a readable workbook: {path} ({exc})") from None
            for sheet in book.worksheets:
                sheets[sheet.title] = _rows([list(r) for r in sheet.iter_rows(values_only=True)])
            book.close()
        else:
            raise DomainError(ErrorCode.CATALOGUE_FILE_INVALID, f"只读 .xlsx 或 .csv 文件 only .xlsx or .csv: {path}")
    return sheets


def _rows(table: list[list[Any]]) -> list[tuple[int, dict[str, Any]]]:
    if not table:
        return []
    headers = [str(h).strip() if h is not None else "" for h in table[0]]
    rows = []
    for line, cells in enumerate(table[1:], start=2):
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        rows.append((line, {h: c for h, c in zip(headers, cells) if h}))
    if not rows:   # the header alone still tells which columns are missing
        rows = []
    return rows


def write_workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> None:
    """The sheets as one .xlsx workbook: bold frozen headers, columns wide enough to read."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    book.remove(book.active)
    for name in SHEETS:
        sheet = book.create_sheet(name)
        for row in sheets.get(name, []):
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for index, column in enumerate(SHEETS[name], start=1):
            width = max([len(str(r[index - 1] or "")) for r in sheets.get(name, [])[:200]] + [len(column.header)])
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(60, 4 + 2 * width)
    book.save(path)


__all__ = ["SHEET_ALIASES", "read_sheets", "write_workbook"]
