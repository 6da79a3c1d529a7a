"""The catalogue as the office keeps it: sheets of centers, departments, windows, staff, items,
steps and materials (Chinese headers), read and written as plain rows.

``read_catalogue`` checks every row and names each problem by sheet, row and column (nothing is
written while any row is bad); ``apply_catalogue`` brings the database to what the sheets say
through the catalogue's service functions (each change a ledger event) and reports every row as
added, changed or unchanged; ``catalogue_rows`` gives the current catalogue back as the same
sheets. Files (xlsx, csv) are read and written in ``esupervision/catalogue_file.py``.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.catalogue.catalogue import (
    Center, CenterLevel, Department, Item, ItemKind, ItemMaterial, ItemSpec, ItemStep, MaterialSpec, Staff,
    StepSpec, Window, Work, create_center, create_department, create_item, create_staff, create_window,
    update_center, update_department, update_item, update_staff, update_window)
from esupervision.models.clocks.clock import Basis, WarningRule
from esupervision.models.errors import DomainError, ErrorCode


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    kind: str = "text"        # text, int, float, bool, level, item_kind, basis, codes
    required: bool = False


def _cols(*spec: tuple[str, str, str, bool]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


# The sheets in the order they are applied (each refers only to the ones before).
SHEETS: dict[str, tuple[Column, ...]] = {
    "中心": _cols(("编码", "code", "text", True), ("名称", "name", "text", True), ("级别", "level", "level", True),
                ("上级中心编码", "parent", "text", False)),
    "部门": _cols(("中心编码", "center", "text", True), ("编码", "code", "text", True),
                ("名称", "name", "text", True)),
    "窗口": _cols(("中心编码", "center", "text", True), ("编码", "code", "text", True), ("名称", "name", "text", True),
                ("部门编码", "department", "text", True)),
    "工作人员": _cols(("中心编码", "center", "text", True), ("编码", "code", "text", True),
                  ("姓名", "name", "text", True), ("部门编码", "department", "text", False),
                  ("窗口编码", "window", "text", False), ("职务", "title", "text", False),
                  ("手机", "phone", "text", False), ("负责人", "is_leader", "bool", False)),
    "事项": _cols(("中心编码", "center", "text", True), ("编码", "code", "text", True), ("名称", "name", "text", True),
                ("部门编码", "department", "text", True), ("类型", "kind", "item_kind", True),
                ("计日方式", "basis", "basis", True), ("法定时限", "legal_days", "int", True),
                ("承诺时限", "committed_days", "int", True), ("延期天数", "extension_days", "int", False),
                ("并联审批", "joint", "bool", False), ("协办部门", "co_departments", "codes", False),
                ("进驻中心", "in_center", "bool", False), ("纳入监察", "supervised", "bool", False),
                ("黄灯天数", "warn_min_days", "int", False), ("黄灯比例", "warn_fraction", "float", False),
                ("收费标准", "fee_standard", "text", False), ("收费依据", "fee_basis", "text", False),
                ("设定依据", "legal_basis", "text", False)),
    "环节": _cols(("中心编码", "center", "text", True), ("事项编码", "item", "text", True),
                ("序号", "seq", "int", True), ("名称", "name", "text", True), ("时限", "limit_days", "int", True),
                ("部门编码", "department", "text", False)),
    "材料": _cols(("中心编码", "center", "text", True), ("事项编码", "item", "text", True),
                ("名称", "name", "text", True), ("必需", "required", "bool", False), ("份数", "copies", "int", False),
                ("表格地址", "form_url", "text", False)),
}
# English names a CSV file may carry instead (centers.csv …).
SHEET_ALIASES = {"centers": "中心", "departments": "部门", "windows": "窗口", "staff": "工作人员", "items": "事项",
                 "steps": "环节", "materials": "材料"}

LEVELS = {"市级": CenterLevel.CITY, "区级": CenterLevel.DISTRICT, "县级": CenterLevel.COUNTY,
          "乡镇": CenterLevel.TOWNSHIP}
KINDS = {"行政许可": ItemKind.LICENCE, "非许可服务": ItemKind.NON_LICENCE, "公共服务": ItemKind.PUBLIC_SERVICE}
BASES = {"工作日": Basis.WORKING, "自然日": Basis.NATURAL}
YES, NO = ("是", "Y", "YES", "TRUE", "1"), ("否", "N", "NO", "FALSE", "0")


@dataclass
class Row:
    sheet: str
    line: int                     # the spreadsheet's own row number (the header is row 1)
    values: dict[str, Any]


@dataclass
class Problem:
    sheet: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"工作表「{self.sheet}」第 {self.line} 行「{self.column}」列：{self.message}"


@dataclass
class ParsedCatalogue:
    rows: dict[str, list[Row]] = field(default_factory=dict)


@dataclass
class Outcome:
    """What applying (or trying) the sheets did to each row."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "unchanged": len(self.unchanged)}


def _cell(column: Column, raw: Any) -> Any:
    """A cell's value as its column's kind; raises ValueError with the reason in Chinese."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if column.required:
            raise ValueError("不能为空")
        return None
    text = str(raw).strip()
    if column.kind == "int":
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        raise ValueError(f"应为整数，而不是「{text}」")
    if column.kind == "float":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"应为数字，而不是「{text}」") from None
    if column.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if text.upper() in YES:
            return True
        if text.upper() in NO:
            return False
        raise ValueError(f"应为「是」或「否」，而不是「{text}」")
    choices = {"level": LEVELS, "item_kind": KINDS, "basis": BASES}.get(column.kind)
    if choices is not None:
        if text in choices:
            return choices[text]
        raise ValueError(f"应为 {'、'.join(choices)} 之一，而不是「{text}」")
    if column.kind == "codes":
        return [code for code in re.split(r"[、,，;；\s]+", text) if code]
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))      # a code typed as a number
    return text


def _key(sheet: str, values: dict[str, Any]) -> tuple[Any, ...]:
    if sheet == "中心":
        return (values["code"],)
    if sheet == "环节":
        return (values["center"], values["item"], values["seq"], values["name"], values["department"])
    if sheet == "材料":
        return (values["center"], values["item"], values["name"])
    return (values["center"], values["code"])


def read_catalogue(session: Session, sheets: dict[str, list[tuple[int, dict[str, Any]]]]) -> ParsedCatalogue:
    """Check every row of ``sheets`` (sheet name → (row number, {header: cell}) pairs): types,
    required cells, duplicates, codes that refer to nothing in the sheets or the database, item
    limits (committed ≤ legal …). Raises ``CATALOGUE_FILE_INVALID`` listing every problem (the
    first 50) by sheet, row and column."""
    problems: list[Problem] = []
    parsed = ParsedCatalogue()
    for name, rows in sheets.items():
        sheet = SHEET_ALIASES.get(name.lower(), name)
        if sheet not in SHEETS:
            problems.append(Problem(name, 1, "-", f"不认识的工作表，应为 {'、'.join(SHEETS)} 之一"))
            continue
        columns = SHEETS[sheet]
        seen: dict[tuple[Any, ...], int] = {}
        for line, cells in rows:
            headers = {h.strip() for h in cells if h}
            missing = [c.header for c in columns if c.required and c.header not in headers]
            if missing:
                problems.append(Problem(sheet, 1, "、".join(missing), "缺少这些列"))
                break
            values: dict[str, Any] = {}
            ok = True
            for column in columns:
                try:
                    values[column.key] = _cell(column, cells.get(column.header))
                except ValueError as exc:
                    problems.append(Problem(sheet, line, column.header, str(exc)))
                    ok = False
            if not ok:
                continue
            key = _key(sheet, values)
            if key in seen:
                problems.append(Problem(sheet, line, columns[1].header, f"与第 {seen[key]} 行重复"))
                continue
            seen[key] = line
            parsed.rows.setdefault(sheet, []).append(Row(sheet, line, values))
    if not problems:
        problems = _references(session, parsed)
    if problems:
        shown = problems[:50]
        more = f"\n……另有 {len(problems) - 50} 处" if len(problems) > 50 else ""
        raise DomainError(ErrorCode.CATALOGUE_FILE_INVALID,
                          f"目录文件有 {len(problems)} 处错误，未写入任何内容 the catalogue file has "
                          f"{len(problems)} problems, nothing was written:\n" + "\n".join(map(str, shown)) + more,
                          problems=len(problems))
    return parsed


def _references(session: Session, parsed: ParsedCatalogue) -> list[Problem]:
    """Codes that name nothing in the sheets or the database; items whose limits are no good."""
    problems: list[Problem] = []
    rows = parsed.rows

    def known(sheet: str, model: Any) -> set[tuple[str, ...]]:
        if model is Center:
            found = {(c,) for c in session.scalars(select(Center.code))}
        else:
            found = {(c, code) for c, code in session.execute(
                select(Center.code, model.code).join(Center, Center.id == model.center_id))}
        return found | {_key(sheet, r.values) for r in rows.get(sheet, [])}

    centers, departments = known("中心", Center), known("部门", Department)
    windows, items = known("窗口", Window), known("事项", Item)
    for row in rows.get("中心", []):
        parent = row.values["parent"]
        if parent and (parent,) not in centers:
            problems.append(Problem("中心", row.line, "上级中心编码", f"中心 {parent} 不存在"))
    for sheet in ("部门", "窗口", "工作人员", "事项", "环节", "材料"):
        for row in rows.get(sheet, []):
            v = row.values
            if (v["center"],) not in centers:
                problems.append(Problem(sheet, row.line, "中心编码", f"中心 {v['center']} 不存在"))
                continue
            for key, header in (("department", "部门编码"),):
                if v.get(key) and (v["center"], v[key]) not in departments:
                    problems.append(Problem(sheet, row.line, header, f"部门 {v[key]} 不在中心 {v['center']}"))
            if sheet == "工作人员" and v.get("window") and (v["center"], v["window"]) not in windows:
                problems.append(Problem(sheet, row.line, "窗口编码", f"窗口 {v['window']} 不在中心 {v['center']}"))
            if sheet in ("环节", "材料") and (v["center"], v["item"]) not in items:
                problems.append(Problem(sheet, row.line, "事项编码", f"事项 {v['item']} 不在中心 {v['center']}"))
            if sheet == "事项":
                for code in v["co_departments"] or []:
                    if (v["center"], code) not in departments:
                        problems.append(Problem(sheet, row.line, "协办部门", f"部门 {code} 不在中心 {v['center']}"))
                try:
                    _item_spec(v, []).validate()
                except DomainError as exc:
                    problems.append(Problem(sheet, row.line, "承诺时限" if exc.code == ErrorCode.COMMITTED_EXCEEDS_LEGAL
                                            else "法定时限", exc.message))
            if sheet == "环节" and not 0 <= v["limit_days"] <= 3650:
                problems.append(Problem(sheet, row.line, "时限", f"时限 {v['limit_days']} 天不合理"))
    return problems


def _item_spec(v: dict[str, Any], steps: list[Row], materials: list[Row] | None = None) -> ItemSpec:
    fee = {k: v[f"fee_{k}"] for k in ("standard", "basis") if v.get(f"fee_{k}")}
    warning = WarningRule(v["warn_min_days"] if v["warn_min_days"] is not None else 1,
                          v["warn_fraction"] if v["warn_fraction"] is not None else 0.2)
    return ItemSpec(
        code=v["code"], name=v["name"], department_code=v["department"], legal_days=v["legal_days"],
        committed_days=v["committed_days"], kind=v["kind"], basis=v["basis"], extension_days=v["extension_days"],
        joint=bool(v["joint"]), co_department_codes=list(v["co_departments"] or []),
        in_center=v["in_center"] is not False, supervised=v["supervised"] is not False, warning=warning,
        steps=[StepSpec(s.values["name"], s.values["limit_days"], seq=s.values["seq"],
                        department_code=s.values["department"]) for s in steps],
        materials=[MaterialSpec(m.values["name"], required=m.values["required"] is not False,
                                copies=m.values["copies"] or 1, form_url=m.values["form_url"])
                   for m in materials or []],
        fee=fee, legal_basis=v["legal_basis"])


def apply_catalogue(tx: Work, parsed: ParsedCatalogue) -> Outcome:
    """Bring the catalogue to what ``parsed`` says: rows not in the database are created, rows
    that differ are changed, through the catalogue's service functions (each a ledger event).
    Nothing is deleted. Run it in a transaction that is rolled back to preview the diff."""
    outcome = Outcome()
    session = tx.session

    def note(sheet: str, row: Row, label: str, status: str) -> None:
        getattr(outcome, status).append(f"{sheet} 第{row.line}行 {label}")

    def center(code: str) -> Center:
        return session.scalars(select(Center).where(Center.code == code)).one()

    def by_code(model: Any, center_row: Center, code: str | None) -> Any:
        if not code:
            return None
        return session.scalars(select(model).where(model.center_id == center_row.id, model.code == code)).one()

    for row in _parents_first(parsed.rows.get("中心", [])):
        v = row.values
        existing = session.scalars(select(Center).where(Center.code == v["code"])).first()
        if existing is None:
            create_center(tx, code=v["code"], name=v["name"], level=v["level"], parent_code=v["parent"])
            note("中心", row, v["code"], "added")
        else:
            note("中心", row, v["code"], "changed" if update_center(tx, existing, name=v["name"], level=v["level"])
                 else "unchanged")
    simple: list[tuple[str, Any, Callable[..., Any], Callable[..., bool]]] = [
        ("部门", Department,
         lambda c, v: create_department(tx, center=c, code=v["code"], name=v["name"]),
         lambda c, row, v: update_department(tx, row, name=v["name"])),
        ("窗口", Window,
         lambda c, v: create_window(tx, center=c, department=by_code(Department, c, v["department"]),
                                    code=v["code"], name=v["name"]),
         lambda c, row, v: update_window(tx, row, name=v["name"], department=by_code(Department, c, v["department"]))),
        ("工作人员", Staff,
         lambda c, v: create_staff(tx, center=c, code=v["code"], name=v["name"],
                                   department=by_code(Department, c, v["department"]),
                                   window=by_code(Window, c, v["window"]), title=v["title"], phone=v["phone"],
                                   is_leader=bool(v["is_leader"])),
         lambda c, row, v: update_staff(tx, row, name=v["name"], department=by_code(Department, c, v["department"]),
                                        window=by_code(Window, c, v["window"]), title=v["title"], phone=v["phone"],
                                        is_leader=bool(v["is_leader"]))),
    ]
    for sheet, model, create, update in simple:
        for row in parsed.rows.get(sheet, []):
            v = row.values
            c = center(v["center"])
            existing = by_code(model, c, v["code"]) if session.scalars(
                select(model.id).where(model.center_id == c.id, model.code == v["code"])).first() else None
            label = f"{v['center']}/{v['code']}"
            if existing is None:
                create(c, v)
                note(sheet, row, label, "added")
            else:
                note(sheet, row, label, "changed" if update(c, existing, v) else "unchanged")
    steps = _grouped(parsed.rows.get("环节", []))
    materials = _grouped(parsed.rows.get("材料", []))
    for row in parsed.rows.get("事项", []):
        v = row.values
        c = center(v["center"])
        key = (v["center"], v["code"])
        spec = _item_spec(v, steps.get(key, []), materials.get(key, []))
        existing = session.scalars(select(Item).where(Item.center_id == c.id, Item.code == v["code"])).first()
        label = f"{v['center']}/{v['code']}"
        if existing is None:
            create_item(tx, center=c, spec=spec)
            note("事项", row, label, "added")
        else:
            if key not in steps:      # no rows in 环节 for it: its steps stay as they are
                spec.steps = _current_steps(session, existing)
            if key not in materials:
                spec.materials = _current_materials(session, existing)
            note("事项", row, label, "changed" if update_item(tx, existing, spec=spec) else "unchanged")
    return outcome


def _parents_first(rows: list[Row]) -> list[Row]:
    """Centers ordered so that a parent named in the sheet comes before its children."""
    ordered: list[Row] = []
    placed: set[str] = set()
    in_sheet = {row.values["code"] for row in rows}
    pending = list(rows)
    while pending:
        ready = [r for r in pending if not r.values["parent"] or r.values["parent"] in placed
                 or r.values["parent"] not in in_sheet]
        if not ready:        # a cycle: left to create_center to refuse
            return ordered + pending
        ordered += ready
        placed |= {r.values["code"] for r in ready}
        pending = [r for r in pending if r not in ready]
    return ordered


def _grouped(rows: list[Row]) -> dict[tuple[str, str], list[Row]]:
    grouped: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        grouped.setdefault((row.values["center"], row.values["item"]), []).append(row)
    return grouped


def _current_steps(session: Session, item: Item) -> list[StepSpec]:
    depts = {d.id: d.code for d in session.scalars(select(Department).where(Department.center_id == item.center_id))}
    return [StepSpec(s.name, s.limit_days, seq=s.seq, department_code=depts.get(s.department_id))
            for s in session.scalars(select(ItemStep).where(ItemStep.item_id == item.id)
                                     .order_by(ItemStep.seq, ItemStep.id))]


def _current_materials(session: Session, item: Item) -> list[MaterialSpec]:
    return [MaterialSpec(m.name, m.required, m.copies, m.form_url)
            for m in session.scalars(select(ItemMaterial).where(ItemMaterial.item_id == item.id)
                                     .order_by(ItemMaterial.id))]


def catalogue_rows(session: Session) -> dict[str, list[list[Any]]]:
    """The current catalogue as the sheets (a header row, then one row per record), in the
    order ``read_catalogue`` reads them back."""
    label = {v: k for k, v in LEVELS.items()}
    kind_label = {v: k for k, v in KINDS.items()}
    basis_label = {v: k for k, v in BASES.items()}

    def yn(flag: bool) -> str:
        return "是" if flag else "否"

    centers = list(session.scalars(select(Center).order_by(Center.code)))
    center_code = {c.id: c.code for c in centers}
    depts = {d.id: d for d in session.scalars(select(Department))}
    windows = {w.id: w for w in session.scalars(select(Window))}
    out: dict[str, list[list[Any]]] = {name: [[c.header for c in cols]] for name, cols in SHEETS.items()}
    by_code = {c.code: c for c in centers}
    rows = [Row("中心", 0, {"code": c.code, "parent": center_code.get(c.parent_id)}) for c in centers]
    centers = [by_code[r.values["code"]] for r in _parents_first(rows)]
    for c in centers:
        out["中心"].append([c.code, c.name, label[CenterLevel(c.level)], center_code.get(c.parent_id)])
    for d in sorted(depts.values(), key=lambda d: (center_code[d.center_id], d.code)):
        out["部门"].append([center_code[d.center_id], d.code, d.name])
    for w in sorted(windows.values(), key=lambda w: (center_code[w.center_id], w.code)):
        out["窗口"].append([center_code[w.center_id], w.code, w.name, depts[w.department_id].code])
    for s in session.scalars(select(Staff)).all():
        out["工作人员"].append([center_code[s.center_id], s.code, s.name,
                            depts[s.department_id].code if s.department_id else None,
                            windows[s.window_id].code if s.window_id else None, s.title, s.phone, yn(s.is_leader)])
    out["工作人员"][1:] = sorted(out["工作人员"][1:], key=lambda r: (r[0], r[1]))
    items = sorted(session.scalars(select(Item)), key=lambda i: (center_code[i.center_id], i.code))
    steps: dict[Any, list[ItemStep]] = {}
    for step in session.scalars(select(ItemStep).order_by(ItemStep.seq, ItemStep.id)):
        steps.setdefault(step.item_id, []).append(step)
    materials: dict[Any, list[ItemMaterial]] = {}
    for material in session.scalars(select(ItemMaterial).order_by(ItemMaterial.id)):
        materials.setdefault(material.item_id, []).append(material)
    for i in items:
        cc = center_code[i.center_id]
        co = "、".join(depts[uuid.UUID(d)].code for d in i.co_department_ids)
        out["事项"].append([cc, i.code, i.name, depts[i.department_id].code, kind_label[ItemKind(i.kind)],
                          basis_label[Basis(i.basis)], i.legal_days, i.committed_days, i.extension_days,
                          yn(i.joint), co or None, yn(i.in_center), yn(i.supervised), i.warn_min_days,
                          i.warn_fraction, i.fee.get("standard"), i.fee.get("basis"), i.legal_basis])
        # Ids are not ordered within one insert: rows of an item are sorted by what they say.
        item_steps = [[cc, i.code, s.seq, s.name, s.limit_days, depts[s.department_id].code if s.department_id
                       else None] for s in steps.get(i.id, [])]
        out["环节"] += sorted(item_steps, key=lambda r: (r[2], r[5] or "", r[3]))
        out["材料"] += sorted(([cc, i.code, m.name, yn(m.required), m.copies, m.form_url]
                              for m in materials.get(i.id, [])), key=lambda r: (r[3] != "是", r[2]))
    return out
