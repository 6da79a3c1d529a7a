"""Read a CSV event log (one row per event, plain or gzipped) into ``Trace`` values per case."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any

from esupervision.importing.source import open_source
from esupervision.importing.trace import Trace
from esupervision.models.errors import DomainError, ErrorCode


@dataclass(frozen=True)
class CsvColumns:
    """The columns a mapping names, and how to read them.

    ``case`` groups rows into cases; ``activity`` and ``timestamp`` must be filled on every row.
    ``case_level`` columns describe the case, not the row: they go to ``Trace.attributes`` (a
    blank cell is "not given here", two different values for one case is an error). ``dates``
    (and ``timestamp``) are parsed into aware datetimes. ``required`` must all be in the header.
    """

    case: str
    activity: str
    timestamp: str
    case_level: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    delimiter: str = ","
    encoding: str = "utf-8-sig"  # -sig: Excel writes a BOM that would otherwise stick to the first column
    timezone: tzinfo = timezone.utc
    timestamp_format: str | None = None


def read_csv(path: str | Path, columns: CsvColumns) -> Iterator[Trace]:
    """Yield one ``Trace`` per case id, in order of each case's first row.

    Rows need not be sorted; events keep their row order within a case. Every non-blank cell
    of a row that is not a case-level column becomes an event attribute (dates parsed, other
    values as strings). The whole file is read before the first trace is yielded, since a
    case's rows may be anywhere in it. Raises ``DomainError(IMPORT_FILE_INVALID)``: a missing
    column names the column and the file; a bad row (blank case id, activity or timestamp, a
    value that is not a date, a conflicting case-level value) names its row number (the header
    is row 1).
    """
    file_path = Path(path)
    date_columns = {columns.timestamp, *columns.dates}
    case_level = set(columns.case_level)
    traces: dict[str, Trace] = {}
    with open_source(file_path) as raw:
        text = io.TextIOWrapper(raw, encoding=columns.encoding, newline="")
        reader = csv.reader(text, delimiter=columns.delimiter)
        try:
            header = next(reader, None)
            if header is None:
                raise _invalid(file_path, 1, "文件为空，没有表头 (empty file)")
            header = [name.strip() for name in header]
            duplicated = sorted({name for name in header if header.count(name) > 1})
            if duplicated:
                raise _invalid(file_path, 1, f"表头有重复的列 {', '.join(duplicated)}")
            missing = [name for name in (columns.case, columns.activity, columns.timestamp, *columns.required)
                       if name not in header]
            if missing:
                missing = list(dict.fromkeys(missing))
                raise DomainError(
                    ErrorCode.IMPORT_FILE_INVALID,
                    f"CSV 文件 {file_path} 缺少映射所需的列: {', '.join(missing)} "
                    f"(missing column; header has: {', '.join(header)})",
                    path=str(file_path), column=", ".join(missing), line=1,
                )
            for cells in reader:
                row = reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) > len(header):
                    raise _invalid(file_path, row, f"第 {row} 行有 {len(cells)} 个字段，多于表头的 {len(header)} 列")
                record = {name: cells[i].strip() for i, name in enumerate(header) if i < len(cells)}
                case_id = record.get(columns.case, "")
                for needed in (columns.case, columns.activity, columns.timestamp):
                    if not record.get(needed):
                        raise _invalid(file_path, row, f"第 {row} 行的 {needed} 为空", case=case_id)
                trace = traces.get(case_id)
                if trace is None:
                    trace = traces[case_id] = Trace(attributes={columns.case: case_id}, events=[], line=row)
                event: dict[str, Any] = {}
                for name, cell in record.items():
                    if not cell or name == columns.case:
                        continue
                    value: Any = _parse_date(cell, columns, file_path, row, name) if name in date_columns else cell
                    if name in case_level:
                        known = trace.attributes.get(name)
                        if known is not None and known != value:
                            raise _invalid(file_path, row, f"办件 {case_id} 的 {name} 在第 {row} 行为 {cell!r}，"
                                                           f"与之前的 {known!s} 不一致", case=case_id)
                        trace.attributes[name] = value
                    else:
                        event[name] = value
                trace.events.append(event)
        except UnicodeDecodeError as exc:
            raise _invalid(file_path, reader.line_num + 1,
                           f"第 {reader.line_num + 1} 行附近不是 {columns.encoding} 编码 ({exc.reason})") from exc
        except csv.Error as exc:
            raise _invalid(file_path, reader.line_num, f"第 {reader.line_num} 行 CSV 格式错误: {exc}") from exc
        except (EOFError, OSError) as exc:
            raise _invalid(file_path, reader.line_num, f"压缩文件损坏或被截断 (damaged/truncated gzip): {exc}") from exc
        finally:
            text.detach()  # the caller's `with` closes the underlying stream
    yield from traces.values()


def _parse_date(cell: str, columns: CsvColumns, path: Path, row: int, name: str) -> datetime:
    try:
        if columns.timestamp_format:
            value = datetime.strptime(cell, columns.timestamp_format)
        else:
            value = datetime.fromisoformat(cell)
    except ValueError as exc:
        expected = columns.timestamp_format or "ISO 8601, e.g. 2024-03-04 09:15"
        raise _invalid(path, row, f"第 {row} 行的 {name} 值 {cell!r} 不是合法时间 (expected {expected})") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=columns.timezone)
    return value


def _invalid(path: Path, row: int | None, reason: str, **details: Any) -> DomainError:
    return DomainError(
        ErrorCode.IMPORT_FILE_INVALID, f"CSV 文件 {path} 无效: {reason}", path=str(path), line=row, **details,
    )
