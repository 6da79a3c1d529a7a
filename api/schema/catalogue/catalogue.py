"""Catalogue in GraphQL: centers, departments, windows, staff, items; and their creation."""
from __future__ import annotations

import uuid
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info

from esupervision.api.schema.common import (Edge, PageInfo, decode_offset, offset_cursor, page_size, parse_id,
                                            require, viewer)
from esupervision.models.catalogue import catalogue as cat
from esupervision.models.access.scope import Role
from esupervision.models.clocks.clock import Basis, WarningRule
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.transaction import transaction

CenterLevel = strawberry.enum(cat.CenterLevel, name="CenterLevel", description="中心级别")
ItemKind = strawberry.enum(cat.ItemKind, name="ItemKind", description="事项类型")
BasisEnum = strawberry.enum(Basis, name="DayBasis", description="工作日或自然日")


@strawberry.federation.type(keys=["id"], description="行政服务中心")
class Center:
    id: strawberry.ID
    code: str
    name: str
    level: CenterLevel
    parent_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: cat.Center) -> "Center":
        return cls(id=strawberry.ID(str(row.id)), code=row.code, name=row.name,
                   level=cat.CenterLevel(row.level), parent_id=row.parent_id)

    @strawberry.field(description="上级中心")
    async def parent(self, info: Info) -> "Center | None":
        if self.parent_id is None:
            return None
        row = await info.context.loaders.center.load(self.parent_id)
        return Center.from_row(row) if row else None

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID | None = None) -> "Center | None":
        row = await info.context.loaders.center.load(_reference_id(id))
        return cls.from_row(row) if row else None


@strawberry.federation.type(keys=["id"], description="部门、委办局")
class Department:
    id: strawberry.ID
    code: str
    name: str
    center_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: cat.Department) -> "Department":
        return cls(id=strawberry.ID(str(row.id)), code=row.code, name=row.name, center_id=row.center_id)

    @strawberry.field
    async def center(self, info: Info) -> Center:
        return Center.from_row(await info.context.loaders.center.load(self.center_id))

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID | None = None) -> "Department | None":
        row = await info.context.loaders.department.load(_reference_id(id))
        return cls.from_row(row) if row else None


@strawberry.federation.type(keys=["id"], description="窗口")
class Window:
    id: strawberry.ID
    code: str
    name: str
    department_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: cat.Window) -> "Window":
        return cls(id=strawberry.ID(str(row.id)), code=row.code, name=row.name, department_id=row.department_id)

    @strawberry.field
    async def department(self, info: Info) -> Department:
        return await department_of(info, self.department_id)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID | None = None) -> "Window | None":
        row = await info.context.loaders.window.load(_reference_id(id))
        return cls.from_row(row) if row else None


async def department_of(info: Info, department_id: uuid.UUID) -> Department:
    """The department with this id, through the request's loader (every type's ``department``)."""
    return Department.from_row(await info.context.loaders.department.load(department_id))


async def window_of(info: Info, window_id: uuid.UUID | None) -> Window | None:
    """The window with this id, if any, through the request's loader (every type's ``window``)."""
    row = await info.context.loaders.window.load(window_id) if window_id else None
    return Window.from_row(row) if row else None


@strawberry.type(description="工作人员")
class Staff:
    id: strawberry.ID
    code: str
    name: str
    title: str | None
    is_leader: bool

    @classmethod
    def from_row(cls, row: cat.Staff) -> "Staff":
        return cls(id=strawberry.ID(str(row.id)), code=row.code, name=row.name, title=row.title,
                   is_leader=row.is_leader)


@strawberry.type(description="办理环节及其时限")
class ItemStepType:
    seq: int
    name: str
    limit_days: int


@strawberry.type(description="申请材料")
class Material:
    name: str
    required: bool
    copies: int
    form_url: str | None


@strawberry.federation.type(keys=["id"], description="审批事项")
class Item:
    id: strawberry.ID
    code: str
    name: str
    kind: ItemKind
    legal_days: int
    committed_days: int
    extension_days: int
    basis: BasisEnum
    joint: bool
    in_center: bool
    supervised: bool
    warn_min_days: int
    warn_fraction: float
    fee: JSON = strawberry.field(description="收费标准及依据；空为免费")
    legal_basis: str | None
    department_id: strawberry.Private[uuid.UUID]
    row_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: cat.Item) -> "Item":
        return cls(id=strawberry.ID(str(row.id)), code=row.code, name=row.name, kind=cat.ItemKind(row.kind),
                   legal_days=row.legal_days, committed_days=row.committed_days,
                   extension_days=row.extension_days, basis=Basis(row.basis), joint=row.joint,
                   in_center=row.in_center, supervised=row.supervised, warn_min_days=row.warn_min_days,
                   warn_fraction=row.warn_fraction, fee=row.fee, legal_basis=row.legal_basis,
                   department_id=row.department_id, row_id=row.id)

    @strawberry.field
    async def department(self, info: Info) -> Department:
        return await department_of(info, self.department_id)

    @strawberry.field
    async def steps(self, info: Info) -> list[ItemStepType]:
        rows = await info.context.loaders.item_steps.load(self.row_id)
        return [ItemStepType(seq=r.seq, name=r.name, limit_days=r.limit_days) for r in rows]

    @strawberry.field
    async def materials(self, info: Info) -> list[Material]:
        rows = await info.context.loaders.item_materials.load(self.row_id)
        return [Material(name=r.name, required=r.required, copies=r.copies, form_url=r.form_url) for r in rows]

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID | None = None) -> "Item | None":
        row = await info.context.loaders.item.load(_reference_id(id))
        return cls.from_row(row) if row else None


@strawberry.type
class ItemConnection:
    total_count: int
    edges: list[Edge[Item]]
    page_info: PageInfo


@strawberry.input(description="事项筛选")
class ItemFilter:
    center_code: str | None = None
    department_code: str | None = None
    kind: ItemKind | None = None
    in_center: bool | None = None
    supervised: bool | None = None
    text: str | None = strawberry.field(default=None, description="编码或名称包含")


@strawberry.type
class CatalogueQuery:
    @strawberry.field(description="全部中心")
    async def centers(self, info: Info) -> list[Center]:
        rows = await info.context.run(lambda s: list(s.scalars(select(cat.Center).order_by(cat.Center.code))))
        return [Center.from_row(r) for r in rows]

    @strawberry.field
    async def center(self, info: Info, code: str) -> Center | None:
        row = await info.context.run(lambda s: s.scalars(select(cat.Center).where(cat.Center.code == code)).first())
        return Center.from_row(row) if row else None

    @strawberry.field(description="部门（可按中心）")
    async def departments(self, info: Info, center_code: str | None = None) -> list[Department]:
        def fetch(s):  # noqa: ANN001, ANN202
            query = select(cat.Department).order_by(cat.Department.code)
            if center_code:
                query = query.join(cat.Center, cat.Center.id == cat.Department.center_id).where(
                    cat.Center.code == center_code)
            return list(s.scalars(query))
        return [Department.from_row(r) for r in await info.context.run(fetch)]

    @strawberry.field(description="窗口（可按部门）")
    async def windows(self, info: Info, department_id: strawberry.ID | None = None) -> list[Window]:
        def fetch(s):  # noqa: ANN001, ANN202
            query = select(cat.Window).order_by(cat.Window.code)
            if department_id:
                query = query.where(cat.Window.department_id == parse_id(department_id))
            return list(s.scalars(query))
        return [Window.from_row(r) for r in await info.context.run(fetch)]

    @strawberry.field(description="工作人员（仅工作人员可查）")
    async def staff(self, info: Info, department_id: strawberry.ID | None = None) -> list[Staff]:
        require(info, Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.WINDOW_STAFF)

        def fetch(s):  # noqa: ANN001, ANN202
            query = select(cat.Staff).order_by(cat.Staff.code)
            if department_id:
                query = query.where(cat.Staff.department_id == parse_id(department_id))
            return list(s.scalars(query))
        return [Staff.from_row(r) for r in await info.context.run(fetch)]

    @strawberry.field(description="审批事项目录")
    async def items(self, info: Info, filter: ItemFilter | None = None, first: int | None = None,
                    after: str | None = None) -> ItemConnection:
        size, offset = page_size(first), decode_offset(after)
        flt = filter or ItemFilter()

        def fetch(s):  # noqa: ANN001, ANN202
            from sqlalchemy import func, or_
            query = select(cat.Item)
            if flt.center_code:
                query = query.join(cat.Center, cat.Center.id == cat.Item.center_id).where(cat.Center.code == flt.center_code)
            if flt.department_code:
                query = query.join(cat.Department, cat.Department.id == cat.Item.department_id).where(
                    cat.Department.code == flt.department_code)
            if flt.kind is not None:
                query = query.where(cat.Item.kind == cat.ItemKind(flt.kind).value)
            if flt.in_center is not None:
                query = query.where(cat.Item.in_center.is_(flt.in_center))  # type: ignore[attr-defined]
            if flt.supervised is not None:
                query = query.where(cat.Item.supervised.is_(flt.supervised))  # type: ignore[attr-defined]
            if flt.text:
                query = query.where(or_(cat.Item.code.contains(flt.text), cat.Item.name.contains(flt.text)))
            total = s.scalar(select(func.count()).select_from(query.subquery()))
            rows = list(s.scalars(query.order_by(cat.Item.code).offset(offset).limit(size + 1)))
            return total, rows
        total, rows = await info.context.run(fetch)
        edges = [Edge(cursor=offset_cursor(offset + i), node=Item.from_row(r)) for i, r in enumerate(rows[:size])]
        return ItemConnection(total_count=total, edges=edges, page_info=PageInfo(
            has_next_page=len(rows) > size, has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field
    async def item(self, info: Info, center_code: str, code: str) -> Item | None:
        def fetch(s):  # noqa: ANN001, ANN202
            return s.scalars(select(cat.Item).join(cat.Center, cat.Center.id == cat.Item.center_id)
                             .where(cat.Center.code == center_code, cat.Item.code == code)).first()
        row = await info.context.run(fetch)
        return Item.from_row(row) if row else None


def _reference_id(value: strawberry.ID | None) -> uuid.UUID:
    """The key of an entity representation (a gateway's ``_entities`` call); a missing or
    malformed one is the caller's error, not ours."""
    if value is None:
        raise DomainError(ErrorCode.BAD_INPUT, "实体引用缺少键字段 id (representation without its key)")
    return parse_id(value)



@strawberry.input
class StepInput:
    name: str
    limit_days: int
    seq: int | None = None
    department_code: str | None = None


@strawberry.input
class MaterialInput:
    name: str
    required: bool = True
    copies: int = 1
    form_url: str | None = None


@strawberry.input(description="新建审批事项")
class ItemInput:
    center_code: str
    code: str
    name: str
    department_code: str
    legal_days: int
    committed_days: int
    kind: ItemKind = cat.ItemKind.LICENCE
    basis: BasisEnum = Basis.WORKING
    extension_days: int | None = None
    joint: bool = False
    co_department_codes: list[str] = strawberry.field(default_factory=list)
    in_center: bool = True
    supervised: bool = True
    warn_min_days: int = 1
    warn_fraction: float = 0.2
    steps: list[StepInput] = strawberry.field(default_factory=list)
    materials: list[MaterialInput] = strawberry.field(default_factory=list)
    fee: JSON | None = None
    legal_basis: str | None = None


@strawberry.type
class CatalogueMutation:
    @strawberry.mutation(description="新建中心（监察）")
    async def create_center(self, info: Info, code: str, name: str, level: CenterLevel,
                            parent_code: str | None = None) -> Center:
        who = viewer(info)

        def run(_s):  # noqa: ANN001, ANN202
            with transaction(info.context.engine, actor=who.actor) as tx:
                return cat.create_center(tx, code=code, name=name, level=cat.CenterLevel(level),
                                         parent_code=parent_code)
        return Center.from_row(await info.context.run(run))

    @strawberry.mutation(description="新建部门")
    async def create_department(self, info: Info, center_code: str, code: str, name: str) -> Department:
        who = viewer(info)

        def run(_s):  # noqa: ANN001, ANN202
            with transaction(info.context.engine, actor=who.actor) as tx:
                center = cat.center_by_code(tx, center_code)
                _check_center(who, center.id)
                return cat.create_department(tx, center=center, code=code, name=name)
        return Department.from_row(await info.context.run(run))

    @strawberry.mutation(description="新建审批事项")
    async def create_item(self, info: Info, input: Annotated[ItemInput, strawberry.argument(name="input")]) -> Item:
        who = viewer(info)
        spec = cat.ItemSpec(
            code=input.code, name=input.name, department_code=input.department_code,
            legal_days=input.legal_days, committed_days=input.committed_days, kind=cat.ItemKind(input.kind),
            basis=Basis(input.basis), extension_days=input.extension_days, joint=input.joint,
            co_department_codes=list(input.co_department_codes), in_center=input.in_center,
            supervised=input.supervised, warning=WarningRule(input.warn_min_days, input.warn_fraction),
            steps=[cat.StepSpec(s.name, s.limit_days, s.seq, s.department_code) for s in input.steps],
            materials=[cat.MaterialSpec(m.name, m.required, m.copies, m.form_url) for m in input.materials],
            fee=dict(input.fee or {}), legal_basis=input.legal_basis)

        def run(_s):  # noqa: ANN001, ANN202
            with transaction(info.context.engine, actor=who.actor) as tx:
                center = cat.center_by_code(tx, input.center_code)
                _check_center(who, center.id)
                return cat.create_item(tx, center=center, spec=spec)
        return Item.from_row(await info.context.run(run))


def _check_center(who, center_id: uuid.UUID) -> None:  # noqa: ANN001
    if who.role is Role.CENTER_ADMIN and who.center_id != center_id:
        raise DomainError(ErrorCode.FORBIDDEN, "只能管理本中心 only your own center")
