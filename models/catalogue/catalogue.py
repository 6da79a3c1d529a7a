"""The catalogue: centers, departments, windows, staff and items (审批事项) with their steps,
materials, fees and warning rules. Creation goes through the functions at the bottom, which
validate, append a ledger event and write the row in the caller's transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import JSON, Column, UniqueConstraint, select
from sqlmodel import Field, Session, SQLModel

from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.clocks.clock import MAX_LIMIT_DAYS, Basis, WarningRule
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import Ledger


class Work(Protocol):
    """What the catalogue uses of a unit of work (``models.ledger.transaction.Transaction``, which
    reads centers from here for their calendars: typed by shape, so imports point one way)."""

    session: Session
    ledger: Ledger
    now: datetime
    actor: str | None


class CenterLevel(StrEnum):
    CITY = "city"          # 市级
    DISTRICT = "district"  # 区级
    COUNTY = "county"      # 县级
    TOWNSHIP = "township"  # 乡镇


class ItemKind(StrEnum):
    LICENCE = "licence"            # 行政许可
    NON_LICENCE = "non_licence"    # 非许可审批 / 服务
    PUBLIC_SERVICE = "public_service"  # 公共服务


ITEM_KIND_LABELS = {ItemKind.LICENCE: "行政许可", ItemKind.NON_LICENCE: "非许可服务",
                    ItemKind.PUBLIC_SERVICE: "公共服务"}

# 行政许可法: the law's defaults, which an item may override.
LICENCE_DAYS = 20                # art. 42: decided within 20 working days of acceptance
LICENCE_EXTENSION_DAYS = 10      # art. 42: extendable once by 10 with a leader's approval
JOINT_DAYS = 45                  # art. 42: joint or concentrated handling
JOINT_EXTENSION_DAYS = 15
ACCEPTANCE_DAYS = 5              # art. 32: an unanswered online submission counts as accepted


class Center(SQLModel, table=True):
    __tablename__ = "center"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(unique=True)
    name: str
    level: str
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="center.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


class Department(SQLModel, table=True):
    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("center_id", "code"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID = Field(foreign_key="center.id", index=True)
    code: str
    name: str


class Window(SQLModel, table=True):
    __tablename__ = "window"
    __table_args__ = (UniqueConstraint("center_id", "code"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID = Field(foreign_key="center.id", index=True)
    department_id: uuid.UUID = Field(foreign_key="department.id", index=True)
    code: str
    name: str


class Staff(SQLModel, table=True):
    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("center_id", "code"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID = Field(foreign_key="center.id", index=True)
    department_id: uuid.UUID | None = Field(default=None, foreign_key="department.id", index=True)
    window_id: uuid.UUID | None = Field(default=None, foreign_key="window.id", index=True)
    code: str
    name: str
    title: str | None = None    # 职务, e.g. 科长, 窗口负责人
    phone: str | None = None
    is_leader: bool = False


class Item(SQLModel, table=True):
    """审批事项 with its committed and legal time limits."""

    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("center_id", "code"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID = Field(foreign_key="center.id", index=True)
    department_id: uuid.UUID = Field(foreign_key="department.id", index=True)
    code: str
    name: str
    kind: str = ItemKind.LICENCE.value
    legal_days: int
    committed_days: int
    extension_days: int = LICENCE_EXTENSION_DAYS
    basis: str = Basis.WORKING.value
    joint: bool = False                      # 并联审批
    co_department_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    in_center: bool = True                   # 进驻中心办理
    supervised: bool = True                  # 纳入电子监察
    warn_min_days: int = 1
    warn_fraction: float = 0.2
    fee: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    legal_basis: str | None = None

    @property
    def warning_rule(self) -> WarningRule:
        return WarningRule(self.warn_min_days, self.warn_fraction)


class ItemStep(SQLModel, table=True):
    """An ordered step of an item; steps sharing ``seq`` run at once (one per department)."""

    __tablename__ = "item_step"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    item_id: uuid.UUID = Field(foreign_key="item.id", index=True)
    seq: int
    name: str
    limit_days: int
    department_id: uuid.UUID | None = Field(default=None, foreign_key="department.id")


class ItemMaterial(SQLModel, table=True):
    """申请材料 with its form to download."""

    __tablename__ = "item_material"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    item_id: uuid.UUID = Field(foreign_key="item.id", index=True)
    name: str
    required: bool = True
    copies: int = 1
    form_url: str | None = None


# ----------------------------------------------------------------------------- specs

@dataclass(frozen=True)
class StepSpec:
    name: str
    limit_days: int
    seq: int | None = None
    department_code: str | None = None


@dataclass(frozen=True)
class MaterialSpec:
    name: str
    required: bool = True
    copies: int = 1
    form_url: str | None = None


@dataclass
class ItemSpec:
    """What a catalogue editor enters for one item; ``validate`` names every problem."""

    code: str
    name: str
    department_code: str
    legal_days: int
    committed_days: int
    kind: ItemKind = ItemKind.LICENCE
    basis: Basis = Basis.WORKING
    extension_days: int | None = None
    joint: bool = False
    co_department_codes: list[str] = field(default_factory=list)
    in_center: bool = True
    supervised: bool = True
    warning: WarningRule = WarningRule()
    steps: list[StepSpec] = field(default_factory=list)
    materials: list[MaterialSpec] = field(default_factory=list)
    fee: dict[str, Any] = field(default_factory=dict)   # {} = free; else {"standard", "basis"}
    legal_basis: str | None = None

    def validate(self) -> None:
        def bad(code: ErrorCode, message: str) -> DomainError:
            return DomainError(code, message, item=self.code)

        for name, value in (("legal_days", self.legal_days), ("committed_days", self.committed_days)):
            if not isinstance(value, int) or value < 0 or value > MAX_LIMIT_DAYS:
                raise bad(ErrorCode.INVALID_DAY_LIMIT,
                          f"事项 {self.code} 的 {name}={value} 不合理：应为 0–{MAX_LIMIT_DAYS} 的整数天")
        if self.committed_days > self.legal_days:
            raise bad(ErrorCode.COMMITTED_EXCEEDS_LEGAL,
                      f"事项 {self.code} 的承诺时限 {self.committed_days} 天超过法定时限 {self.legal_days} 天")
        ext = self.extension_days
        if ext is not None and (ext < 0 or ext > MAX_LIMIT_DAYS):
            raise bad(ErrorCode.INVALID_DAY_LIMIT, f"事项 {self.code} 的延期天数 {ext} 不合理")
        if self.warning.min_days < 0 or not 0 <= self.warning.fraction <= 1:
            raise bad(ErrorCode.INVALID_WARNING_RULE, f"事项 {self.code} 的预警规则不合理")
        for step in self.steps:
            if step.limit_days < 0 or step.limit_days > MAX_LIMIT_DAYS:
                raise bad(ErrorCode.INVALID_DAY_LIMIT,
                          f"事项 {self.code} 的环节「{step.name}」时限 {step.limit_days} 天不合理")

    def default_extension(self) -> int:
        if self.extension_days is not None:
            return self.extension_days
        if self.kind is not ItemKind.LICENCE:
            return 0
        return JOINT_EXTENSION_DAYS if self.joint else LICENCE_EXTENSION_DAYS


# ----------------------------------------------------------------------------- lookups

def center_by_code(tx: Work, code: str) -> Center:
    center = tx.session.scalars(select(Center).where(Center.code == code)).first()
    if center is None:
        raise DomainError(ErrorCode.CENTER_NOT_FOUND, f"中心 {code} 不存在", center=code)
    return center


def department_by_code(tx: Work, center_id: uuid.UUID, code: str) -> Department:
    dept = tx.session.scalars(select(Department).where(
        Department.center_id == center_id, Department.code == code)).first()
    if dept is None:
        raise DomainError(ErrorCode.DEPARTMENT_NOT_FOUND, f"部门 {code} 不存在", department=code)
    return dept


def item_by_code(tx: Work, center_id: uuid.UUID, code: str) -> Item:
    item = tx.session.scalars(select(Item).where(Item.center_id == center_id, Item.code == code)).first()
    if item is None:
        raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"事项 {code} 不存在", item=code)
    return item


def center_ancestors(session: Session, center: Center) -> list[uuid.UUID]:
    """Ids of the parents of a center, the root first (for inherited calendar overrides)."""
    chain: list[uuid.UUID] = []
    parent_id = center.parent_id
    while parent_id is not None:
        chain.insert(0, parent_id)
        parent = session.get(Center, parent_id)
        parent_id = parent.parent_id if parent else None
    return chain


# ----------------------------------------------------------------------------- creation

def _record(tx: Work, center_id: uuid.UUID, kind: str, row: SQLModel, subject_type: str,
            data: dict[str, Any]) -> None:
    tx.session.add(row)
    tx.session.flush()   # rows without relationships: flush in the order they were created
    tx.ledger.append(center_id=center_id, kind=kind, subject_type=subject_type,
                     subject_id=row.id, occurred_at=tx.now, recorded_at=tx.now,  # type: ignore[attr-defined]
                     data=data, actor=tx.actor)


def create_center(tx: Work, *, code: str, name: str, level: CenterLevel,
                  parent_code: str | None = None) -> Center:
    """A new service center; its ledger chain starts with this event."""
    if tx.session.scalars(select(Center).where(Center.code == code)).first():
        raise DomainError(ErrorCode.DUPLICATE_CODE, f"中心编码 {code} 已存在", center=code)
    parent = center_by_code(tx, parent_code) if parent_code else None
    center = Center(code=code, name=name, level=level.value, parent_id=parent.id if parent else None,
                    created_at=tx.now)
    _record(tx, center.id, "catalogue.center_created", center, "center",
            {"code": code, "name": name, "level": level.value, "parent": parent_code})
    tx.session.flush()
    return center


def create_department(tx: Work, *, center: Center, code: str, name: str) -> Department:
    if tx.session.scalars(select(Department).where(Department.center_id == center.id,
                                                   Department.code == code)).first():
        raise DomainError(ErrorCode.DUPLICATE_CODE, f"部门编码 {code} 已存在", department=code)
    dept = Department(center_id=center.id, code=code, name=name)
    _record(tx, center.id, "catalogue.department_created", dept, "department", {"code": code, "name": name})
    return dept


def create_window(tx: Work, *, center: Center, department: Department, code: str,
                  name: str) -> Window:
    window = Window(center_id=center.id, department_id=department.id, code=code, name=name)
    _record(tx, center.id, "catalogue.window_created", window, "window",
            {"code": code, "name": name, "department": department.code})
    return window


def create_staff(tx: Work, *, center: Center, code: str, name: str,
                 department: Department | None = None, window: Window | None = None,
                 title: str | None = None, phone: str | None = None, is_leader: bool = False) -> Staff:
    staff = Staff(center_id=center.id, department_id=department.id if department else None,
                  window_id=window.id if window else None, code=code, name=name, title=title,
                  phone=phone, is_leader=is_leader)
    # Phone numbers are personal data: the ledger keeps that one was set, not the number.
    _record(tx, center.id, "catalogue.staff_created", staff, "staff",
            {"code": code, "name": name, "title": title, "has_phone": phone is not None})
    return staff


def create_item(tx: Work, *, center: Center, spec: ItemSpec) -> Item:
    """A new item of the catalogue, validated (committed ≤ legal, sane limits) with its steps."""
    spec.validate()
    if tx.session.scalars(select(Item).where(Item.center_id == center.id, Item.code == spec.code)).first():
        raise DomainError(ErrorCode.DUPLICATE_CODE, f"事项编码 {spec.code} 已存在", item=spec.code)
    dept = department_by_code(tx, center.id, spec.department_code)
    co_ids = [str(department_by_code(tx, center.id, c).id) for c in spec.co_department_codes]
    item = Item(center_id=center.id, department_id=dept.id, code=spec.code, name=spec.name,
                kind=spec.kind.value, legal_days=spec.legal_days, committed_days=spec.committed_days,
                extension_days=spec.default_extension(), basis=spec.basis.value, joint=spec.joint,
                co_department_ids=co_ids, in_center=spec.in_center, supervised=spec.supervised,
                warn_min_days=spec.warning.min_days, warn_fraction=spec.warning.fraction,
                fee=dict(spec.fee), legal_basis=spec.legal_basis)
    tx.session.add(item)
    tx.session.flush()
    for index, step in enumerate(spec.steps):
        step_dept = department_by_code(tx, center.id, step.department_code) if step.department_code else None
        tx.session.add(ItemStep(item_id=item.id, seq=step.seq if step.seq is not None else index + 1,
                                name=step.name, limit_days=step.limit_days,
                                department_id=step_dept.id if step_dept else None))
    for material in spec.materials:
        tx.session.add(ItemMaterial(item_id=item.id, name=material.name, required=material.required,
                                    copies=material.copies, form_url=material.form_url))
    tx.ledger.append(center_id=center.id, kind="catalogue.item_created", subject_type="item",
                     subject_id=item.id, occurred_at=tx.now, recorded_at=tx.now, actor=tx.actor,
                     data={"code": spec.code, "name": spec.name, "legal_days": spec.legal_days,
                           "committed_days": spec.committed_days, "basis": spec.basis.value,
                           "steps": [[s.name, s.limit_days] for s in spec.steps]})
    return item


# ----------------------------------------------------------------------------- changes

def _changed(tx: Work, center_id: uuid.UUID, kind: str, row: SQLModel, subject_type: str,
             values: dict[str, Any], data: dict[str, Any]) -> bool:
    """Set ``values`` on ``row``; if any differs, append ``kind`` naming what changed (before and
    after). Returns whether anything changed."""
    before = {name: getattr(row, name) for name in values if getattr(row, name) != values[name]}
    if not before:
        return False
    for name in before:
        setattr(row, name, values[name])
    tx.session.flush()
    shown = {name: (before[name], values[name]) for name in before if name != "phone"}
    tx.ledger.append(center_id=center_id, kind=kind, subject_type=subject_type, subject_id=row.id,  # type: ignore[attr-defined]
                     occurred_at=tx.now, recorded_at=tx.now, actor=tx.actor,
                     data={**data, "changed": {k: [str(a) if isinstance(a, uuid.UUID) else a,
                                                   str(b) if isinstance(b, uuid.UUID) else b]
                                               for k, (a, b) in shown.items()},
                           "phone_changed": "phone" in before})
    return True


def update_center(tx: Work, center: Center, *, name: str, level: CenterLevel) -> bool:
    """Rename a center or change its level (on its ledger); whether anything changed."""
    return _changed(tx, center.id, "catalogue.center_changed", center, "center",
                    {"name": name, "level": level.value}, {"code": center.code})


def update_department(tx: Work, department: Department, *, name: str) -> bool:
    return _changed(tx, department.center_id, "catalogue.department_changed", department, "department",
                    {"name": name}, {"code": department.code})


def update_window(tx: Work, window: Window, *, name: str, department: Department) -> bool:
    return _changed(tx, window.center_id, "catalogue.window_changed", window, "window",
                    {"name": name, "department_id": department.id}, {"code": window.code})


def update_staff(tx: Work, staff: Staff, *, name: str, department: Department | None, window: Window | None,
                 title: str | None, phone: str | None, is_leader: bool) -> bool:
    """Staff details changed; the ledger keeps that the phone changed, never the number."""
    return _changed(tx, staff.center_id, "catalogue.staff_changed", staff, "staff",
                    {"name": name, "department_id": department.id if department else None,
                     "window_id": window.id if window else None, "title": title, "phone": phone,
                     "is_leader": is_leader}, {"code": staff.code})


def update_item(tx: Work, item: Item, *, spec: ItemSpec) -> bool:
    """An item's limits, steps, materials and fee as ``spec`` says (validated as at creation); its
    steps and materials are replaced when they differ. Cases already running keep the steps they
    were given. Whether anything changed."""
    spec.validate()
    center_id = item.center_id
    dept = department_by_code(tx, center_id, spec.department_code)
    co_ids = [str(department_by_code(tx, center_id, c).id) for c in spec.co_department_codes]
    steps = [(s.seq if s.seq is not None else i + 1, s.name, s.limit_days,
              department_by_code(tx, center_id, s.department_code).id if s.department_code else None)
             for i, s in enumerate(spec.steps)]
    materials = [(m.name, m.required, m.copies, m.form_url) for m in spec.materials]
    old_steps = list(tx.session.scalars(select(ItemStep).where(ItemStep.item_id == item.id)
                                        .order_by(ItemStep.seq, ItemStep.id)))
    old_materials = list(tx.session.scalars(select(ItemMaterial).where(ItemMaterial.item_id == item.id)
                                            .order_by(ItemMaterial.id)))
    steps_differ = sorted((s.seq, s.name, s.limit_days, s.department_id) for s in old_steps) != sorted(
        steps, key=lambda s: (s[0], s[1], s[2], str(s[3])))
    materials_differ = sorted((m.name, m.required, m.copies, m.form_url) for m in old_materials) != sorted(
        materials, key=lambda m: (m[0], m[1], m[2], m[3] or ""))
    values = {"name": spec.name, "department_id": dept.id, "kind": spec.kind.value, "legal_days": spec.legal_days,
              "committed_days": spec.committed_days, "extension_days": spec.default_extension(),
              "basis": spec.basis.value, "joint": spec.joint, "co_department_ids": co_ids,
              "in_center": spec.in_center, "supervised": spec.supervised, "warn_min_days": spec.warning.min_days,
              "warn_fraction": spec.warning.fraction, "fee": dict(spec.fee), "legal_basis": spec.legal_basis}
    if steps_differ:
        for row in old_steps:
            tx.session.delete(row)
        for seq, name, limit, dept_id in steps:
            tx.session.add(ItemStep(item_id=item.id, seq=seq, name=name, limit_days=limit, department_id=dept_id))
    if materials_differ:
        for row in old_materials:
            tx.session.delete(row)
        for name, required, copies, form_url in materials:
            tx.session.add(ItemMaterial(item_id=item.id, name=name, required=required, copies=copies,
                                        form_url=form_url))
    data = {"code": item.code, "steps": [[s.name, s.limit_days] for s in spec.steps] if steps_differ else None,
            "materials_changed": materials_differ}
    if _changed(tx, center_id, "catalogue.item_changed", item, "item", values, data):
        return True
    if steps_differ or materials_differ:
        tx.session.flush()
        tx.ledger.append(center_id=center_id, kind="catalogue.item_changed", subject_type="item",
                         subject_id=item.id, occurred_at=tx.now, recorded_at=tx.now, actor=tx.actor,
                         data={**data, "changed": {}, "phone_changed": False})
        return True
    return False
