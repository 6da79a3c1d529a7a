"""The OCDS export: the schema ships with the package (no ../shared, no environment variable), the
package declares the bids and lots extension versions whose fields it uses, one release per stage
event and a compiled record per tender merged as OCP's own tool merges them (ocdskit), parties
identified by their 统一社会信用代码 (org-id.guide CN-USCI), sealed bids never leaving before the
opening (法 22, 34), a tender that would break the schema refused; through the CLI and GraphQL."""
from __future__ import annotations

import fnmatch
import json
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from esupervision.models.errors import DomainError
from esupervision.models.ledger.transaction import transaction
from esupervision.models.tenders import ocds
from esupervision.models.tenders.ocds import (BIDS_EXTENSION, LOTS_EXTENSION, compile_release, export_records,
                                              export_tenders, release_schema, schema_dir)
from tests.tenders.test_tender import BIDDERS, DEADLINE, build_tender_center, lifecycle, run

ROOT = Path(__file__).resolve().parents[2]


def validate(package: dict) -> None:
    """Validate a release package with the shipped files, as any OCDS tool would."""
    folder = schema_dir()
    release = release_schema()
    registry = Registry().with_resource(release["id"], Resource.from_contents(release, default_specification=DRAFT4))
    Draft4Validator(json.loads((folder / "release-package-schema.json").read_text()), registry=registry).validate(package)


@pytest.fixture
def tenders(engine, fixed_time):
    build_tender_center(engine)
    fixed_time.set(DEADLINE + timedelta(days=40))
    run(engine, *lifecycle(tenderer_code="11331000MB0000001X", agency_code="91331000MA0000002Y"))
    run(engine, *lifecycle("ZB-2026-002")[:5])   # bids in, not opened: its deadline has passed
    run(engine, *lifecycle("ZB-2026-003")[:1])
    return engine


def test_the_schema_ships_with_the_package():
    # A user's install has no ../shared: the files live in the package, listed as its package data.
    folder = schema_dir()
    assert folder == ROOT / "models" / "tenders" / "ocds_schema"
    shipped = sorted(p.relative_to(folder.parent).as_posix() for p in folder.rglob("*") if p.is_file())
    assert {"ocds_schema/release-schema.json", "ocds_schema/release-package-schema.json",
            "ocds_schema/extensions/bids/release-schema.json", "ocds_schema/extensions/lots/release-schema.json"} \
        <= set(shipped)
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "esupervision.models.tenders"]
    assert all(any(fnmatch.fnmatch(path, pattern) for pattern in patterns) for path in shipped), shipped
    source = Path(ocds.__file__).read_text()
    assert "shared" not in source and "environ" not in source


def test_the_package_declares_the_extension_versions_it_uses():
    # Bid.relatedLots and Award.relatedBids came with the bids extension after v1.1.5; Tender.lots
    # and Award.relatedLots are the lots extension's.
    assert "ocds_bid_extension/018e0a92aa0e0918ab0e4be138195f120e858c99/" in BIDS_EXTENSION
    assert "ocds_lots_extension/" in LOTS_EXTENSION
    schema = release_schema()
    assert "relatedLots" in schema["definitions"]["Bid"]["properties"]
    assert "relatedBids" in schema["definitions"]["Award"]["properties"]
    assert "relatedLots" in schema["definitions"]["Award"]["properties"]
    assert "lots" in schema["definitions"]["Tender"]["properties"]
    # The patches are applied: a lot named by a number where the extension wants strings is refused.
    _, validator = ocds._validators()
    assert not validator.is_valid({"ocid": "x", "id": "1", "date": "2026-01-01T00:00:00Z", "tag": ["award"],
                                   "initiationType": "tender", "awards": [{"id": "a", "relatedLots": [1]}]})


def test_one_release_per_stage_event(tenders):
    with transaction(tenders) as tx:
        package = export_tenders(tx)
    validate(package)
    assert package["extensions"] == [BIDS_EXTENSION, LOTS_EXTENSION]
    closed = [r for r in package["releases"] if r["tender"]["id"] == "ZB-2026-001"]
    assert [(r["id"].split("-", 3)[-1], r["tag"]) for r in closed] == [
        ("01-publish", ["tender"]), ("02-form_committee", ["tenderUpdate"]), ("03-open", ["tenderUpdate"]),
        ("04-report_evaluation", ["tenderUpdate"]), ("05-publish_candidates", ["tenderUpdate"]),
        ("06-award", ["award"]), ("07-sign_contract", ["contract"]), ("08-return_bonds", ["contractUpdate"]),
        ("09-file_report", ["awardUpdate"])]
    assert [r["date"] for r in closed] == sorted(r["date"] for r in closed)
    # Each release is the tender as that event left it: no award before the award …
    assert "awards" not in closed[4] and closed[5]["awards"][0]["suppliers"][0]["name"] == "甲建设有限公司"
    assert closed[6]["contracts"][0]["awardID"] == closed[6]["awards"][0]["id"]
    assert sorted(b["value"]["amount"] for b in closed[2]["bids"]["details"]) == sorted(p for _, _, p in BIDDERS)
    assert {b["status"] for b in closed[2]["bids"]["details"]} == {"pending"}          # opened, not evaluated
    assert {b["status"] for b in closed[3]["bids"]["details"]} == {"valid"}
    award = closed[5]["awards"][0]
    assert award["relatedLots"] == ["01"] and award["relatedBids"][0] in {b["id"] for b in closed[5]["bids"]["details"]}
    assert {"buyer", "procuringEntity", "tenderer", "supplier", "reviewBody"} <= {
        role for p in closed[-1]["parties"] for role in p["roles"]}


def test_bids_and_bidders_never_leave_before_the_opening(tenders):
    # 法 22: no names, no number; 法 34: bids are opened in public at the deadline. Bid submissions
    # make no release of their own, and releases before the opening carry no bids nor tenderers.
    with transaction(tenders) as tx:
        package = export_tenders(tx)
    text = json.dumps([r for r in package["releases"] if r["tender"]["id"] == "ZB-2026-002"], ensure_ascii=False)
    assert "bids" not in text and "tenderers" not in text and "numberOfTenderers" not in text
    assert not any(name in text for name, _, _ in BIDDERS) and not any(str(int(p)) in text for _, _, p in BIDDERS)
    opened = [r for r in package["releases"] if r["tender"]["id"] == "ZB-2026-001"]
    before = [r for r in opened if r["id"].endswith(("publish", "form_committee"))]
    assert before and all("bids" not in r and "tenderers" not in r["tender"] for r in before)
    assert not any(r["id"].endswith(("submit_bid", "withdraw_bid")) for r in package["releases"])


def test_parties_carry_their_unified_social_credit_code(tenders):
    # org-id.guide lists China's 统一社会信用代码 as CN-USCI (Unified Social Credit Identifier).
    with transaction(tenders) as tx:
        parties = {p["name"]: p for p in export_tenders(tx, ["ZB-2026-001"])["releases"][-1]["parties"]}
    assert parties["甲建设有限公司"]["identifier"] == {"scheme": "CN-USCI", "id": "91A", "legalName": "甲建设有限公司"}
    assert parties["甲建设有限公司"]["id"] == "CN-USCI-91A"
    assert parties["东县教育局"]["identifier"]["id"] == "11331000MB0000001X"
    assert parties["清河招标代理有限公司"]["identifier"]["id"] == "91331000MA0000002Y"
    assert "identifier" not in parties["住房和城乡建设局"]   # no code given for the authority


def test_the_compiled_record_merges_as_ocdskit_does(tenders):
    from ocdskit.combine import merge

    with transaction(tenders) as tx:
        package = export_tenders(tx)
        records = export_records(tx)
    theirs = {r["ocid"]: r for r in merge([package], schema=release_schema())}
    ours = {r["ocid"]: r["compiledRelease"] for r in records["records"]}
    assert set(ours) == set(theirs) and ours == theirs
    record = next(r for r in records["records"] if r["ocid"].endswith("ZB-2026-001"))
    compiled = record["compiledRelease"]
    assert compiled["tag"] == ["compiled"] and compiled["date"] == record["releases"][-1]["date"]
    assert compiled["contracts"] == record["releases"][-1]["contracts"]
    assert {b["status"] for b in compiled["bids"]["details"]} == {"valid"}   # the later status wins


def test_ocds_merge_rules():
    # OCDS merging: arrays of objects merged by id, other arrays replaced whole, null removes a
    # field, omitWhenMerged fields (tag) left out, later dates win whatever the input order.
    releases = [
        {"ocid": "o", "id": "2", "date": "2026-01-02T00:00:00Z", "tag": ["award"], "initiationType": "tender",
         "tender": {"id": "t", "title": None, "submissionMethod": ["written"]},
         "awards": [{"id": "b", "status": "pending"}, {"id": "a", "status": "active"}],
         "parties": [{"id": "p", "roles": ["supplier"]}]},
        {"ocid": "o", "id": "1", "date": "2026-01-01T00:00:00Z", "tag": ["tender"], "initiationType": "tender",
         "tender": {"id": "t", "title": "旧", "status": "active", "submissionMethod": ["electronicSubmission", "written"]},
         "awards": [{"id": "a", "status": "pending", "title": "A"}],
         "parties": [{"id": "p", "roles": ["buyer", "tenderer"]}]},
    ]
    compiled = compile_release(releases)
    assert compiled == {
        "tag": ["compiled"], "id": "o-2026-01-02T00:00:00Z", "date": "2026-01-02T00:00:00Z", "ocid": "o",
        "initiationType": "tender",
        "tender": {"id": "t", "status": "active", "submissionMethod": ["written"]},
        "awards": [{"id": "a", "status": "active", "title": "A"}, {"id": "b", "status": "pending"}],
        "parties": [{"id": "p", "roles": ["supplier"]}]}
    from ocdskit.combine import merge
    assert next(iter(merge([{"version": "1.1", "releases": releases}], schema=release_schema()))) == compiled


def test_a_tender_that_breaks_the_schema_is_refused(engine, fixed_time):
    build_tender_center(engine)
    fixed_time.set(DEADLINE + timedelta(days=40))
    run(engine, *lifecycle("ZB-RMB", currency="RMB")[:1])
    with transaction(engine) as tx, pytest.raises(DomainError) as refused:
        export_tenders(tx)
    assert refused.value.code == "OCDS_INVALID" and "ZB-RMB" in refused.value.message
    assert "currency" in refused.value.details["path"]


def test_cli_writes_the_packages(tenders, tmp_path, monkeypatch):
    from esupervision import cli
    monkeypatch.setattr(cli, "_engine", lambda: tenders)
    out = tmp_path / "ocds.json"
    result = CliRunner().invoke(cli.main, ["tenders", "export-ocds", "-o", str(out), "--code", "ZB-2026-001"])
    assert result.exit_code == 0, result.output
    package = json.loads(out.read_text())
    validate(package)
    assert {r["tender"]["id"] for r in package["releases"]} == {"ZB-2026-001"} and len(package["releases"]) == 9
    result = CliRunner().invoke(cli.main, ["tenders", "export-ocds", "-o", str(out), "--records"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())["records"]) == 3
    refused = CliRunner().invoke(cli.main, ["tenders", "export-ocds", "--code", "NOPE"])
    assert refused.exit_code == 2 and "TENDER_NOT_FOUND" in refused.output


def test_graphql_fields(tenders, fixed_time):
    from sqlalchemy import select
    from sqlmodel import Session

    from esupervision.api.tokens import issue_access_token
    from esupervision.models.access.audit import PersonalDataRead
    from esupervision.models.access.scope import Role, Viewer
    from esupervision.models.clocks import timesource
    from tests.gql import GraphQLClient
    api = GraphQLClient(tenders)
    token = issue_access_token(Viewer(role=Role.SUPERVISOR, username="sup"), now=timesource.now())
    tender = api.data('{ tender(code: "ZB-2026-001") { ocds ocdsRecord } }', token=token)["tender"]
    validate(tender["ocds"])
    details = {d["id"] for r in tender["ocds"]["releases"] for d in r.get("bids", {}).get("details", [])}
    assert len(details) == 4
    assert tender["ocdsRecord"]["records"][0]["compiledRelease"]["tag"] == ["compiled"]
    with Session(tenders) as s:   # bids leaving through the export are recorded reads too
        reads = s.scalars(select(PersonalDataRead).where(PersonalDataRead.field == "ocds")).all()
    assert sorted({str(r.subject_id) for r in reads}) == sorted(details)
