"""Red flags of tenders with the Open Contracting Partnership's indicator codes (as OCP's Cardinal
defines them), plus the collusion signs of 条例 40 that electronic bidding records carry.

``evaluate`` is pure: one tender's rows (ORM rows or plain records with the same attribute names),
the thresholds and the population fences in, the flags with their evidence out. ``refresh``
runs it for the tender of each stage event (incremental, inside the event's transaction);
``refresh_all`` runs it for every tender at once (bulk) and refreshes the R024/R058 fences.

Sealed bids stay sealed: flags that read prices are only computed once the tender is opened, and
no evidence carries a bid's content. Nothing about the bidders leaves before the opening either
(法 22: not their names, not their number): a flag about the bids (every indicator but R003, the
only one read from the tender alone) found before the opening is kept with the time it was found,
and is shown, announced and put on the ledger's readable record from the opening on
(``visible_flag``, ``record_unsealed``).
"""
from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import JSON, Column, Index, UniqueConstraint, select
from sqlmodel import Field, Session, SQLModel

from esupervision.models.base import UTCDateTime, new_id, utc
from esupervision.models.clocks.clock import local_date

INDICATORS: dict[str, str] = {
    "R003": "投标期过短 Short submission period",
    "R018": "仅一个有效投标 Single bid received",
    "R019": "投标人过少 Low number of bidders",
    "R023": "投标报价呈规律性差异 Bid prices at a regular spacing (条例 40(4))",
    "R024": "次低价与中标价过近 Price close to winning bid",
    "R028": "投标报价相同 Identical bid prices",
    "R030": "迟到的投标中标 Late bid won",
    "R031": "中标价达到或超过最高投标限价 Winning bid at or above the ceiling",
    "R035": "除中标人外全部被否决 All except winning bid disqualified",
    "R036": "价格唯一标准下最低价被否决 Lowest bid disqualified",
    "R057": "同一群体轮流中标 Bid rotation",
    "R058": "中标价大幅低于次低价 Heavily discounted winning bid",
    "R059": "合同金额与中标金额不一致 Contract value differs from award",
    "R060": "中标后超过 30 日订立合同 Long delay between award and contract",
    "C40_MACHINE": "投标文件由同一台机器制作（条例 40(1)）Bid files made on the same machine",
    "C40_ACCOUNT": "投标保证金从同一账户转出（条例 40(5)）Bonds paid from the same account",
    "C40_MANAGER": "不同投标人的项目负责人为同一人（条例 40(2)）Same project manager in different bids",
}


# Indicators read from the bids: they name bidders or count them, so they are sealed until the
# opening (法 22). R003 reads only the tender's own dates.
ABOUT_BIDS = frozenset(INDICATORS) - {"R003"}


def flag_sealed(code: str, tender: Any, at: datetime) -> bool:
    """Whether a flag with this code on ``tender`` is still sealed at ``at``."""
    return code in ABOUT_BIDS and (tender.opened_at is None or utc(at) < tender.opened_at)


def visible_flag(now: datetime) -> Any:
    """SQL: the red flag rows a viewer may see at ``now`` (a flag about the bids only once its
    tender is opened); to be used where the tender table is joined or correlated."""
    from sqlalchemy import and_, or_

    from esupervision.models.tenders.records import Tender
    return or_(TenderRedFlag.code.not_in(ABOUT_BIDS),  # type: ignore[attr-defined]
               and_(Tender.opened_at.is_not(None), Tender.opened_at <= now))  # type: ignore[union-attr, operator]


class RedFlagSettings(BaseSettings):
    """Thresholds of the indicators (environment ``ESV_REDFLAG_*``), read once."""

    model_config = SettingsConfigDict(env_prefix="ESV_REDFLAG_", extra="ignore")

    r003_min_days: int = 20            # submission period shorter than this (natural days)
    r019_min_bids: int = 4             # fewer bids than this in a lot
    r023_min_bids: int = 3             # at least this many prices at a regular spacing
    r023_tolerance: float = 0.005      # steps equal within this share of the step
    r024_threshold: float | None = None  # lower fence of the second-bid gap (None: Q1 − 1.5 IQR)
    r058_threshold: float | None = None  # upper fence (None: Q3 + 1.5 IQR)
    fence_min_population: int = 20     # fewer awarded lots than this: no fence from the data
    r031_ratio: float = 1.0            # winning price at or above ratio × ceiling
    r057_min_group: int = 3            # a group of at least this many bidders …
    r057_min_tenders: int = 3          # … bidding together in at least this many awarded lots
    r059_tolerance: float = 0.0        # contract differing from the award by more than this share
    r060_days: int = 30                # contract signed more than this many days after the award


@lru_cache
def get_redflag_settings() -> RedFlagSettings:
    return RedFlagSettings()


class TenderRedFlag(SQLModel, table=True):
    """A flag raised on a tender (or one of its lots) with its evidence; cleared when the facts
    no longer show it, raised again when they do."""

    __tablename__ = "tender_red_flag"
    __table_args__ = (UniqueConstraint("tender_id", "key"), Index("ix_tender_red_flag_code", "code", "tender_id"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tender_id: uuid.UUID = Field(foreign_key="tender.id")
    center_id: uuid.UUID
    lot_code: str | None = None
    code: str
    key: str
    title: str
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    raised_at: datetime = Field(sa_type=UTCDateTime)
    cleared_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RedFlagFence(SQLModel, table=True):
    """The population fences of R024 / R058 (derived, like the light tally; rebuilt in bulk)."""

    __tablename__ = "tender_flag_fence"

    code: str = Field(primary_key=True)
    q1: float
    q3: float
    lower: float
    upper: float
    population: int
    computed_at: datetime = Field(sa_type=UTCDateTime)


@dataclass(frozen=True)
class Found:
    """One flag the facts show: its code, a key unique within the tender, and its evidence."""

    code: str
    key: str
    lot_code: str | None
    evidence: dict[str, Any]


class Fences(NamedTuple):
    lower: float | None
    upper: float | None


class Rotation(NamedTuple):
    """Awarded lots of one group of bidders: (tender code, lot code, winner, award instant)."""

    group: str
    lots: list[tuple[str, str, str, datetime | None]]


# ----------------------------------------------------------------------------- the indicators

def _money(value: float) -> float:
    return round(float(value), 2)


def _shared(bids: Sequence[Any], attribute: str) -> dict[str, list[Any]]:
    """Values of ``attribute`` that bids of different bidders share."""
    values = [getattr(b, attribute) for b in bids]
    present = [v for v in values if v]
    if len(set(present)) == len(present):   # the usual case: nothing shared
        return {}
    groups: dict[str, list[Any]] = defaultdict(list)
    for bid, value in zip(bids, values):
        if value:
            groups[str(value)].append(bid)
    return {v: g for v, g in groups.items() if len({b.bidder_code for b in g}) > 1}


def _regular_spacing(prices: list[float], min_bids: int, tolerance: float) -> dict[str, Any] | None:
    """Sorted distinct prices at an equal difference or an equal ratio (条例 40(4)): a run of at
    least ``min_bids`` covering at least 60 % of the bids, consecutive steps equal within
    ``tolerance`` of the step."""
    values = sorted(set(prices))
    n = len(values)
    need = max(min_bids, -(-3 * n // 5))
    if n < need or n < 2:
        return None
    best: dict[str, Any] | None = None
    for kind in ("difference", "ratio"):
        if kind == "difference":
            gaps = [b - a for a, b in zip(values, values[1:])]
        else:
            gaps = [b / a if a else 0.0 for a, b in zip(values, values[1:])]
        start = 0
        for i in range(1, len(gaps) + 1):
            if i < len(gaps):
                step = gaps[start] - (1.0 if kind == "ratio" else 0.0)
                if step > 0 and abs(gaps[i] - gaps[start]) <= tolerance * step:
                    continue
            length = i - start + 1
            if length >= need and (best is None or length > len(best["prices"])):
                best = {"spacing": kind, "step": round(gaps[start], 6 if kind == "ratio" else 2),
                        "prices": [_money(p) for p in values[start:i + 1]]}
            start = i
    return best


def evaluate(tender: Any, lots: Sequence[Any], bids: Sequence[Any], *, at: datetime,
             settings: RedFlagSettings, fences: dict[str, Fences] | None = None,
             rotations: dict[str, Rotation] | None = None) -> list[Found]:
    """Every flag ``tender`` shows at ``at``. ``bids`` are the tender's bids (withdrawn ones are
    ignored); ``fences`` maps R024 / R058 to their population fences; ``rotations`` maps a lot
    code to the awarded lots of its bidder group."""
    found: list[Found] = []
    fences = fences or {}
    rotations = rotations or {}
    if tender.documents_issued_at is not None and tender.bid_deadline is not None:
        days = (local_date(tender.bid_deadline) - local_date(tender.documents_issued_at)).days
        if days < settings.r003_min_days:
            found.append(Found("R003", "R003", None, {
                "days": days, "threshold": settings.r003_min_days,
                "issued_at": tender.documents_issued_at.isoformat(), "deadline": tender.bid_deadline.isoformat()}))
    live = [b for b in bids if b.status != "withdrawn"]
    by_lot: dict[Any, list[Any]] = defaultdict(list)
    for bid in live:
        by_lot[bid.lot_id].append(bid)
    opened = tender.opened_at is not None and utc(at) >= tender.opened_at
    for lot in lots:
        lot_bids = by_lot.get(lot.id, [])
        code = lot.code
        for flag, attribute, label in (("C40_MACHINE", "machine_code", "machine_code"),
                                       ("C40_ACCOUNT", "bond_account", "bond_account"),
                                       ("C40_MANAGER", "project_manager", "project_manager")):
            for value, group in sorted(_shared(lot_bids, attribute).items()):
                found.append(Found(flag, f"{flag}:{code}:{value}", code, {
                    label: value, "bidders": sorted({b.bidder for b in group}),
                    "bidder_codes": sorted({b.bidder_code for b in group}), "article": "条例 40"}))
        if not opened:
            continue
        if len(lot_bids) < settings.r019_min_bids:
            found.append(Found("R019", f"R019:{code}", code, {"bids": len(lot_bids),
                                                               "threshold": settings.r019_min_bids}))
        prices: dict[float, list[Any]] = defaultdict(list)
        rounded = [_money(b.price) for b in lot_bids]
        if len(set(rounded)) != len(rounded):
            for bid, price in zip(lot_bids, rounded):
                prices[price].append(bid)
        for price, group in sorted(prices.items()):
            if len({b.bidder_code for b in group}) > 1:
                found.append(Found("R028", f"R028:{code}:{price}", code, {
                    "price": price, "bidders": sorted(b.bidder for b in group)}))
        spacing = _regular_spacing(rounded, settings.r023_min_bids, settings.r023_tolerance)
        if spacing is not None:
            found.append(Found("R023", f"R023:{code}", code, {**spacing, "article": "条例 40(4)"}))
        evaluated = [b for b in lot_bids if b.status in ("valid", "disqualified")]
        valid = sorted((b for b in evaluated if b.status == "valid"), key=lambda b: (b.price, b.bidder_code))
        if evaluated:
            if len(valid) == 1:
                found.append(Found("R018", f"R018:{code}", code, {"valid_bids": 1, "bids": len(lot_bids),
                                                                   "bidder": valid[0].bidder}))
            lowest = min(lot_bids, key=lambda b: (b.price, b.bidder_code))
            if tender.award_criteria == "price_only" and lowest.status == "disqualified":
                found.append(Found("R036", f"R036:{code}", code, {
                    "bidder": lowest.bidder, "price": _money(lowest.price),
                    "reason": getattr(lowest, "disqualify_reason", None)}))
        winner = next((b for b in lot_bids if b.id == lot.winner_bid_id), None) if lot.winner_bid_id else None
        if winner is None:
            continue
        others = [b for b in lot_bids if b.id != winner.id]
        if others and all(b.status == "disqualified" for b in others):
            found.append(Found("R035", f"R035:{code}", code, {"winner": winner.bidder, "disqualified": len(others)}))
        ceiling = lot.ceiling_price
        if ceiling and lot.award_value is not None and lot.award_value >= settings.r031_ratio * ceiling:
            found.append(Found("R031", f"R031:{code}", code, {
                "award_value": _money(lot.award_value), "ceiling_price": _money(ceiling),
                "ratio": round(lot.award_value / ceiling, 4)}))
        if winner.late_report:
            found.append(Found("R030", f"R030:{code}", code, {
                "winner": winner.bidder, "submitted_at": _iso(winner.submitted_at),
                "recorded_at": _iso(winner.recorded_at),
                "deadline": tender.bid_deadline.isoformat() if tender.bid_deadline else None}))
        gap = second_bid_gap(winner, valid)
        if gap is not None:
            r024, r058 = fences.get("R024", Fences(None, None)), fences.get("R058", Fences(None, None))
            if r024.lower is not None and gap <= r024.lower:
                found.append(Found("R024", f"R024:{code}", code, {"difference": round(gap, 6),
                                                                   "lower_fence": round(r024.lower, 6)}))
            if r058.upper is not None and gap >= r058.upper:
                found.append(Found("R058", f"R058:{code}", code, {"difference": round(gap, 6),
                                                                   "upper_fence": round(r058.upper, 6)}))
        rotation = rotations.get(code)
        if rotation is not None:
            found.append(Found("R057", f"R057:{code}", code, {
                "group": rotation.group.split("|"),
                "awards": [{"tender": t, "lot": lc, "winner": w, "at": a.isoformat() if a else None}
                           for t, lc, w, a in rotation.lots]}))
        if lot.contract_signed_at is not None and lot.award_notice_at is not None:
            days = (local_date(lot.contract_signed_at) - local_date(lot.award_notice_at)).days
            if days > settings.r060_days:
                found.append(Found("R060", f"R060:{code}", code, {"days": days, "threshold": settings.r060_days,
                                                                   "article": "法 46"}))
            if lot.contract_value is not None and lot.award_value is not None:
                diff = abs(lot.contract_value - lot.award_value)
                if diff > max(0.005, settings.r059_tolerance * lot.award_value):
                    found.append(Found("R059", f"R059:{code}", code, {
                        "award_value": _money(lot.award_value), "contract_value": _money(lot.contract_value),
                        "difference": _money(lot.contract_value - lot.award_value)}))
    return found


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def second_bid_gap(winner: Any, valid: Sequence[Any]) -> float | None:
    """(second-lowest valid − winning) / winning, when the winner is the lowest valid bid (as
    Cardinal's R024 and R058 define it); None when excluded."""
    if len(valid) < 2 or winner.status != "valid" or valid[0].id != winner.id or not winner.price:
        return None
    return (valid[1].price - winner.price) / winner.price


def rotation_of(group: str, awarded: Iterable[tuple[str, str, str, datetime | None]],
                settings: RedFlagSettings) -> Rotation | None:
    """A rotation when a group of ≥ r057_min_group bidders won ≥ r057_min_tenders lots between
    them with as many different winners (each member taking its turn)."""
    members = group.split("|") if group else []
    lots = sorted(awarded, key=lambda x: (utc(x[3]).isoformat() if x[3] else "", x[0], x[1]))
    if len(members) < settings.r057_min_group or len(lots) < settings.r057_min_tenders:
        return None
    winners = {w for _, _, w, _ in lots}
    if len(winners) >= min(len(members), settings.r057_min_tenders) and winners <= set(members):
        return Rotation(group, lots)
    return None


def fences_from(gaps: list[float], at: datetime, settings: RedFlagSettings) -> dict[str, RedFlagFence]:
    """Q1 − 1.5 IQR and Q3 + 1.5 IQR of the second-bid gaps (settings override them)."""
    q1 = q3 = 0.0
    lower = upper = None
    if len(gaps) >= max(settings.fence_min_population, 4):
        q1, _, q3 = statistics.quantiles(gaps, n=4, method="inclusive")
        lower, upper = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    if settings.r024_threshold is not None:
        lower = settings.r024_threshold
    if settings.r058_threshold is not None:
        upper = settings.r058_threshold
    out = {}
    for code in ("R024", "R058"):
        if (lower if code == "R024" else upper) is not None:
            out[code] = RedFlagFence(code=code, q1=q1, q3=q3, lower=lower if lower is not None else float("-inf"),
                                     upper=upper if upper is not None else float("inf"),
                                     population=len(gaps), computed_at=at)
    return out


def load_fences(session: Session, settings: RedFlagSettings) -> dict[str, Fences]:
    rows = {f.code: f for f in session.scalars(select(RedFlagFence))}
    out: dict[str, Fences] = {}
    lower = settings.r024_threshold if settings.r024_threshold is not None else (
        rows["R024"].lower if "R024" in rows else None)
    upper = settings.r058_threshold if settings.r058_threshold is not None else (
        rows["R058"].upper if "R058" in rows else None)
    out["R024"] = Fences(lower, None)
    out["R058"] = Fences(None, upper)
    return out


# ----------------------------------------------------------------------------- incremental

def _rotations(session: Session, state: Any, settings: RedFlagSettings) -> dict[str, Rotation]:
    from esupervision.models.tenders.records import Tender, TenderLot
    out: dict[str, Rotation] = {}
    for lot in state.lots:
        if lot.winner_code is None or not lot.bidder_set or lot.bidder_set.count("|") + 1 < settings.r057_min_group:
            continue
        awarded = [(code, lc, w, a) for code, lc, w, a in session.execute(
            select(Tender.code, TenderLot.code, TenderLot.winner_code, TenderLot.award_notice_at)
            .join(Tender, Tender.id == TenderLot.tender_id)
            .where(TenderLot.bidder_set == lot.bidder_set, TenderLot.winner_code.is_not(None)))]  # type: ignore[union-attr]
        rotation = rotation_of(lot.bidder_set, awarded, settings)
        if rotation is not None:
            out[lot.code] = rotation
    return out


def refresh(work: Any, at: datetime) -> list[TenderRedFlag]:
    """Recompute the flags of the event's tender and sync the stored ones (new, raised again,
    evidence changed, cleared); returns the flags newly raised (to record and announce)."""
    tx = work.tx
    state = work.state
    tender = state.tender
    settings = get_redflag_settings()
    key = ("redflag_fences",)
    if key not in tx.cache and any(lot.winner_bid_id for lot in state.lots):
        tx.cache[key] = load_fences(tx.session, settings)
    found = evaluate(tender, state.lots, state.bids, at=at, settings=settings, fences=tx.cache.get(key),
                     rotations=_rotations(tx.session, state, settings))
    stored = {f.key: f for f in tx.session.scalars(select(TenderRedFlag).where(TenderRedFlag.tender_id == tender.id))}
    raised, changed = sync_flags(tender, stored, found, at)
    for flag in changed:
        if flag.key not in stored:
            tx.session.add(flag)
    work.touch(*changed)
    return raised


def sync_flags(tender: Any, stored: dict[str, TenderRedFlag], found: list[Found],
               at: datetime) -> tuple[list[TenderRedFlag], list[TenderRedFlag]]:
    """(raised, changed): the flags to announce and every row to write."""
    raised: list[TenderRedFlag] = []
    changed: list[TenderRedFlag] = []
    seen = set()
    for f in found:
        seen.add(f.key)
        row = stored.get(f.key)
        if row is None:
            row = TenderRedFlag(tender_id=tender.id, center_id=tender.center_id, lot_code=f.lot_code, code=f.code,
                                key=f.key, title=INDICATORS[f.code], evidence=f.evidence, raised_at=at)
            raised.append(row)
            changed.append(row)
        elif row.cleared_at is not None:
            row.cleared_at, row.raised_at, row.evidence = None, at, f.evidence
            raised.append(row)
            changed.append(row)
        elif row.evidence != f.evidence:
            row.evidence = f.evidence
            changed.append(row)
    for key, row in stored.items():
        if key not in seen and row.cleared_at is None:
            row.cleared_at = at
            changed.append(row)
    return raised, changed


def record_raised(work: Any, tender: Any, raised: list[TenderRedFlag], at: datetime) -> None:
    """A ledger event and a ``tender.red_flag`` announcement for each newly raised flag that may
    be told (a flag about the sealed bids waits for the opening: ``record_unsealed``)."""
    tx = work.tx
    for flag in raised:
        if flag_sealed(flag.code, tender, at):
            continue
        data = {"code": tender.code, "flag": flag.code, "lot": flag.lot_code, "title": flag.title,
                "evidence": flag.evidence, "found_at": flag.raised_at.isoformat()}
        event = tx.ledger.append(center_id=tender.center_id, kind="tender.red_flag", subject_type="tender",
                                 subject_id=tender.id, occurred_at=at, recorded_at=tx.now, actor="system:redflags",
                                 data=data)
        authority = getattr(tender, "authority_department_id", None)
        tx.announce("tender.red_flag", {**data, "center_id": str(tender.center_id),
                                        "authority_department_id": str(authority) if authority else None}, event)


def record_unsealed(work: Any, tender: Any, at: datetime) -> None:
    """At the opening: the flags about the bids found while they were sealed, still standing, go
    on the ledger's readable record and out to subscribers, each with the time it was found."""
    rows = work.tx.session.scalars(select(TenderRedFlag).where(
        TenderRedFlag.tender_id == tender.id, TenderRedFlag.cleared_at.is_(None),  # type: ignore[union-attr]
        TenderRedFlag.code.in_(ABOUT_BIDS), TenderRedFlag.raised_at < at)  # type: ignore[attr-defined]
        .order_by(TenderRedFlag.raised_at, TenderRedFlag.key)).all()
    record_raised(work, tender, list(rows), at)


# ----------------------------------------------------------------------------- bulk

class _Ids(NamedTuple):
    id: uuid.UUID
    center_id: uuid.UUID
    code: str
    opened_at: datetime | None


class LotFacts(NamedTuple):
    id: str
    tender_id: str
    code: str
    ceiling_price: float | None
    winner_bid_id: str | None
    winner_code: str | None
    award_value: float | None
    award_notice_at: datetime | None
    contract_value: float | None
    contract_signed_at: datetime | None
    bidder_set: str | None


class BidFacts(NamedTuple):
    id: str
    tender_id: str
    lot_id: str
    bidder: str
    bidder_code: str
    price: float
    status: str
    disqualify_reason: str | None
    machine_code: str | None
    bond_account: str | None
    project_manager: str | None
    late_report: bool
    submitted_at: str
    recorded_at: str


class TenderFacts(NamedTuple):
    id: str
    center_id: str
    code: str
    award_criteria: str
    documents_issued_at: datetime | None
    bid_deadline: datetime | None
    opened_at: datetime | None


def compute_all(session: Session, *, at: datetime, settings: RedFlagSettings | None = None,
                chunk: int = 200_000) -> tuple[dict[str, tuple[TenderFacts, list[Found]]], dict[str, RedFlagFence]]:
    """Every tender's flags at ``at`` from three reads (tenders, lots, bids), and the fences
    computed from the same data."""
    from esupervision.models.tenders.records import Tender, TenderBid, TenderLot
    settings = settings or get_redflag_settings()
    from sqlalchemy import String, cast
    t, lt, b = Tender.__table__, TenderLot.__table__, TenderBid.__table__  # type: ignore[attr-defined]

    def text_id(column: Any) -> Any:
        # Ids as text: a million UUID objects cost more than the whole evaluation.
        return cast(column, String)
    tenders = {row[0]: TenderFacts(*row) for row in session.execute(select(
        text_id(t.c.id), text_id(t.c.center_id), t.c.code, t.c.award_criteria, t.c.documents_issued_at,
        t.c.bid_deadline, t.c.opened_at))}
    lots_by_tender: dict[str, list[LotFacts]] = defaultdict(list)
    groups: dict[str, list[tuple[str, str, str, datetime | None]]] = defaultdict(list)
    for row in session.execute(select(text_id(lt.c.id), text_id(lt.c.tender_id), lt.c.code, lt.c.ceiling_price,
                                      text_id(lt.c.winner_bid_id), lt.c.winner_code, lt.c.award_value,
                                      lt.c.award_notice_at, lt.c.contract_value, lt.c.contract_signed_at,
                                      lt.c.bidder_set)):
        lot = LotFacts(*row)
        lots_by_tender[lot.tender_id].append(lot)
        if lot.winner_code and lot.bidder_set:
            groups[lot.bidder_set].append((tenders[lot.tender_id].code, lot.code, lot.winner_code, lot.award_notice_at))
    bids_by_tender: dict[str, list[BidFacts]] = defaultdict(list)
    query = select(text_id(b.c.id), text_id(b.c.tender_id), text_id(b.c.lot_id), b.c.bidder, b.c.bidder_code,
                   b.c.price, b.c.status, b.c.disqualify_reason, b.c.machine_code, b.c.bond_account,
                   b.c.project_manager, b.c.late_report, cast(b.c.submitted_at, String), cast(b.c.recorded_at, String))
    make = BidFacts._make
    for partition in session.execute(query.execution_options(yield_per=chunk)).partitions():
        for row in partition:
            bids_by_tender[row[1]].append(make(row))
    rotation_groups = {g: rotation_of(g, awarded, settings) for g, awarded in groups.items()
                       if g.count("|") + 1 >= settings.r057_min_group and len(awarded) >= settings.r057_min_tenders}
    # Fences from the population of second-bid gaps.
    gaps = []
    for tender_id, lots in lots_by_tender.items():
        bids = bids_by_tender.get(tender_id, ())
        for lot in lots:
            if lot.winner_bid_id is None:
                continue
            lot_bids = [x for x in bids if x.lot_id == lot.id]
            winner = next((x for x in lot_bids if x.id == lot.winner_bid_id), None)
            valid = sorted((x for x in lot_bids if x.status == "valid"), key=lambda x: (x.price, x.bidder_code))
            gap = second_bid_gap(winner, valid) if winner else None
            if gap is not None:
                gaps.append(gap)
    fence_rows = fences_from(gaps, at, settings)
    fences = {"R024": Fences(fence_rows["R024"].lower if "R024" in fence_rows else None, None),
              "R058": Fences(None, fence_rows["R058"].upper if "R058" in fence_rows else None)}
    out: dict[str, tuple[TenderFacts, list[Found]]] = {}
    for tender_id, tender in tenders.items():
        lots = lots_by_tender.get(tender_id, [])
        rotations = {lot.code: rotation_groups[lot.bidder_set] for lot in lots
                     if lot.winner_code and lot.bidder_set and rotation_groups.get(lot.bidder_set)}
        found = evaluate(tender, lots, bids_by_tender.get(tender_id, ()), at=at, settings=settings,
                         fences=fences, rotations=rotations)  # type: ignore[arg-type]
        out[tender_id] = (tender, found)
    return out, fence_rows


def refresh_all(tx: Any, *, settings: RedFlagSettings | None = None) -> dict[str, int]:
    """Recompute every tender's flags and the fences; write what changed (a ledger event per
    raised flag, announced); returns counts by code of the flags standing now."""
    from sqlalchemy import delete
    settings = settings or get_redflag_settings()
    results, fence_rows = compute_all(tx.session, at=tx.now, settings=settings)
    tx.session.execute(delete(RedFlagFence))
    for fence in fence_rows.values():
        tx.session.add(fence)
    stored: dict[uuid.UUID, dict[str, TenderRedFlag]] = defaultdict(dict)
    for flag in tx.session.scalars(select(TenderRedFlag)):
        stored[flag.tender_id][flag.key] = flag
    counts: dict[str, int] = defaultdict(int)

    class _Bulk:
        def __init__(self) -> None:
            self.tx = tx

    bulk = _Bulk()
    from esupervision.models.cases.casework import row_change
    for text_tender_id, (facts, found) in results.items():
        for f in found:
            counts[f.code] += 1
        tender_id = uuid.UUID(text_tender_id)
        tender = _Ids(tender_id, uuid.UUID(facts.center_id), facts.code, facts.opened_at)
        raised, changed = sync_flags(tender, stored.get(tender_id, {}), found, tx.now)
        if not changed:
            continue
        for flag in changed:
            if flag.key not in stored.get(tender_id, {}):
                tx.session.add(flag)
        if raised or changed:
            tx.ledger.append(center_id=tender.center_id, kind="tender.red_flags_refreshed", subject_type="tender",
                             subject_id=tender.id, occurred_at=tx.now, recorded_at=tx.now, actor="system:redflags",
                             data={"code": tender.code,
                                   "raised": [f.code for f in raised if not flag_sealed(f.code, tender, tx.now)]},
                             changes=[row_change(f) for f in changed])
        record_raised(bulk, tender, raised, tx.now)
    tx.cache.pop(("redflag_fences",), None)
    return dict(counts)
