"""Rebuild the projections (cases, steps, clocks) from the ledger alone.

Every case event keeps the rows it wrote (new rows whole, changed rows as their changed
columns), so replaying folds them in ledger order and the result must equal the live projection
exactly. Only rows at a position of a chain (seq ≥ 1) are folded: a row slipped in beside the
chains (seq 0) changes nothing, and ``verify_chain`` names it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import Session, SQLModel

from esupervision.models.clocks import tally
from esupervision.models.ledger.ledger import LedgerEvent, row_values
from esupervision.models.tables import PROJECTIONS

_BY_TABLE: dict[str, type[SQLModel]] = {m.__tablename__: m for m in PROJECTIONS}  # type: ignore[misc]


def fold(session: Session, progress: Callable[[int], None] | None = None, chunk: int = 5000,
         writers: dict[tuple[str, str], tuple[Any, int]] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """The final version of every projected row, as the ledger says; ``writers`` (if given) gets
    the (center, seq) of the last event that wrote each (table, id)."""
    rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in _BY_TABLE}
    last_id = 0
    while True:
        batch = session.execute(select(LedgerEvent.id, LedgerEvent.changes, LedgerEvent.center_id, LedgerEvent.seq)
                                .where(LedgerEvent.id > last_id).order_by(LedgerEvent.id).limit(chunk)).all()
        if not batch:
            return rows
        for event_id, changes, center_id, seq in batch:
            last_id = event_id
            if seq < 1:
                continue
            for change in changes:
                table = rows.get(change["table"])
                if table is None:
                    continue
                if "values" in change:       # a new row, or a row written whole
                    table[change["id"]] = dict(change["values"])
                else:                        # the columns that changed
                    table[change["id"]].update(change["set"])
                if writers is not None:
                    writers[(change["table"], change["id"])] = (center_id, seq)
        if progress:
            progress(len(batch))


def replay(session: Session, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Empty the projections and rebuild them from the ledger; returns rows per table.

    Runs in the caller's transaction: a failure leaves the old projection in place.
    """
    rows = fold(session, progress)
    for model in reversed(PROJECTIONS):
        session.execute(delete(model))
    counts: dict[str, int] = {}
    for model in PROJECTIONS:
        values = [model.model_validate(v).model_dump() for v in rows[model.__tablename__].values()]  # type: ignore[attr-defined]
        for start in range(0, len(values), 2000):
            session.execute(insert(model), values[start:start + 2000])
        counts[model.__tablename__] = len(values)  # type: ignore[attr-defined]
    counts["light_tally"] = tally.rebuild(session)
    from esupervision.models.supervision import rollup as statistics_rollup
    counts["statistics_day"] = statistics_rollup.rebuild(session)
    return counts


def snapshot(session: Session) -> dict[str, dict[str, dict[str, Any]]]:
    """Every projected row as JSON-ready values, keyed by table and id (for comparisons)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for model in PROJECTIONS:
        out[model.__tablename__] = {  # type: ignore[attr-defined]
            str(row.id): row_values(row) for row in session.scalars(select(model))  # type: ignore[attr-defined]
        }
    return out
