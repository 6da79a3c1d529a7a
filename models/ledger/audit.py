"""The whole check of the ledger: every center's log against its signed heads and the witness
(``ledger.verify_chain``), and the projections against the ledger: the ledger is replayed in
memory and every projected row (cases, steps, clocks, urges, orders, faults, tender stages …)
compared column by column with the live one, so a row edited directly in its table is named.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.ledger.checkpoint import Verifier
from esupervision.models.ledger.ledger import (Breach, ChainReport, LedgerTreeHead, Tamper, Witnessed, json_value,
                                               verifier_of, verify_chains)
from esupervision.models.ledger.proofs import check_served
from esupervision.models.ledger.replay import fold
from esupervision.models.tables import PROJECTIONS


@dataclass(frozen=True)
class Difference:
    """A projected row that is not what the ledger says: a column that differs (``column``), or a
    row missing from its table or from the ledger (``column`` None)."""

    table: str
    row_id: str
    column: str | None
    ledger: Any
    live: Any
    # The last event that wrote the row: (center, seq).
    written_by: tuple[uuid.UUID, int] | None = None

    def describe(self) -> str:
        where = (f" (last written by center {self.written_by[0]} seq {self.written_by[1]})"
                 if self.written_by else "")
        if self.column is None:
            state = "表中缺少该行 missing from the table" if self.live is None else "账本中没有该行 not in the ledger"
            return f"投影与账本不符 projection differs: {self.table} {self.row_id}: {state}{where}"
        return (f"投影与账本不符 projection differs: {self.table} {self.row_id} column {self.column}: "
                f"ledger {self.ledger!r}, table {self.live!r}{where}")


def compare_projections(session: Session, progress: Callable[[int], None] | None = None,
                        chunk: int = 2000) -> list[Difference]:
    """Every difference between the projected tables and the ledger replayed in memory, table by
    table in insert order, rows by id, columns in table order."""
    writers: dict[tuple[str, str], tuple[uuid.UUID, int]] = {}
    folded = fold(session, progress, writers=writers)
    differences: list[Difference] = []
    plain = frozenset({str, int, float, bool, type(None)})
    for model in PROJECTIONS:
        table = model.__table__  # type: ignore[attr-defined]
        name, columns = table.name, [c.key for c in table.columns]
        expected = folded.get(name, {})
        # Rows read as tuples (no model instances), in the canonical form ``row_values`` gives.
        for values in session.execute(select(table).order_by(table.c.id).execution_options(yield_per=chunk)):
            live = {key: value if value.__class__ in plain else json_value(value)
                    for key, value in zip(columns, values)}
            row_id = live["id"]
            ledger = expected.pop(row_id, None)
            if ledger is None:
                differences.append(Difference(name, row_id, None, None, live))
                continue
            for column in columns:
                if ledger.get(column) != live[column]:
                    differences.append(Difference(name, row_id, column, ledger.get(column), live[column],
                                                  writers.get((name, row_id))))
        for row_id in sorted(expected):
            differences.append(Difference(name, row_id, None, expected[row_id], None, writers.get((name, row_id))))
    return differences


@dataclass
class AuditReport:
    """What ``audit`` found."""

    chains: list[ChainReport]
    differences: list[Difference] = field(default_factory=list)
    projections_checked: bool = False

    @property
    def breaches(self) -> list[Breach]:
        return [b for chain in self.chains for b in chain.breaches]

    @property
    def events(self) -> int:
        return sum(chain.events for chain in self.chains)

    @property
    def intact(self) -> bool:
        return not self.breaches and not self.differences

    def lines(self) -> list[str]:
        """One line per breach and per difference, breaches first."""
        return [b.describe() for b in self.breaches] + [d.describe() for d in self.differences]


def audit(session: Session, key: Verifier | str, *, witness: Witnessed | None = None, projections: bool = True,
          progress: Callable[[int], None] | None = None) -> AuditReport:
    """Verify every log with ``key`` (the verifier key; nothing secret) against ``witness``, serve
    and check proofs between each log's first and newest signed heads, and, with ``projections``,
    compare every projected row with the ledger replayed."""
    verifier = verifier_of(key)
    report = AuditReport(verify_chains(session, verifier, witness=witness))
    for chain in report.chains:
        if chain.breaches:
            continue
        first, last = session.execute(select(func.min(LedgerTreeHead.size), func.max(LedgerTreeHead.size))
                                      .where(LedgerTreeHead.center_id == chain.center_id)).one()
        failed = check_served(session, chain.center_id, verifier, sorted({first, last} - {None}))
        if failed:
            chain.breaches.append(Breach(chain.center_id, last, None, Tamper.TREE,
                                         f"服务的证明不成立 a served proof does not hold: {failed}"))
    if projections:
        report.differences = compare_projections(session, progress)
        report.projections_checked = True
    return report
