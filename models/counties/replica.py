"""The city's copy of a county's log and what it projects.

Verified events are written to the city's ``ledger_event`` as the county wrote them (same center
id, seq, hashes: the city's ledger check recomputes them as any chain), and their ``changes``
are folded into the city's projection tables (cases, steps, clocks, urges, tenders …) exactly as
``replay`` folds them, in the same transaction that stores them and advances the chain's tip: a
page is applied whole or not at all, and a page already applied is skipped by its seq. The
statistics rollup and the light tally are kept as the county's own transactions keep them; the
county's light changes are announced on the city's live channel. Nothing else reacts to them
here (no notice, rule or fault at the city): the county's own deployment did that.

The catalogue (centers, departments, windows, staff without phone numbers, items) is copied from
the county's catalogue document: catalogue events record what changed, not whole rows.
"""
from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Date, DateTime, Table, Uuid, insert, select, update
from sqlmodel import Session, SQLModel

from esupervision.models.base import UTCDateTime, utc
from esupervision.models.catalogue.catalogue import Center, Department, Item, ItemMaterial, ItemStep, Staff, Window
from esupervision.models.clocks import tally
from esupervision.models.clocks.clock import Clock
from esupervision.models.counties.link import CountyChain, CountyHead, CountyLink
from esupervision.models.counties.verify import Tip
from esupervision.models.ledger.checkpoint import TreeHead
from esupervision.models.ledger.ledger import LedgerEvent, row_values
from esupervision.models.ledger.transaction import Transaction
from esupervision.models.tables import PROJECTIONS

_ORDER = {m.__tablename__: i for i, m in enumerate(PROJECTIONS)}  # type: ignore[attr-defined]
_BY_TABLE: dict[str, type[SQLModel]] = {m.__tablename__: m for m in PROJECTIONS}  # type: ignore[misc]
# The catalogue as the county serves it, parents first.
CATALOGUE = (Center, Department, Window, Staff, Item, ItemStep, ItemMaterial)


def catalogue_document(session: Session) -> dict[str, list[dict[str, Any]]]:
    """This deployment's catalogue, table by table (phone numbers left out: personal data the
    city does not need; the county's own deployment tells its staff)."""
    document: dict[str, list[dict[str, Any]]] = {}
    for model in CATALOGUE:
        rows = []
        for row in session.scalars(select(model).order_by(model.id)):  # type: ignore[attr-defined]
            values = row_values(row)
            if model is Staff:
                values["phone"] = None
            rows.append(values)
        document[model.__tablename__] = rows  # type: ignore[attr-defined]
    return document


def _upsert(session: Session, model: type[SQLModel], values: dict[str, Any]) -> None:
    row = model.model_validate(values).model_dump()
    table: Table = model.__table__  # type: ignore[attr-defined]
    done = session.execute(update(table).where(table.c.id == row["id"]).values(row))
    if not done.rowcount:
        session.execute(insert(table).values(row))


def apply_catalogue(session: Session, link: CountyLink, document: dict[str, list[dict[str, Any]]]) -> int:
    """Copy a county's catalogue; its top center goes under ``link.parent_center_id``. Returns
    the rows written."""
    centers = document.get("center", [])
    ids = {c["id"] for c in centers}
    # Parents before children: the county's own center first, then its townships.
    centers = sorted(centers, key=lambda c: c.get("parent_id") in ids)
    written = 0
    for model in CATALOGUE:
        rows = centers if model is Center else document.get(model.__tablename__, [])  # type: ignore[attr-defined]
        for values in rows:
            values = dict(values)
            if model is Center and values.get("parent_id") not in ids:
                values["parent_id"] = str(link.parent_center_id) if link.parent_center_id else None
                if link.center_id is None:
                    link.center_id = uuid.UUID(values["id"])
                    link.name = values["name"] if link.name == link.code else link.name
            _upsert(session, model, values)
            written += 1
    session.flush()
    return written


def _converter(column: Any) -> Any:
    """Canonical JSON value → the column's Python value (ids, instants, days); others as they are."""
    kind = column.type
    if isinstance(kind, Uuid):
        return lambda v: v if v is None or isinstance(v, uuid.UUID) else uuid.UUID(v)
    if isinstance(kind, UTCDateTime) or isinstance(kind, DateTime):
        return lambda v: _instant(v) if isinstance(v, str) else v
    if isinstance(kind, Date):
        return lambda v: date.fromisoformat(v) if isinstance(v, str) else v
    return None


_CONVERTERS: dict[str, list[tuple[str, Any, Any]]] = {}


def _record(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """A projected row from its canonical JSON form, as ``model_validate(values).model_dump()``
    gives it, at a fraction of the cost (a page writes thousands)."""
    table = model.__table__  # type: ignore[attr-defined]
    plan = _CONVERTERS.get(table.name)
    if plan is None:
        fields = model.model_fields
        plan = _CONVERTERS[table.name] = [
            (c.key, _converter(c), fields[c.key].get_default(call_default_factory=True) if c.key in fields else None)
            for c in table.columns]
    out = {}
    for key, convert, default in plan:
        value = values.get(key, default)
        out[key] = convert(value) if convert is not None and value is not None else value
    return out


def _current(session: Session, model: type[SQLModel], ids: set[str]) -> dict[str, dict[str, Any]]:
    """The rows of ``ids`` the city holds, in canonical form, by id (a query per 500 ids)."""
    table = model.__table__  # type: ignore[attr-defined]
    rows: dict[str, dict[str, Any]] = {}
    wanted = sorted(ids)
    for start in range(0, len(wanted), 500):
        chunk = [uuid.UUID(i) for i in wanted[start:start + 500]]
        for found in session.execute(select(table).where(table.c.id.in_(chunk))):
            values = row_values(SimpleNamespace(__table__=table, **found._mapping))
            rows[values["id"]] = values
    return rows


def _project(tx: Transaction, events: list[dict[str, Any]], deltas: Counter) -> None:
    """Fold a page's changes into the projection tables as replay folds them: the rows they touch
    read once, changed in memory in ledger order, written once each (new rows inserted, the
    others updated by id), tables in insert order (parents first); clocks counted in the tally."""
    session = tx.session
    changes = [c for event in events for c in event["body"]["changes"] if c.get("table") in _BY_TABLE]
    if not changes:
        return
    ids: dict[str, set[str]] = defaultdict(set)
    for change in changes:
        ids[change["table"]].add(change["id"])
    current = {name: _current(session, _BY_TABLE[name], wanted) for name, wanted in ids.items()}
    existing = {name: set(rows) for name, rows in current.items()}
    counted = {i: tally.contribution(SimpleNamespace(**_record(Clock, v))) for i, v in current.get("clock", {}).items()}
    touched: dict[str, set[str]] = defaultdict(set)
    for change in changes:
        rows = current[change["table"]]
        if "values" in change:
            rows[change["id"]] = dict(change["values"])
        elif change["id"] in rows:
            rows[change["id"]].update(change["set"])
        else:
            continue   # a change to a row the copy never had: replay skips it too (verify names it)
        touched[change["table"]].add(change["id"])
    for model in PROJECTIONS:
        name = model.__tablename__  # type: ignore[attr-defined]
        if not touched.get(name):
            continue
        final = {i: _record(model, current[name][i]) for i in sorted(touched[name])}
        if model is Clock:
            for i, clock in final.items():
                tally.add_change(deltas, counted.get(i), tally.contribution(SimpleNamespace(**clock)))
        added = [row for i, row in final.items() if i not in existing[name]]
        changed = [row for i, row in final.items() if i in existing[name]]
        if added:
            session.execute(insert(model.__table__), added)  # type: ignore[attr-defined]
        if changed:
            session.execute(update(model), changed)   # by primary key, one statement for the lot


def store_page(tx: Transaction, link: CountyLink, chain: CountyChain, head: TreeHead, note: str,
               events: list[dict[str, Any]], tip: Tip) -> int:
    """Write a verified page (``events`` as served, ``tip`` the copy's end after them) to the
    city's ledger, project it, and advance the chain; the head is recorded once the copy reaches
    it. In ``tx``: all of it commits or none. Returns the events written."""
    from esupervision.models.supervision import rollup

    session = tx.session
    # Plain records, not table models: a model costs tens of microseconds a field to build.
    rows = [SimpleNamespace(
        center_id=uuid.UUID(e["body"]["center_id"]), seq=e["body"]["seq"], kind=e["body"]["kind"],
        subject_type=e["body"]["subject_type"], subject_id=uuid.UUID(e["body"]["subject_id"]),
        actor=e["body"]["actor"], source=e["body"]["source"], source_event_id=e["body"]["source_event_id"],
        occurred_at=_instant(e["body"]["occurred_at"]), recorded_at=_instant(e["body"]["recorded_at"]),
        late=e["body"]["late"], data=e["body"]["data"], changes=e["body"]["changes"],
        prev_hash=e["prev_hash"], hash=e["hash"]) for e in events]
    if rows:
        _insert_events(session, rows)
    deltas: Counter = Counter()
    _project(tx, events, deltas)
    session.flush()
    if deltas:
        tally.apply(session, deltas)
    counted = [SimpleNamespace(kind=r.kind, subject_type=r.subject_type, subject_id=r.subject_id,
                               occurred_at=r.occurred_at) for r in rows]
    rollup.on_events(tx, counted)
    lights = [row for row in rows if row.kind.startswith("light.")]
    if lights:
        # lightChanged carries the city's own ledger id (its cursor) and the instant recorded.
        ids = dict(session.execute(select(LedgerEvent.seq, LedgerEvent.id).where(
            LedgerEvent.center_id == chain.center_id, LedgerEvent.seq.in_([row.seq for row in lights]))).all())
        for row in lights:
            tx.announce("light.changed", {**row.data, "ledger_id": ids[row.seq],
                                          "announced_at": row.recorded_at.isoformat(), "county": link.code})
    chain.size, chain.last_hash, chain.frontier = tip.size, tip.last_hash, tip.frontier
    if tip.size == head.size and head.size > chain.head_size:
        chain.head_size, chain.head_root, chain.head_at = head.size, head.root.hex(), utc(head.time)
        session.add(CountyHead(center_id=chain.center_id, size=head.size, root=head.root.hex(),
                               signed_at=utc(head.time), received_at=tx.now, note=note))
    session.add(chain)
    session.flush()
    return len(rows)


def _insert_events(session: Session, rows: list[Any]) -> None:
    # Written as the county hashed them (ids are the city's own).
    table = LedgerEvent.__table__  # type: ignore[attr-defined]
    values = [{c.key: getattr(r, c.key) for c in table.columns if c.key != "id"} for r in rows]
    for start in range(0, len(values), 1000):
        session.execute(insert(table), values[start:start + 1000])


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def stored_hashes(session: Session, center_id: uuid.UUID, after: int, limit: int) -> list[tuple[int, str]]:
    """(seq, chain hash) of the city's copy of a chain, from ``after`` + 1, at most ``limit``."""
    return [(s, h) for s, h in session.execute(
        select(LedgerEvent.seq, LedgerEvent.hash).where(LedgerEvent.center_id == center_id, LedgerEvent.seq > after)
        .order_by(LedgerEvent.seq).limit(limit)).all()]


def witnessed_heads(session: Session, county_id: uuid.UUID) -> list[tuple[str, int, str, list[tuple[int, str]]]]:
    """What the city verified of a county, as a witness publishes it: (origin, size, signed head,
    the chain hashes that head added) for every verified head, oldest first per chain."""
    from esupervision.models.ledger.checkpoint import parse
    out = []
    for chain in session.scalars(select(CountyChain).where(CountyChain.county_id == county_id)
                                 .order_by(CountyChain.code)):
        held = 0
        for head in session.scalars(select(CountyHead).where(CountyHead.center_id == chain.center_id)
                                    .order_by(CountyHead.size)):
            leaves = [(s, h) for s, h in session.execute(
                select(LedgerEvent.seq, LedgerEvent.hash).where(LedgerEvent.center_id == chain.center_id,
                                                                LedgerEvent.seq > held, LedgerEvent.seq <= head.size)
                .order_by(LedgerEvent.seq)).all()]
            out.append((parse(head.note).origin, head.size, head.note, leaves))
            held = head.size
    return out
