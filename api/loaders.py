"""DataLoaders per request: a page of 50 cases costs a constant number of SQL statements."""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlmodel import Session
from strawberry.dataloader import DataLoader

from esupervision.models.base import record_class
from esupervision.models.cases.case import Step, StepStatus
from esupervision.models.catalogue.catalogue import Center, Department, Item, ItemMaterial, ItemStep, Staff, Window
from esupervision.models.clocks.clock import Clock

T = TypeVar("T")


class Context(Protocol):
    """What loaders use of a request's context (``api.context.Context``, which makes them)."""

    def run(self, fn: Callable[[Session], T]) -> Awaitable[T]: ...


@cache
def _record(model: type) -> type:
    return record_class(model)


def _rows(session: Any, model: type, query: Any) -> list[Any]:
    """Rows of ``model`` as plain records: read-only answers need no ORM identity map, and a
    record costs a fraction of an ORM instance to build."""
    record = _record(model)
    result = session.execute(query)
    keys = list(result.keys())
    return [record(**dict(zip(keys, row))) for row in result]


def rows_by_id(session: Any, model: type, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Records of ``model`` with these ids, by id, in one statement."""
    table = model.__table__  # type: ignore[attr-defined]
    return {row.id: row for row in _rows(session, model, select(table).where(table.c.id.in_(list(ids))))}


def rows_grouped(session: Any, model: type, key: str, ids: Sequence[uuid.UUID], *, order_by: Any = None,
                 where: Any = None) -> dict[uuid.UUID, list[Any]]:
    """Records of ``model`` whose ``key`` is one of ``ids``, grouped by it, in one statement."""
    table = model.__table__  # type: ignore[attr-defined]
    query = select(table).where(table.c[key].in_(list(ids)))
    if where is not None:
        query = query.where(where)
    if order_by is not None:
        query = query.order_by(*(order_by if isinstance(order_by, tuple) else (order_by,)))
    groups: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in _rows(session, model, query):
        groups[getattr(row, key)].append(row)
    return groups


# Steps of a joint approval run side by side with one seq: their id (time-ordered) breaks the tie,
# so every reader lists them in the same order.
STEPS = {"order_by": (Step.seq, Step.id)}
RUNNING_STEPS = {"order_by": (Step.seq, Step.id), "where": Step.status == StepStatus.RUNNING.value}


def _by_id(context: Context, model: type) -> DataLoader[uuid.UUID, Any]:
    async def load(ids: Sequence[uuid.UUID]) -> list[Any]:
        found = await context.run(lambda session: rows_by_id(session, model, ids))
        return [found.get(i) for i in ids]
    return DataLoader(load_fn=load)


def _grouped(context: Context, model: type, key: str, *, order_by: Any = None,
             where: Any = None) -> DataLoader[uuid.UUID, list[Any]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[Any]]:
        found = await context.run(lambda session: rows_grouped(session, model, key, ids, order_by=order_by,
                                                               where=where))
        return [found.get(i, []) for i in ids]
    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, context: Context) -> None:
        self.center = _by_id(context, Center)
        self.department = _by_id(context, Department)
        self.window = _by_id(context, Window)
        self.staff = _by_id(context, Staff)
        self.item = _by_id(context, Item)
        self.clock = _by_id(context, Clock)
        self.steps = _grouped(context, Step, "case_id", **STEPS)
        self.running_steps = _grouped(context, Step, "case_id", **RUNNING_STEPS)
        self.item_steps = _grouped(context, ItemStep, "item_id", order_by=ItemStep.seq)
        self.item_materials = _grouped(context, ItemMaterial, "item_id")
