"""Excel exports (xlsxwriter): the efficiency statistics with Chinese headers, a totals row and a
chart sheet. The workbook holds the very numbers ``compute_statistics`` returned."""
from __future__ import annotations

import io
from typing import Any

import xlsxwriter

from esupervision.models.supervision.statistics import GROUP_LABELS, StatisticsTable, statistics_columns

RATES = {"on_time_rate", "early_rate"}
DECIMALS = {"average_handling_days", "evaluation_score"}


def statistics_xlsx(table: StatisticsTable, *, title: str) -> bytes:
    """A workbook: sheet 效能统计 (title, period, one row per group, 合计 last) and a chart sheet
    of completions on time and overdue with the on-time rate."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    heading = book.add_format({"bold": True, "font_size": 14})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                              "align": "center", "valign": "vcenter"})
    cell = book.add_format({"border": 1})
    percent = book.add_format({"border": 1, "num_format": "0.00%"})
    decimal = book.add_format({"border": 1, "num_format": "0.00"})
    total_formats = {kind: book.add_format({**base, "bold": True, "bg_color": "#F2F2F2"})
                     for kind, base in (("cell", {"border": 1}), ("percent", {"border": 1, "num_format": "0.00%"}),
                                        ("decimal", {"border": 1, "num_format": "0.00"}))}
    sheet = book.add_worksheet("效能统计")
    columns = statistics_columns()
    group_label = GROUP_LABELS[table.group_by]
    sheet.write(0, 0, title, heading)
    sheet.write(1, 0, f"统计期间：{table.period_from.isoformat()} 至 {table.period_to.isoformat()}"
                      f"（按{group_label}统计）", bold)
    head = [group_label, "编码", *(label for _, label in columns)]
    sheet.set_row(3, 32)
    for col, label in enumerate(head):
        sheet.write(3, col, label, header)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 12)
    sheet.set_column(2, len(head) - 1, 11)
    first = 4
    for offset, row in enumerate([*table.rows, table.totals]):
        is_total = offset == len(table.rows)
        r = first + offset
        formats = (total_formats["cell"], total_formats["percent"], total_formats["decimal"]) if is_total \
            else (cell, percent, decimal)
        sheet.write(r, 0, row.key_name, formats[0])
        sheet.write(r, 1, row.key_code or "", formats[0])
        for c, (name, _) in enumerate(columns, start=2):
            value: Any = getattr(row, name)
            fmt = formats[1] if name in RATES else formats[2] if name in DECIMALS else formats[0]
            if value is None:
                sheet.write_blank(r, c, None, fmt)
            else:
                sheet.write_number(r, c, value, fmt)
    sheet.freeze_panes(first, 1)
    if table.rows:
        last = first + len(table.rows) - 1
        index = {name: c for c, (name, _) in enumerate(columns, start=2)}
        chart = book.add_chart({"type": "column"})
        for name, label, color in (("on_time", "按时办结", "#70AD47"), ("overdue", "超期办结", "#C00000")):
            chart.add_series({"name": label, "categories": ["效能统计", first, 0, last, 0],
                              "values": ["效能统计", first, index[name], last, index[name]],
                              "fill": {"color": color}})
        rate = book.add_chart({"type": "line"})
        rate.add_series({"name": "按时办结率", "categories": ["效能统计", first, 0, last, 0],
                         "values": ["效能统计", first, index["on_time_rate"], last, index["on_time_rate"]],
                         "y2_axis": True, "marker": {"type": "circle"}})
        chart.combine(rate)
        chart.set_title({"name": f"{title}：按时与超期办结"})
        chart.set_y_axis({"name": "件数"})
        rate.set_y2_axis({"name": "按时办结率", "num_format": "0%", "min": 0, "max": 1})
        charts = book.add_chartsheet("图表")
        charts.set_chart(chart)
    book.close()
    return out.getvalue()
