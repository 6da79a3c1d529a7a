"""Signed tree heads and proofs as the API serves them (``/ledger/...``), checked with the public
key alone; forged ones fail. On a copy of the demo-like database, SQLite and PostgreSQL."""
from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel import Session
from starlette.testclient import TestClient

from esupervision.api.app import create_app
from esupervision.models.access.account import create_account
from esupervision.models.access.scope import Role
from esupervision.models.cases.case import Case, CaseStatus
from esupervision.models.catalogue.catalogue import Staff
from esupervision.models.clocks import timesource
from esupervision.models.ledger import checkpoint
from esupervision.models.ledger.checkpoint import CheckpointError, origin_for
from esupervision.models.ledger.merkle import ProofError
from esupervision.models.ledger.proofs import check_document, witnessed_as_served
from tests.gql import GraphQLClient
from tests.ledger.conftest import DemoCopy


def flip(text: str) -> str:
    """A base64 hash with one bit changed."""
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def refused(document: dict, verifier) -> bool:  # noqa: ANN001
    try:
        check_document(document, verifier)
    except (ProofError, CheckpointError):
        return True
    return False


@pytest.fixture
def served(demo_copy: DemoCopy):  # noqa: ANN201
    return TestClient(create_app(demo_copy.engine))


def test_heads_are_served_as_the_witness_holds_them(demo_copy: DemoCopy, served: TestClient) -> None:
    city = demo_copy.city_chain()
    origin = origin_for("esupervision", city)
    sizes = demo_copy.witness.sizes(origin)
    assert len(sizes) == 2
    latest = served.get(f"/ledger/{city}/checkpoint")
    assert latest.status_code == 200 and latest.text == demo_copy.witness.checkpoint(origin)
    head = checkpoint.verify(latest.text, demo_copy.verifier)
    assert (head.origin, head.size) == (origin, sizes[-1])
    assert served.get(f"/ledger/{city}/checkpoint/{sizes[0]}").text == demo_copy.witness.checkpoint(origin, sizes[0])
    assert served.get(f"/ledger/{city}/checkpoint/{sizes[0] + 1}").status_code == 404
    assert served.get("/ledger/NOPE/checkpoint").status_code == 404
    # A center's code names its log as well as its id.
    from esupervision.models.catalogue.catalogue import Center
    with Session(demo_copy.engine) as s:
        code = s.get(Center, city).code
    assert served.get(f"/ledger/{code}/checkpoint").text == latest.text


def test_inclusion_proofs_check_out_and_forged_ones_fail(demo_copy: DemoCopy, served: TestClient) -> None:
    city = demo_copy.city_chain()
    sizes = demo_copy.witness.sizes(origin_for("esupervision", city))
    verifier = demo_copy.verifier
    for size in sizes:
        for seq in sorted({1, 2, 255, 256, 257, 700, sizes[0], size}):
            document = served.get(f"/ledger/{city}/inclusion", params={"seq": seq, "size": size}).json()
            assert document["seq"] == seq and document["size"] == size
            check_document(document, verifier)
            witnessed_as_served(document, verifier, demo_copy.witness)
    document = served.get(f"/ledger/{city}/inclusion", params={"seq": 300}).json()
    assert document["size"] == sizes[-1]                     # the newest head by default
    forgeries = []
    for change in ("hash", "chain_hash", "seq", "checkpoint", "root"):
        forged = copy.deepcopy(document)
        if change == "hash":
            forged["hashes"][3] = flip(forged["hashes"][3])
        elif change == "chain_hash":
            forged["chain_hash"] = "f" + forged["chain_hash"][1:]
        elif change == "seq":
            forged["seq"] += 1
        elif change == "checkpoint":     # the proof under another (genuine) head
            forged["checkpoint"] = served.get(f"/ledger/{city}/checkpoint/{sizes[0]}").text
        else:                            # a head with a root of the forger's choosing, unsigned
            lines = forged["checkpoint"].split("\n")
            lines[2] = flip(lines[2])
            forged["checkpoint"] = "\n".join(lines)
        forgeries.append(forged)
    assert all(refused(forged, verifier) for forged in forgeries)
    assert served.get(f"/ledger/{city}/inclusion", params={"seq": sizes[-1] + 1}).status_code == 404
    assert served.get(f"/ledger/{city}/inclusion", params={"seq": "x"}).status_code == 400


def test_consistency_proofs_check_out_and_forged_ones_fail(demo_copy: DemoCopy, served: TestClient) -> None:
    verifier = demo_copy.verifier
    checked = 0
    for origin in demo_copy.witness.origins():
        center = origin.rsplit("/", 1)[1]
        sizes = demo_copy.witness.sizes(origin)
        for old in sizes:
            for new in sizes:
                if old <= new:
                    document = served.get(f"/ledger/{center}/consistency", params={"from": old, "to": new}).json()
                    check_document(document, verifier)
                    checked += 1
        if len(sizes) > 1:
            document = served.get(f"/ledger/{center}/consistency", params={"from": sizes[0]}).json()
            assert (document["from"], document["to"]) == (sizes[0], sizes[-1])
            forged = copy.deepcopy(document)
            forged["hashes"][-1] = flip(forged["hashes"][-1])
            swapped = copy.deepcopy(document)
            swapped["checkpoints"].reverse()
            assert refused(forged, verifier) and refused(swapped, verifier)
    assert checked > 20


def test_a_case_history_is_proven_in_the_published_heads(demo_copy: DemoCopy, served: TestClient) -> None:
    with Session(demo_copy.engine) as s:
        staff = s.scalars(select(Staff).where(Staff.phone.is_not(None)).order_by(Staff.code)).first()
        create_account(s, username="auditor", password="demo", role=Role.SUPERVISOR, display_name="监察员",
                       now=timesource.now(), staff_id=staff.id)
        s.commit()
        number = s.scalars(select(Case.number).where(Case.status == CaseStatus.COMPLETED.value)
                           .order_by(Case.number)).first()
    assert served.get(f"/ledger/cases/{number}").status_code == 401
    token = GraphQLClient(demo_copy.engine).login("auditor")
    answer = served.get(f"/ledger/cases/{number}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    history = answer.json()
    assert len(history["events"]) >= 3 and all("hashes" in e for e in history["events"])
    assert "已签名" in check_document(history, demo_copy.verifier)
    forged = copy.deepcopy(history)
    forged["events"][-1]["body"]["occurred_at"] = "2026-01-01T00:00:00.000000Z"
    assert refused(forged, demo_copy.verifier)


def test_verify_proof_on_the_command_line(demo_copy: DemoCopy, served: TestClient, tmp_path: Path) -> None:
    city = demo_copy.city_chain()
    document = served.get(f"/ledger/{city}/inclusion", params={"seq": 42}).json()
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(document))
    document["hashes"][0] = flip(document["hashes"][0])
    bad.write_text(json.dumps(document))
    from esupervision.cli import main
    runner = CliRunner()
    args = ["ledger", "verify-proof", "--public-key", str(demo_copy.key_file), "--witness", str(demo_copy.witness.root)]
    ok = runner.invoke(main, [*args, str(good)])
    assert ok.exit_code == 0 and "proof holds" in ok.output
    assert runner.invoke(main, [*args, str(bad)]).exit_code == 1
