"""A published efficiency report as PDF (reportlab): the leaders' copy with its charts — the
on-time rate of the last 12 months, the ranking of departments, lights by department — and
tables; and each window unit's copy about itself. Rendered from the report's snapshot alone, so a
PDF downloaded today shows what was published, whatever happened to the cases since.

Chinese text is set in a TrueType CJK font embedded in the file (only the characters used), so a
report reads the same on any device and can be archived as published: ``ESV_PDF_FONT``, or the
first of ``SYSTEM_FONTS`` the machine has (Debian: ``fonts-wqy-microhei``). With none, reportlab's
built-in CID font STSong-Light is named instead, and the reader's own fonts have to supply it.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from esupervision.settings import get_settings

log = logging.getLogger(__name__)

# TrueType (not CFF) CJK fonts as Debian and most Linux distributions install them: reportlab
# embeds TrueType outlines only, so the Noto / Source Han OpenType fonts cannot serve.
SYSTEM_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                "/usr/share/fonts/truetype/arphic/uming.ttc",
                "C:/Windows/Fonts/simhei.ttf")
EMBEDDED_FONT = "ESV-CJK"
CID_FONT = "STSong-Light"


def _register_font() -> str:
    """Register the font Chinese text is set in; returns its name. A configured font that cannot
    be read stops the start with the reason: the operator asked for it by name."""
    configured = get_settings().pdf_font
    for path in [configured] if configured else SYSTEM_FONTS:
        if not configured and not Path(path).is_file():
            continue
        try:
            pdfmetrics.registerFont(TTFont(EMBEDDED_FONT, path, subfontIndex=0))
        except (OSError, TTFError) as exc:
            if configured:
                raise RuntimeError(f"ESV_PDF_FONT={configured}: 无法读取该 TrueType 字体 (cannot use it as a "
                                   f"TrueType font: {exc})") from exc
            log.warning("report PDFs: skipping %s (%s)", path, exc)
            continue
        return EMBEDDED_FONT
    log.warning("report PDFs: no TrueType CJK font found (ESV_PDF_FONT, or one of %s); Chinese text "
                "names the built-in %s and is shown only where the reader has such a font",
                ", ".join(SYSTEM_FONTS), CID_FONT)
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


FONT = _register_font()

PAGE = landscape(A4)
MARGIN = 15 * mm
WIDTH = PAGE[0] - 2 * MARGIN
LIGHT_COLORS = {"white": colors.HexColor("#b0b7c3"), "yellow": colors.HexColor("#f2c200"),
                "red": colors.HexColor("#d93025")}
LIGHT_LABELS = {"white": "白灯", "yellow": "黄灯", "red": "红灯"}
STATUS_LABELS = {"pending": "待处理", "confirmed": "已确认", "changed": "已改变处理", "dismissed": "不予追究",
                 "withdrawn": "已撤回", "revoked": "申诉撤销"}

_TITLE = ParagraphStyle("title", fontName=FONT, fontSize=20, leading=26, alignment=TA_CENTER, spaceAfter=6)
_SUBTITLE = ParagraphStyle("subtitle", fontName=FONT, fontSize=11, leading=15, alignment=TA_CENTER,
                           textColor=colors.HexColor("#555555"), spaceAfter=10)
_HEADING = ParagraphStyle("heading", fontName=FONT, fontSize=14, leading=18, spaceBefore=8, spaceAfter=6)
_BODY = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14)
_CELL = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10)

# (header, figure) of the tables; rates are fractions shown as percentages.
COLUMNS = (("接件", "received"), ("受理", "accepted"), ("办结", "completed"), ("按时", "on_time"),
           ("提前", "early"), ("超期", "overdue"), ("超法定时限", "over_legal_limit"), ("按时率", "on_time_rate"),
           ("提前率", "early_rate"), ("平均用时", "average_handling_days"), ("P90用时", "p90_handling_days"),
           ("出错", "errors"), ("退件", "returned"), ("补正", "supplement_requests"), ("催办", "urges"),
           ("督办", "orders"), ("投诉", "complaints"), ("评价分", "evaluation_score"))
RATES = frozenset({"on_time_rate", "early_rate"})


# ----------------------------------------------------------------------------- formatting

def percent(rate: float | None) -> float:
    """A rate as a number of percent for charts (no figure counts as 0)."""
    return 0.0 if rate is None else round(float(rate) * 100, 1)


def figure(name: str, value: Any) -> str:
    """A figure as the tables show it: — for none, rates in %, days with one decimal."""
    if value is None:
        return "—"
    if name in RATES:
        return f"{float(value) * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]], widths: list[float] | None = None) -> Table:
    cells = [[Paragraph(str(c), _CELL) for c in header]]
    cells += [[c if isinstance(c, Paragraph) else Paragraph(str(c), _CELL) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf5")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b5")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _figures_table(first_header: list[str], rows: list[dict[str, Any]], first: list[str],
                   totals: dict[str, Any] | None = None) -> Table:
    header = [*first_header, *(h for h, _ in COLUMNS)]
    body = [[*(row.get(k) or "" for k in first), *(figure(n, row.get(n)) for _, n in COLUMNS)] for row in rows]
    if totals is not None:
        body.append([*(["合计"] + [""] * (len(first) - 1)), *(figure(n, totals.get(n)) for _, n in COLUMNS)])
    lead = 110.0 if len(first) == 1 else 80.0
    rest = (WIDTH - lead * len(first)) / len(COLUMNS)
    return _table(header, body, [lead] * len(first) + [rest] * len(COLUMNS))


# ----------------------------------------------------------------------------- charts

def _chart_title(drawing: Drawing, text: str) -> None:
    drawing.add(String(drawing.width / 2, drawing.height - 14, text, fontName=FONT, fontSize=11,
                       textAnchor="middle"))


def _runs(values: list[float | None]) -> list[list[float | None]]:
    """One series per unbroken run of months, None elsewhere: a month with nothing completed has
    no rate, so the line breaks there instead of falling to zero."""
    runs: list[list[float | None]] = []
    for index, value in enumerate(values):
        if value is None:
            continue
        if not runs or values[index - 1] is None or index == 0:
            runs.append([None] * len(values))
        runs[-1][index] = value
    return runs


def trend_chart(trend: list[dict[str, Any]], *, width: float = WIDTH, height: float = 200) -> Drawing:
    """按时办结率走势: the on-time rate (%) of each month, with its value over each point."""
    drawing = Drawing(width, height)
    _chart_title(drawing, "近12个月按时办结率走势（%）")
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 45, 30, width - 70, height - 60
    rates = [None if p.get("on_time_rate") is None else percent(p["on_time_rate"]) for p in trend]
    runs = _runs(rates)
    chart.data = runs or [[0.0] * max(len(rates), 1)]
    chart.categoryAxis.categoryNames = [p["month"] for p in trend] or [""]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontSize = 8
    for index in range(len(chart.data)):
        # Nothing completed in any month: the axes alone (the line drawn invisible).
        chart.lines[index].strokeColor = colors.HexColor("#1a73e8") if runs else colors.transparent
        chart.lines[index].strokeWidth = 2
        chart.lines[index].symbol = makeMarker("FilledCircle", size=4) if runs else None
    drawing.add(chart)
    # Our own labels: the chart's own label the wrong point once a series has gaps.
    band = chart.width / max(len(rates), 1)
    for index, value in enumerate(rates):
        if value is not None:
            drawing.add(String(chart.x + (index + 0.5) * band, chart.y + value / 100 * chart.height + 5,
                               f"{value:.1f}", fontSize=7, textAnchor="middle"))
        else:
            drawing.add(String(chart.x + (index + 0.5) * band, chart.y + 5, "无办结", fontName=FONT,
                               fontSize=7, textAnchor="middle", fillColor=colors.HexColor("#888888")))
    return drawing


def _bar_geometry(count: int, limit: float = 420) -> tuple[float, float]:
    """(height per bar, chart height) so that many departments still fit one page."""
    per = max(9.0, min(18.0, limit / max(count, 1)))
    return per, per * max(count, 1)


def ranking_chart(departments: list[dict[str, Any]], *, width: float = WIDTH) -> Drawing:
    """部门排名: departments by on-time rate, best at the top."""
    # Only ranked departments (无办件 ones have no rate); a horizontal bar chart draws its first
    # category at the bottom.
    ranked = [d for d in departments if d.get("rank")][::-1]
    per, plot = _bar_geometry(len(ranked))
    drawing = Drawing(width, plot + 50)
    _chart_title(drawing, "各部门按时办结率排名（%）")
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 170, 15, width - 210, plot
    chart.data = [[percent(d.get("on_time_rate")) for d in ranked] or [0]]
    chart.categoryAxis.categoryNames = [f"{d.get('rank', '')}. {d.get('name') or ''}" for d in ranked] or [""]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = min(9, per - 1)
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontSize = 8
    chart.bars[0].fillColor = colors.HexColor("#1a73e8")
    chart.barLabelFormat = "%.1f"
    chart.barLabels.fontSize = min(8, per - 2)
    chart.barLabels.nudge = 10
    drawing.add(chart)
    return drawing


def lights_chart(lights: list[dict[str, Any]], *, width: float = WIDTH) -> Drawing:
    """各部门灯色: running cases by light per department as of publication (stacked bars)."""
    rows = lights[::-1]
    per, plot = _bar_geometry(len(rows))
    drawing = Drawing(width, plot + 60)
    _chart_title(drawing, "各部门在办件灯色分布（发布时）")
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 170, 30, width - 210, plot
    kinds = ("white", "yellow", "red")
    chart.data = [[r.get(k, 0) for r in rows] or [0] for k in kinds]
    chart.categoryAxis.categoryNames = [r.get("name") or "" for r in rows] or [""]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = min(9, per - 1)
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 8
    for index, kind in enumerate(kinds):
        chart.bars[index].fillColor = LIGHT_COLORS[kind]
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 200, 12
    legend.fontName, legend.fontSize = FONT, 8
    legend.alignment, legend.columnMaximum, legend.dx, legend.dy = "right", 1, 8, 8
    legend.colorNamePairs = [(LIGHT_COLORS[k], LIGHT_LABELS[k]) for k in kinds]
    drawing.add(legend)
    return drawing


def window_chart(window: dict[str, Any], department: dict[str, Any] | None, totals: dict[str, Any],
                 *, width: float = WIDTH) -> Drawing:
    """本窗口与所属部门、全中心的按时率和提前率对比."""
    drawing = Drawing(width, 190)
    _chart_title(drawing, "按时办结率、提前办结率对比（%）")
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 60, 30, width / 2, 130
    groups = [("本窗口", window), ("所属部门", department or {}), ("全中心", totals)]
    chart.data = [[percent(g.get("on_time_rate")) for _, g in groups],
                  [percent(g.get("early_rate")) for _, g in groups]]
    chart.categoryAxis.categoryNames = [name for name, _ in groups]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 9
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.bars[0].fillColor = colors.HexColor("#1a73e8")
    chart.bars[1].fillColor = colors.HexColor("#34a853")
    chart.barLabelFormat = "%.1f"
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 7
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width / 2 + 90, 120
    legend.fontName, legend.fontSize = FONT, 9
    legend.colorNamePairs = [(colors.HexColor("#1a73e8"), "按时率"), (colors.HexColor("#34a853"), "提前率")]
    drawing.add(legend)
    return drawing


# ----------------------------------------------------------------------------- documents

def _header(snapshot: dict[str, Any], subtitle: str) -> list[Any]:
    return [Paragraph(snapshot["title"], _TITLE), Paragraph(subtitle, _SUBTITLE)]


def _published_line(snapshot: dict[str, Any]) -> str:
    period = snapshot["period"]
    return (f"{snapshot['center']['name']} · 统计期 {period['from']} 至 {period['to']} · "
            f"发布于 {snapshot['published_at'][:10]}")


def accountability_flow(snapshot: dict[str, Any], *, names: bool) -> list[Any]:
    """效能责任追究处理情况: counts by status and by sanction (and names where the rule allows)."""
    summary = snapshot.get("accountability") or {}
    flow: list[Any] = [Paragraph("效能责任追究处理情况", _HEADING)]
    flow.append(Paragraph(
        f"本期提出问责建议 {summary.get('total', 0)} 件，其中确认 {summary.get('confirmed', 0)} 件、"
        f"改变处理 {summary.get('changed', 0)} 件、不予追究 {summary.get('dismissed', 0)} 件、"
        f"待处理 {summary.get('pending', 0)} 件、撤回或申诉撤销 "
        f"{summary.get('withdrawn', 0) + summary.get('revoked', 0)} 件。", _BODY))
    statuses = tuple(STATUS_LABELS)
    for heading, key in (("处理种类", "by_sanction"), ("部门", "by_department")):
        if summary.get(key):
            flow.append(Spacer(1, 4))
            flow.append(_table([heading, "合计", *(STATUS_LABELS[s] for s in statuses)],
                               [[k["label"], k["total"], *(k.get(s, 0) for s in statuses)]
                                for k in summary[key]]))
    if names and summary.get("named"):
        flow.append(Spacer(1, 4))
        flow.append(Paragraph("通报名单（按规则公开姓名）", _BODY))
        flow.append(_table(["部门", "窗口", "人员", "处理种类", "状态"],
                           [[n["department"], n.get("window") or "", n.get("staff") or "", n["sanction"],
                             STATUS_LABELS.get(n["status"], n["status"])] for n in summary["named"]]))
    return flow


def leaders_pdf(snapshot: dict[str, Any], *, names: bool = True) -> bytes:
    """The whole report for the center's leaders: summary, the three charts, the department and
    window tables and the handling of accountability."""
    totals = snapshot.get("totals") or {}
    flow: list[Any] = _header(snapshot, _published_line(snapshot))
    flow.append(Paragraph(
        f"本期接件 {totals.get('received', 0)} 件，办结 {totals.get('completed', 0)} 件，"
        f"其中按时办结 {totals.get('on_time', 0)} 件、提前办结 {totals.get('early', 0)} 件、"
        f"超期 {totals.get('overdue', 0)} 件（其中超过法定时限 {totals.get('over_legal_limit', 0)} 件），"
        f"按时办结率 {figure('on_time_rate', totals.get('on_time_rate'))}。",
        _BODY))
    flow.append(Spacer(1, 6))
    flow.append(trend_chart(snapshot.get("trend") or []))
    flow.append(PageBreak())
    flow.append(ranking_chart(snapshot.get("departments") or []))
    flow.append(PageBreak())
    flow.append(lights_chart(snapshot.get("lights") or []))
    flow.append(PageBreak())
    flow.append(Paragraph("各部门效能统计", _HEADING))
    departments = [{**d, "rank_label": d.get("rank_label") or str(d.get("rank") or "")}   # older snapshots
                   for d in snapshot.get("departments") or []]
    flow.append(_figures_table(["名次", "部门"], departments, ["rank_label", "name"], totals))
    flow.append(Paragraph("各窗口效能统计", _HEADING))
    flow.append(_figures_table(["部门", "窗口"], snapshot.get("windows") or [], ["department_name", "name"]))
    flow.extend(accountability_flow(snapshot, names=names))
    return _build(flow, snapshot["title"])


def window_pdf(snapshot: dict[str, Any], window_id: str) -> bytes:
    """One window unit's copy: its own figures beside its department's and the center's."""
    window = next((w for w in snapshot.get("windows") or [] if w.get("id") == str(window_id)), None)
    if window is None:
        raise KeyError(window_id)
    department = next((d for d in snapshot.get("departments") or [] if d.get("id") == window.get("department_id")),
                      None)
    totals = snapshot.get("totals") or {}
    flow: list[Any] = _header(snapshot, f"{window.get('department_name') or ''} {window['name']} · "
                                        + _published_line(snapshot))
    rows = [{**window, "scope": "本窗口"}]
    if department is not None:
        rows.append({**department, "scope": f"所属部门（第{department.get('rank', '—')}名）"})
    rows.append({**totals, "scope": "全中心"})
    flow.append(_figures_table(["范围"], rows, ["scope"]))
    flow.append(Spacer(1, 10))
    flow.append(window_chart(window, department, totals))
    return _build(flow, f"{snapshot['title']} {window['name']}")


def _build(flow: list[Any], title: str) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=title, author="电子监察", creator="esupervision",
                            # No creation date or random id: the same snapshot renders the same bytes.
                            invariant=1)
    doc.build(flow)
    return buffer.getvalue()
