"""The OCDS export: a release package with the bids extension that validates offline against
the shared schema, sealed bids left out before the opening, a tender that would break the schema
refused; through the CLI and GraphQL."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from esupervision.models.errors import DomainError
from esupervision.models.tenders.ocds import export_tenders, schema_dir
from esupervision.models.ledger.transaction import transaction
from tests.tenders.test_tender import BIDDERS, DEADLINE, build_tender_center, lifecycle, run


def validate_against_shared_schema(package: dict) -> None:
    """Validate with the shared files as they are (the bids extension's fields are extra there)."""
    folder = schema_dir()
    release = json.loads((folder / "release-schema.json").read_text())
    registry = Registry().with_resource(release["id"], Resource.from_contents(release, default_specification=DRAFT4))
    Draft4Validator(json.loads((folder / "release-package-schema.json").read_text()), registry=registry).validate(package)


@pytest.fixture
def tenders(engine, fixed_time):
    build_tender_center(engine)
    fixed_time.set(DEADLINE + timedelta(days=40))
    run(engine, *lifecycle())
    run(engine, *lifecycle("ZB-2026-002")[:5])   # bids in, not opened: its deadline has passed
    run(engine, *lifecycle("ZB-2026-003")[:1])
    return engine


def test_release_package_validates_and_carries_the_bids(tenders, fixed_time):
    with transaction(tenders) as tx:
        package = export_tenders(tx)
    validate_against_shared_schema(package)
    releases = {r["tender"]["id"]: r for r in package["releases"]}
    closed = releases["ZB-2026-001"]
    assert closed["tag"] == ["tender", "award", "contract"] and closed["ocid"].endswith("ZB-2026-001")
    assert sorted(b["value"]["amount"] for b in closed["bids"]["details"]) == sorted(p for _, _, p in BIDDERS)
    assert closed["awards"][0]["suppliers"][0]["name"] == "甲建设有限公司"
    assert closed["contracts"][0]["awardID"] == closed["awards"][0]["id"]
    assert {"buyer", "procuringEntity", "tenderer", "supplier", "reviewBody"} <= {
        role for p in closed["parties"] for role in p["roles"]}


def test_sealed_bids_never_leave_before_the_opening(tenders):
    with transaction(tenders) as tx:
        package = export_tenders(tx, ["ZB-2026-002"])
    release = package["releases"][0]
    text = json.dumps(package, ensure_ascii=False)
    assert "bids" not in release and "tenderers" not in release["tender"]
    assert not any(str(int(p)) in text for _, _, p in BIDDERS)


def test_a_tender_that_breaks_the_schema_is_refused(engine, fixed_time):
    build_tender_center(engine)
    fixed_time.set(DEADLINE + timedelta(days=40))
    run(engine, *lifecycle("ZB-RMB", currency="RMB")[:1])
    with transaction(engine) as tx, pytest.raises(DomainError) as refused:
        export_tenders(tx)
    assert refused.value.code == "OCDS_INVALID" and "ZB-RMB" in refused.value.message
    assert "currency" in refused.value.details["path"]


def test_cli_writes_the_package(tenders, tmp_path, monkeypatch):
    from esupervision import cli
    monkeypatch.setattr(cli, "_engine", lambda: tenders)
    out = tmp_path / "ocds.json"
    result = CliRunner().invoke(cli.main, ["tenders", "export-ocds", "-o", str(out), "--code", "ZB-2026-001"])
    assert result.exit_code == 0, result.output
    package = json.loads(out.read_text())
    validate_against_shared_schema(package)
    assert [r["tender"]["id"] for r in package["releases"]] == ["ZB-2026-001"]
    refused = CliRunner().invoke(cli.main, ["tenders", "export-ocds", "--code", "NOPE"])
    assert refused.exit_code == 2 and "TENDER_NOT_FOUND" in refused.output


def test_graphql_field(tenders, fixed_time):
    from esupervision.api.tokens import issue_access_token
    from esupervision.models.clocks import timesource
    from esupervision.models.access.scope import Role, Viewer
    from tests.gql import GraphQLClient
    api = GraphQLClient(tenders)
    token = issue_access_token(Viewer(role=Role.SUPERVISOR, username="sup"), now=timesource.now())
    package = api.data('{ tender(code: "ZB-2026-001") { ocds } }', token=token)["tender"]["ocds"]
    validate_against_shared_schema(package)
    details = package["releases"][0]["bids"]["details"]
    assert len(details) == 4
    from sqlalchemy import select
    from sqlmodel import Session

    from esupervision.models.access.audit import PersonalDataRead
    with Session(tenders) as s:   # bids leaving through the export are recorded reads too
        reads = s.scalars(select(PersonalDataRead).where(PersonalDataRead.field == "ocds")).all()
    assert sorted(str(r.subject_id) for r in reads) == sorted(d["id"] for d in details)
