"""Tenders in the Open Contracting Data Standard (OCDS 1.1): one release per stage event, and a
record per tender whose compiled release merges them by OCDS's merge rules; validated offline
against the schema shipped with the package (``ocds_schema/``: the release and package schemas,
and the parts of the bids and lots extensions the export uses, applied as JSON Merge Patches).

- ``export_tenders``: a release package. Each stage event of a tender (publish, amend, open,
  award …) is one release: the tender as it stood at that event, replayed from the ledger. Bid
  submissions and withdrawals make no release of their own (their number is secret before the
  opening, 法 22); the bids appear in the opening's release and the ones after it.
- ``export_records``: a record package: per tender its releases and its ``compiledRelease``
  (``compile_release``, the OCDS merge: objects merged field by field, arrays of objects merged
  by ``id``, other arrays replaced whole, ``omitWhenMerged`` fields left out, later releases
  winning).

Sealed bids never leave: a release dated before the opening carries no bids, no tenderers and no
bid statistics. Organizations carry their 统一社会信用代码 as ``identifier`` under the org-id.guide
scheme ``CN-USCI`` (Unified Social Credit Identifier). A release that breaks the schema is refused
with ``OCDS_INVALID`` naming the tender, the field and the problem; nothing is written.
"""
from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from esupervision.models.base import utc
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import format_instant
from esupervision.models.tenders.records import Tender, TenderBid, TenderLot
from esupervision.models.tenders.rules import TenderAction, TenderStage
from esupervision.models.tenders.tender import BID_ACTIONS, TenderState, is_sealed

OCDS_VERSION = "1.1"
RELEASE_SCHEMA_ID = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
# The extension versions whose fields the export uses (see ocds_schema/README.md): the bids
# extension after v1.1.5 (Bid.relatedLots, Award.relatedBids) and the lots extension.
BIDS_EXTENSION = ("https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/"
                  "018e0a92aa0e0918ab0e4be138195f120e858c99/extension.json")
LOTS_EXTENSION = ("https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/"
                  "0666df1efb9c96b62de674cd4c8fee1c5402c443/extension.json")
EXTENSIONS = (BIDS_EXTENSION, LOTS_EXTENSION)
# org-id.guide's code for China's 统一社会信用代码 (Unified Social Credit Identifier).
ORG_SCHEME = "CN-USCI"
DEFAULT_PREFIX = "ocds-esv001"

_STATUS = {TenderStage.PREQUALIFICATION: "active", TenderStage.BIDDING: "active", TenderStage.FAILED: "unsuccessful"}
_CRITERIA = {"price_only": "priceOnly", "comprehensive": "ratedCriteria"}
_METHOD = {"open": "open", "invited": "limited"}
# The releaseTag of each stage event's release.
_TAGS: dict[TenderAction, list[str]] = {
    TenderAction.PUBLISH: ["tender"], TenderAction.AMEND: ["tenderAmendment"],
    TenderAction.FAIL: ["tenderCancellation"], TenderAction.AWARD: ["award"],
    TenderAction.SIGN_CONTRACT: ["contract"], TenderAction.RETURN_BONDS: ["contractUpdate"],
    TenderAction.FILE_REPORT: ["awardUpdate"],
}
RELEASING = frozenset(TenderAction) - BID_ACTIONS


def schema_dir() -> Path:
    """The OCDS schema files, installed with the package."""
    return Path(__file__).with_name("ocds_schema")


def merge_patch(target: Any, patch: Any) -> Any:
    """``patch`` applied to ``target`` as a JSON Merge Patch (RFC 7386): objects merged key by
    key, a null removing its key, anything else replacing."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


@lru_cache
def release_schema() -> dict[str, Any]:
    """The release schema with the bids and lots extensions applied."""
    folder = schema_dir()
    try:
        schema = json.loads((folder / "release-schema.json").read_text(encoding="utf-8"))
        for name in ("bids", "lots"):
            schema = merge_patch(schema, json.loads((folder / "extensions" / name / "release-schema.json")
                                                    .read_text(encoding="utf-8")))
    except OSError as exc:
        raise DomainError(ErrorCode.OCDS_INVALID, f"找不到 OCDS 模式文件 {folder}: {exc}") from exc
    return schema


@lru_cache
def _validators() -> tuple[Any, Any]:
    """(package validator, release validator), resolving the package's $ref locally."""
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    release = release_schema()
    try:
        package = json.loads((schema_dir() / "release-package-schema.json").read_text(encoding="utf-8"))
    except OSError as exc:
        raise DomainError(ErrorCode.OCDS_INVALID, f"找不到 OCDS 模式文件 {schema_dir()}: {exc}") from exc
    registry = Registry().with_resource(release.get("id", RELEASE_SCHEMA_ID),
                                        Resource.from_contents(release, default_specification=DRAFT4))
    return Draft4Validator(package, registry=registry), Draft4Validator(release, registry=registry)


def _when(value: datetime | None) -> str | None:
    return format_instant(value).replace(".000000Z", "Z") if value else None


def _value(amount: float | None, currency: str) -> dict[str, Any] | None:
    return None if amount is None else {"amount": round(float(amount), 2), "currency": currency}


def organization(name: str, code: str | None) -> tuple[str, dict[str, Any] | None]:
    """(party id, identifier) of an organization: with its 统一社会信用代码, the id is the
    org-id.guide form ``CN-USCI-<code>`` and the identifier names the scheme; without one, an id
    made from the name and no identifier."""
    if code:
        return f"{ORG_SCHEME}-{code}", {"scheme": ORG_SCHEME, "id": str(code), "legalName": name}
    return f"ORG-{name}", None


def release(state: TenderState, *, at: datetime, prefix: str = DEFAULT_PREFIX, action: TenderAction | None = None,
            number: int | None = None, date: datetime | None = None) -> dict[str, Any]:
    """One OCDS release of a tender as it stands at ``at`` (the stage event ``action``, the
    ``number``-th release of the tender, first recorded at ``date``); sealed bids are left out."""
    tender = state.tender
    stage = TenderStage(tender.stage)
    sealed = is_sealed(tender, at)
    currency = tender.currency
    parties: dict[str, dict[str, Any]] = {}

    def party(name: str, code: str | None, role: str) -> dict[str, str]:
        pid, identifier = organization(name, code)
        entry = parties.setdefault(pid, {"id": pid, "name": name, "roles": []})
        if identifier is not None:
            entry["identifier"] = identifier
        if role not in entry["roles"]:
            entry["roles"].append(role)
        return {"id": pid, "name": name}

    buyer = party(tender.tenderer, tender.tenderer_code, "buyer")
    procuring = (party(tender.agency, tender.agency_code, "procuringEntity") if tender.agency
                 else party(tender.tenderer, tender.tenderer_code, "procuringEntity"))
    if tender.authority:
        party(tender.authority, None, "reviewBody")
    lots = {lot.id: lot for lot in state.lots}
    bids = [b for b in state.bids if b.status != "withdrawn"]
    body: dict[str, Any] = {
        "id": tender.code, "title": tender.title,
        "status": _STATUS.get(stage, "complete"),
        "procuringEntity": procuring,
        "value": _value(tender.estimate, currency),
        "procurementMethod": _METHOD.get(tender.method, tender.method),
        "procurementMethodDetails": "公开招标" if tender.method == "open" else "邀请招标",
        "mainProcurementCategory": "works",
        "awardCriteria": _CRITERIA.get(tender.award_criteria, tender.award_criteria),
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": {"startDate": _when(tender.documents_issued_at or tender.sale_start),
                         "endDate": _when(tender.bid_deadline)},
        "datePublished": _when(tender.published_at),
        "lots": [{"id": lot.code, "title": lot.name, "value": _value(lot.estimate, currency),
                  "status": _lot_status(stage, lot)} for lot in state.lots],
    }
    if tender.ceiling_price is not None:
        body["maximumValue"] = _value(tender.ceiling_price, currency)
    stamp = date or tender.last_event_at
    out: dict[str, Any] = {
        "ocid": f"{prefix}-{tender.code}",
        "id": (f"{tender.code}-{number:02d}-{action.value}" if number is not None and action is not None
               else f"{tender.code}-{format_instant(tender.last_event_at)[:19].replace(':', '')}"),
        "date": _when(stamp), "tag": _TAGS.get(action, ["tenderUpdate"]) if action else _tags(stage),
        "initiationType": "tender", "buyer": buyer, "tender": body, "language": "zh",
    }
    if not sealed:
        tenderers = [party(b.bidder, b.bidder_code, "tenderer") for b in bids]
        unique = {t["id"]: t for t in tenderers}
        body["tenderers"] = list(unique.values())
        body["numberOfTenderers"] = len(unique)
        out["bids"] = {
            "statistics": [{"id": "bids", "measure": "bids", "value": len(bids)}],
            "details": [{"id": str(b.id), "date": _when(b.submitted_at),
                         "status": "valid" if b.status == "valid" else ("disqualified" if b.status == "disqualified"
                                                                         else "pending"),
                         "tenderers": [{"id": organization(b.bidder, b.bidder_code)[0], "name": b.bidder}],
                         "value": _value(b.price, currency), "relatedLots": [lots[b.lot_id].code]} for b in bids],
        }
    awards, contracts = [], []
    for lot in state.lots:
        if lot.winner_bid_id is None:
            continue
        winner = next(b for b in state.bids if b.id == lot.winner_bid_id)
        supplier = party(winner.bidder, winner.bidder_code, "supplier")
        award_id = f"{tender.code}-{lot.code}"
        awards.append({"id": award_id, "title": lot.name, "status": "active", "date": _when(lot.award_notice_at),
                       "value": _value(lot.award_value, currency), "suppliers": [supplier],
                       "relatedBids": [str(winner.id)], "relatedLots": [lot.code]})
        if lot.contract_signed_at is not None:
            contracts.append({"id": f"{award_id}-C", "awardID": award_id, "title": lot.name, "status": "active",
                              "dateSigned": _when(lot.contract_signed_at),
                              "value": _value(lot.contract_value, currency), "relatedBids": [str(winner.id)]})
    if awards:
        out["awards"] = awards
    if contracts:
        out["contracts"] = contracts
    out["parties"] = list(parties.values())
    return out


def _lot_status(stage: TenderStage, lot: Any) -> str:
    if stage is TenderStage.FAILED:
        return "unsuccessful"
    if lot.winner_bid_id is not None or stage not in (TenderStage.PREQUALIFICATION, TenderStage.BIDDING):
        return "complete"
    return "active"


def _tags(stage: TenderStage) -> list[str]:
    if stage is TenderStage.FAILED:
        return ["tenderCancellation"]
    if stage in (TenderStage.CONTRACTED, TenderStage.CLOSED):
        return ["tender", "award", "contract"]
    if stage is TenderStage.AWARDED:
        return ["tender", "award"]
    return ["tender"]


def check_release(data: dict[str, Any], code: str) -> None:
    """Refuse a release that breaks the schema, naming the tender, the field and the problem."""
    _, validator = _validators()
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(release)"
        raise DomainError(ErrorCode.OCDS_INVALID,
                          f"招标项目 {code} 不符合 OCDS 模式：{where}: {first.message}（共 {len(errors)} 处）",
                          tender=code, path=where)


# ----------------------------------------------------------------------------- releases from the ledger

_FOLDED = {"tender": Tender, "tender_lot": TenderLot, "tender_bid": TenderBid}


def tender_releases(session: Any, tender: Tender, *, prefix: str = DEFAULT_PREFIX) -> list[dict[str, Any]]:
    """One release per stage event of ``tender``: the rows as that event left them, replayed from
    the ledger (the events' recorded rows folded in order, as ``esv ledger replay`` does). A
    release's ``date`` is when its event was first recorded (never before the release before it)."""
    from sqlalchemy import select

    from esupervision.models.ledger.ledger import LedgerEvent
    rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in _FOLDED}
    out: list[dict[str, Any]] = []
    last: datetime | None = None
    for kind, occurred_at, recorded_at, changes, seq in session.execute(
            select(LedgerEvent.kind, LedgerEvent.occurred_at, LedgerEvent.recorded_at, LedgerEvent.changes,
                   LedgerEvent.seq)
            .where(LedgerEvent.subject_id == tender.id, LedgerEvent.subject_type == "tender")
            .order_by(LedgerEvent.id)):
        if seq < 1:   # only a chain's positions count (a row slipped in beside it changes nothing)
            continue
        for change in changes:
            table = rows.get(change["table"])
            if table is None:
                continue
            if "values" in change:
                table[change["id"]] = dict(change["values"])
            else:
                table[change["id"]].update(change["set"])
        action = kind.removeprefix("tender.")
        if action not in RELEASING or not rows["tender"]:
            continue
        state = _state(rows)
        last = max(utc(recorded_at), last) if last else utc(recorded_at)
        out.append(release(state, at=occurred_at, prefix=prefix, action=TenderAction(action), number=len(out) + 1,
                           date=last))
    return out


def _state(rows: dict[str, dict[str, dict[str, Any]]]) -> TenderState:
    tender = Tender.model_validate(next(iter(rows["tender"].values())))
    lots = sorted((TenderLot.model_validate(v) for v in rows["tender_lot"].values()), key=lambda lot: lot.code)
    bids = sorted((TenderBid.model_validate(v) for v in rows["tender_bid"].values()),
                  key=lambda b: (b.submitted_at, b.bidder_code))
    return TenderState(tender, lots, bids, [], [])


# ----------------------------------------------------------------------------- merging (records)

def merge_rules(schema: dict[str, Any]) -> dict[tuple[str, ...], str]:
    """The schema's merge rules by field path: ``omitWhenMerged`` or ``wholeListMerge`` (arrays of
    non-objects, of objects without ``id``, or marked so), as OCDS's merging documentation says."""
    definitions = schema.get("definitions", {})

    def resolve(value: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in value:   # a reference stands for the definition (its siblings are not read)
            value = definitions[value["$ref"].rsplit("/", 1)[-1]]
        return value

    def types(value: dict[str, Any]) -> list[str]:
        kind = value.get("type", [])
        return [kind] if isinstance(kind, str) else list(kind)

    rules: dict[tuple[str, ...], str] = {}

    def walk(properties: dict[str, Any], path: tuple[str, ...]) -> None:
        for key, value in properties.items():
            value = resolve(value)
            here = (*path, key)
            kinds = types(value)
            if value.get("omitWhenMerged") or value.get("mergeStrategy") == "ocdsOmit":
                rules[here] = "omitWhenMerged"
            elif "array" in kinds and (value.get("wholeListMerge") or value.get("mergeStrategy") == "ocdsVersion"):
                rules[here] = "wholeListMerge"
            elif "object" in kinds and "properties" in value:
                walk(value["properties"], here)
            elif "array" in kinds and "items" in value:
                items = resolve(value["items"])
                if any(t != "object" for t in types(items)):
                    rules[here] = "wholeListMerge"
                elif "object" in types(items) and "properties" in items:
                    if "id" not in items["properties"]:
                        rules[here] = "wholeListMerge"
                    else:
                        walk(items["properties"], here)
    walk(schema["properties"], ())
    return rules


class _Id(str):
    """A position in an array of objects, named by the object's ``id`` (or unique without one)."""

    identifier: Any
    original: Any

    def __new__(cls, identifier: Any, original: Any) -> "_Id":
        made = super().__new__(cls, str(identifier))
        made.identifier, made.original = identifier, original
        return made


def _flatten(value: Any, rules: dict[tuple[str, ...], str], out: dict[tuple[Any, ...], Any],
             path: tuple[Any, ...] = (), rule_path: tuple[str, ...] = ()) -> dict[tuple[Any, ...], Any]:
    if isinstance(value, list):
        items: Iterable[tuple[Any, Any]] = [
            (_Id(item["id"] if "id" in item else uuid.uuid4().hex, item.get("id")), item) for item in value]
    else:
        items = value.items()
    for key, item in items:
        here = rule_path if isinstance(value, list) else (*rule_path, key)
        rule = rules.get(here)
        if rule == "omitWhenMerged":
            continue
        if rule == "wholeListMerge" or not isinstance(item, (dict, list)) or (
                isinstance(item, list) and any(not isinstance(x, dict) for x in item)):
            out[(*path, key)] = item
        elif item:
            _flatten(item, rules, out, (*path, key), here)
    return out


def _unflatten(flat: dict[tuple[Any, ...], Any]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    objects: dict[tuple[Any, ...], dict[str, Any]] = {}
    for key, leaf in flat.items():
        node: Any = root
        for end, part in enumerate(key, 1):
            if isinstance(part, _Id):
                where = (*key[:end - 1], part.identifier)
                if where not in objects:
                    objects[where] = {"id": part.original} if part.original is not None else {}
                    node.append(objects[where])
                node = objects[where]
            elif part in node:
                node = node[part]
            elif end < len(key):
                node[part] = [] if isinstance(key[end], _Id) else {}
                node = node[part]
            elif leaf is not None:   # a null removes the field
                node[part] = leaf
    return root


def compile_release(releases: list[dict[str, Any]], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The compiled release of one contracting process's releases (OCDS merge): in date order,
    each release's fields over the ones before, arrays of objects merged by ``id``, other arrays
    replaced whole, null removing a field, ``omitWhenMerged`` fields (such as ``tag``) left out;
    ``tag`` is ``["compiled"]``, ``id`` the ocid and the last date."""
    rules = merge_rules(schema or release_schema())
    flat: dict[tuple[Any, ...], Any] = {("tag",): ["compiled"]}
    for item in sorted(releases, key=lambda r: r["date"]):
        item = {k: v for k, v in item.items() if k != "tag"}
        flat[("id",)] = f"{item.get('ocid')}-{item.get('date')}"
        flat[("date",)] = item.get("date")
        flat[("ocid",)] = item.get("ocid")
        flat.update(_flatten(item, rules, {}))
    return _unflatten(flat)


# ----------------------------------------------------------------------------- packages

def _package_head(at: datetime, prefix: str, publisher: str, kind: str) -> dict[str, Any]:
    return {"uri": f"https://esupervision.example/ocds/{prefix}/{kind}-{format_instant(at)[:19].replace(':', '')}.json",
            "version": OCDS_VERSION, "extensions": list(EXTENSIONS), "publishedDate": _when(at),
            "publisher": {"name": publisher}}


def release_package(states: list[TenderState], *, at: datetime, prefix: str = DEFAULT_PREFIX,
                    publisher: str = "电子监察系统", releases: list[list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """A validated release package: ``releases`` (per tender, in the order of ``states``), or one
    release per tender as it stands at ``at``; ``OCDS_INVALID`` for the first tender that would
    break the schema (nothing is published then)."""
    at = utc(at)
    out = []
    for i, state in enumerate(states):
        for data in (releases[i] if releases is not None else [release(state, at=at, prefix=prefix)]):
            check_release(data, state.tender.code)
            out.append(data)
    package = {**_package_head(at, prefix, publisher, "releases"), "releases": out}
    package_validator, _ = _validators()
    errors = list(package_validator.iter_errors(package))
    if errors:
        raise DomainError(ErrorCode.OCDS_INVALID, f"发布包不符合 OCDS 模式：{errors[0].message}")
    return package


def _load(tx: Any, codes: list[str] | None) -> list[TenderState]:
    from sqlalchemy import select

    from esupervision.models.tenders.tender import load_tender
    wanted = codes if codes is not None else list(tx.session.scalars(select(Tender.code).order_by(Tender.code)))
    states = []
    for code in wanted:
        state = load_tender(tx, code, lock=False)
        if state is None:
            raise DomainError(ErrorCode.TENDER_NOT_FOUND, f"招标项目 {code} 不存在", tender=code)
        states.append(state)
    return states


def export_tenders(tx: Any, codes: list[str] | None = None, *, prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """The release package of the tenders named (all when None): one release per stage event, as
    the ledger recorded them up to ``tx.now``."""
    states = _load(tx, codes)
    releases = [tender_releases(tx.session, s.tender, prefix=prefix) for s in states]
    return release_package(states, at=tx.now, prefix=prefix, releases=releases)


def export_records(tx: Any, codes: list[str] | None = None, *, prefix: str = DEFAULT_PREFIX,
                   publisher: str = "电子监察系统") -> dict[str, Any]:
    """The record package of the tenders named (all when None): per tender its releases and its
    compiled release, each validated."""
    package = export_tenders(tx, codes, prefix=prefix)
    by_ocid: dict[str, list[dict[str, Any]]] = {}
    for item in package["releases"]:
        by_ocid.setdefault(item["ocid"], []).append(item)
    records = []
    for ocid, items in by_ocid.items():
        compiled = compile_release(items)
        check_release(compiled, ocid.removeprefix(f"{prefix}-"))
        records.append({"ocid": ocid, "releases": items, "compiledRelease": compiled})
    return {**_package_head(utc(tx.now), prefix, publisher, "records"), "records": records}


def released_bid_ids(package: dict[str, Any]) -> list[str]:
    """The ids of the bids a package carries (each leaving is a recorded read)."""
    releases = package.get("releases") or [r for rec in package.get("records", []) for r in rec["releases"]]
    seen: dict[str, None] = {}
    for item in releases:
        for detail in item.get("bids", {}).get("details", []):
            seen[detail["id"]] = None
    return list(seen)
