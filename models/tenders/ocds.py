"""Tenders as an Open Contracting Data Standard (OCDS 1.1) release package, with the bids
extension's ``bids.details``, validated offline with ``jsonschema`` against the schema files in
``../shared/data/ocds/`` (``ESV_OCDS_SCHEMA_DIR`` overrides the folder).

Sealed bids never leave: a tender not yet opened is published without ``bids`` and without
tenderers. A release that breaks the schema is refused with ``OCDS_INVALID`` naming the tender,
the field and the problem; nothing is written.
"""
from __future__ import annotations

import copy
import json
import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from esupervision.models.base import utc
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import format_instant
from esupervision.models.tenders.tender import TenderState, is_sealed
from esupervision.models.tenders.rules import TenderStage

OCDS_VERSION = "1.1"
RELEASE_SCHEMA_ID = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
BIDS_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"
DEFAULT_PREFIX = "ocds-esv001"

_STATUS = {TenderStage.PREQUALIFICATION: "active", TenderStage.BIDDING: "active", TenderStage.FAILED: "unsuccessful"}
_CRITERIA = {"price_only": "priceOnly", "comprehensive": "ratedCriteria"}
_METHOD = {"open": "open", "invited": "limited"}


def schema_dir() -> Path:
    """Where the OCDS schema files are: ``ESV_OCDS_SCHEMA_DIR`` or the shared data folder beside
    the repository."""
    configured = os.environ.get("ESV_OCDS_SCHEMA_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "ocds"


def _bids_extension(release: dict[str, Any]) -> dict[str, Any]:
    """The release schema with the bids extension's fields we publish merged in."""
    schema = copy.deepcopy(release)
    schema["properties"]["bids"] = {"title": "Bids", "$ref": "#/definitions/Bids"}
    org_ref = {"$ref": "#/definitions/OrganizationReference"}
    schema["definitions"]["Bids"] = {
        "title": "Bids", "type": "object",
        "properties": {
            "statistics": {"type": "array", "items": {
                "type": "object", "required": ["id", "measure", "value"],
                "properties": {"id": {"type": "string"}, "measure": {"type": "string"}, "value": {"type": "number"},
                               "relatedLot": {"type": ["string", "null"]}}}},
            "details": {"type": "array", "items": {"$ref": "#/definitions/Bid"}},
        },
    }
    schema["definitions"]["Bid"] = {
        "title": "Bid", "type": "object", "required": ["id"],
        "properties": {
            "id": {"type": "string"},
            "date": {"type": ["string", "null"], "format": "date-time"},
            "status": {"type": ["string", "null"],
                       "enum": ["invited", "pending", "valid", "disqualified", "withdrawn", None]},
            "tenderers": {"type": "array", "items": org_ref},
            "value": {"$ref": "#/definitions/Value"},
            "relatedLots": {"type": ["array", "null"], "items": {"type": "string"}},
        },
    }
    schema["definitions"]["Award"]["properties"]["relatedBids"] = {"type": ["array", "null"], "items": {"type": "string"}}
    return schema


@lru_cache
def _validators() -> tuple[Any, Any]:
    """(package validator, release validator), resolving the package's $ref locally."""
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    folder = schema_dir()
    try:
        package = json.loads((folder / "release-package-schema.json").read_text(encoding="utf-8"))
        release = _bids_extension(json.loads((folder / "release-schema.json").read_text(encoding="utf-8")))
    except OSError as exc:
        raise DomainError(ErrorCode.OCDS_INVALID, f"找不到 OCDS 模式文件 {folder}: {exc}") from exc
    registry = Registry().with_resource(release.get("id", RELEASE_SCHEMA_ID),
                                        Resource.from_contents(release, default_specification=DRAFT4))
    return Draft4Validator(package, registry=registry), Draft4Validator(release, registry=registry)


def _when(value: datetime | None) -> str | None:
    return format_instant(value).replace(".000000Z", "Z") if value else None


def _value(amount: float | None, currency: str) -> dict[str, Any] | None:
    return None if amount is None else {"amount": round(float(amount), 2), "currency": currency}


def release(state: TenderState, *, at: datetime, prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """One OCDS release of a tender as it stands at ``at``; sealed bids are left out."""
    tender = state.tender
    stage = TenderStage(tender.stage)
    sealed = is_sealed(tender, at)
    currency = tender.currency
    parties: dict[str, dict[str, Any]] = {}

    def party(pid: str, name: str, role: str) -> dict[str, str]:
        entry = parties.setdefault(pid, {"id": pid, "name": name, "roles": []})
        if role not in entry["roles"]:
            entry["roles"].append(role)
        return {"id": pid, "name": name}

    buyer = party(f"ORG-{tender.tenderer}", tender.tenderer, "buyer")
    procuring = party(f"ORG-{tender.agency}", tender.agency, "procuringEntity") if tender.agency else buyer
    if not tender.agency:
        party(buyer["id"], tender.tenderer, "procuringEntity")
    if tender.authority:
        party(f"ORG-{tender.authority}", tender.authority, "reviewBody")
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
    }
    if tender.ceiling_price is not None:
        body["maximumValue"] = _value(tender.ceiling_price, currency)
    out: dict[str, Any] = {
        "ocid": f"{prefix}-{tender.code}", "id": f"{tender.code}-{format_instant(tender.last_event_at)[:19].replace(':', '')}",
        "date": _when(tender.last_event_at), "tag": _tags(stage), "initiationType": "tender",
        "buyer": buyer, "tender": body, "language": "zh",
    }
    if not sealed:
        tenderers = [party(f"ORG-{b.bidder_code}", b.bidder, "tenderer") for b in bids]
        unique = {t["id"]: t for t in tenderers}
        body["tenderers"] = list(unique.values())
        body["numberOfTenderers"] = len(unique)
        out["bids"] = {
            "statistics": [{"id": "bids", "measure": "bids", "value": len(bids)}],
            "details": [{"id": str(b.id), "date": _when(b.submitted_at),
                         "status": "valid" if b.status == "valid" else ("disqualified" if b.status == "disqualified"
                                                                         else "pending"),
                         "tenderers": [{"id": f"ORG-{b.bidder_code}", "name": b.bidder}],
                         "value": _value(b.price, currency), "relatedLots": [lots[b.lot_id].code]} for b in bids],
        }
    awards, contracts = [], []
    for lot in state.lots:
        if lot.winner_bid_id is None:
            continue
        winner = next(b for b in state.bids if b.id == lot.winner_bid_id)
        supplier = party(f"ORG-{winner.bidder_code}", winner.bidder, "supplier")
        award_id = f"{tender.code}-{lot.code}"
        awards.append({"id": award_id, "title": lot.name, "status": "active", "date": _when(lot.award_notice_at),
                       "value": _value(lot.award_value, currency), "suppliers": [supplier],
                       "relatedBids": [str(winner.id)], "relatedLots": [lot.code]})
        if lot.contract_signed_at is not None:
            contracts.append({"id": f"{award_id}-C", "awardID": award_id, "title": lot.name, "status": "active",
                              "dateSigned": _when(lot.contract_signed_at),
                              "value": _value(lot.contract_value, currency)})
    if awards:
        out["awards"] = awards
    if contracts:
        out["contracts"] = contracts
    out["parties"] = list(parties.values())
    return out


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


def release_package(states: list[TenderState], *, at: datetime, prefix: str = DEFAULT_PREFIX,
                    publisher: str = "电子监察系统") -> dict[str, Any]:
    """A validated release package of ``states``; ``OCDS_INVALID`` for the first tender that
    would break the schema (nothing is published then)."""
    at = utc(at)
    releases = []
    for state in states:
        data = release(state, at=at, prefix=prefix)
        check_release(data, state.tender.code)
        releases.append(data)
    package = {"uri": f"https://esupervision.example/ocds/{prefix}/{format_instant(at)[:19].replace(':', '')}.json",
               "version": OCDS_VERSION, "extensions": [BIDS_EXTENSION], "publishedDate": _when(at),
               "publisher": {"name": publisher}, "releases": releases}
    package_validator, _ = _validators()
    errors = list(package_validator.iter_errors(package))
    if errors:
        raise DomainError(ErrorCode.OCDS_INVALID, f"发布包不符合 OCDS 模式：{errors[0].message}")
    return package


def export_tenders(tx: Any, codes: list[str] | None = None, *, prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """The release package of the tenders named (all when None), as they stand at ``tx.now``."""
    from sqlalchemy import select

    from esupervision.models.tenders.tender import Tender, load_tender
    wanted = codes if codes is not None else list(tx.session.scalars(select(Tender.code).order_by(Tender.code)))
    states = []
    for code in wanted:
        state = load_tender(tx, code, lock=False)
        if state is None:
            raise DomainError(ErrorCode.TENDER_NOT_FOUND, f"招标项目 {code} 不存在", tender=code)
        states.append(state)
    return release_package(states, at=tx.now, prefix=prefix)
