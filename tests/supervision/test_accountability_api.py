"""Faults, accountability rules, suggestions and appeals through GraphQL: the contract names,
scopes by role, stable error codes with nothing changed, and the loop from a derived fault to a
decided suggestion and an appeal that changes what counts."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.supervision.accountability import AccountabilityRule
from esupervision.models.ledger.ledger import LedgerEvent
from tests.builders import build_city
from tests.gql import GraphQLClient, create_accounts
from tests.supervision.test_accountability import T0, on_time_case_with_a_late_step

SH = ZoneInfo("Asia/Shanghai")

FAULTS = """query($filter: FaultFilter) { faults(filter: $filter, first: 20) { totalCount
  edges { node { id kind kindLabel category status source caseNumber eventIds description
                 staff { code } window { code } department { code } evidenceEvents { id kind } } } } }"""
RULE = """mutation($input: AccountabilityRuleInput!) { createAccountabilityRule(input: $input) {
  id name faultKinds subjectLevel threshold period sanction sanctionLabel showNames active } }"""
SUGGESTIONS = """{ accountabilitySuggestions { id status sanction suggestedSanction period faultCount reason
  rule { name } faults { kind } evidenceEvents { kind } staff { code } department { code } } }"""


@pytest.fixture
def api(engine, fixed_time):
    build_city(engine)
    create_accounts(engine)
    return GraphQLClient(engine)


def rule_input(**overrides: Any) -> dict[str, Any]:
    spec = {"name": "季度内环节超时一次：责令整改", "faultKinds": ["step_overdue"], "subjectLevel": "STAFF",
            "threshold": 1, "period": "QUARTER", "sanction": "RECTIFICATION", "showNames": False}
    spec.update(overrides)
    return spec


def ledger_size(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(LedgerEvent)) or 0


def nodes(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["node"] for e in body["faults"]["edges"]]


def test_rules_are_data_edited_by_supervisors_and_unknown_kinds_are_refused(api, engine):
    api.login("supervisor")
    before = ledger_size(engine)
    assert api.error_codes(RULE, {"input": rule_input(faultKinds=["step_overdue", "too_slow"])}) == ["UNKNOWN_FAULT_KIND"]
    assert api.error_codes(RULE, {"input": rule_input(threshold=0)}) == ["ACCOUNTABILITY_RULE_INVALID"]
    assert ledger_size(engine) == before
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(AccountabilityRule)) == 0
    rule = api.data(RULE, {"input": rule_input(showNames=True)})["createAccountabilityRule"]
    assert (rule["sanction"], rule["sanctionLabel"], rule["showNames"]) == ("RECTIFICATION", "责令整改", True)
    changed = api.data("""mutation($id: ID!, $input: AccountabilityRuleInput!) {
        updateAccountabilityRule(id: $id, input: $input) { threshold sanction } }""",
                       {"id": rule["id"], "input": rule_input(threshold=2, sanction="EFFICIENCY_WARNING")})
    assert changed["updateAccountabilityRule"] == {"threshold": 2, "sanction": "EFFICIENCY_WARNING"}
    api.data("mutation($id: ID!) { setAccountabilityRuleActive(id: $id, active: false) { active } }", {"id": rule["id"]})
    assert api.data("{ accountabilityRules { id } }")["accountabilityRules"] == []
    assert len(api.data("{ accountabilityRules(includeInactive: true) { id } }")["accountabilityRules"]) == 1
    api.login("scj-leader")
    assert api.error_codes(RULE, {"input": rule_input()}) == ["FORBIDDEN"]
    kinds = {k["code"]: k["category"] for k in api.data("{ faultKinds { code label category } }")["faultKinds"]}
    assert kinds["step_overdue"] == "TIMELINESS" and kinds["missing_step"] == "PROCESS" and kinds["conduct"] == "CONDUCT"


def test_faults_are_scoped_by_role_and_filtered(api, engine, fixed_time):
    on_time_case_with_a_late_step(engine, fixed_time)
    api.login("supervisor")
    recorded = api.data("""mutation($input: RecordFaultInput!) { recordFault(input: $input) { id kind category
        department { code } source } }""", {"input": {"kind": "service_attitude", "description": "态度生硬",
                                                    "departmentId": _department_id(api, "ZJJ")}})["recordFault"]
    assert recorded == {"id": recorded["id"], "kind": "service_attitude", "category": "CONDUCT",
                        "department": {"code": "ZJJ"}, "source": "recorded"}
    every = nodes(api.data(FAULTS))
    assert sorted(f["kind"] for f in every) == ["service_attitude", "step_overdue"]
    step = next(f for f in every if f["kind"] == "step_overdue")
    assert step["caseNumber"] == "N1" and step["staff"] == {"code": "S01"} and step["window"] == {"code": "W01"}
    assert [e["kind"] for e in step["evidenceEvents"]] == ["case.advance"]
    listed = api.data("{ cases(first: 10) { edges { node { number faults { kind staff { code } } } } } }")
    assert [e["node"] for e in listed["cases"]["edges"]] == [
        {"number": "N1", "faults": [{"kind": "step_overdue", "staff": {"code": "S01"}}]}]
    filtered = api.data(FAULTS, {"filter": {"kinds": ["step_overdue"], "period": "2026-11"}})
    assert filtered["faults"]["totalCount"] == 1
    assert api.data(FAULTS, {"filter": {"period": "2026-10"}})["faults"]["totalCount"] == 0
    assert api.data(FAULTS, {"filter": {"categories": ["CONDUCT"]}})["faults"]["totalCount"] == 1
    seen = {}
    for login in ("admin", "scj-leader", "zjj-leader", "w01"):
        api.login(login)
        seen[login] = sorted(f["kind"] for f in nodes(api.data(FAULTS)))
    assert seen == {"admin": ["service_attitude", "step_overdue"], "scj-leader": ["step_overdue"],
                    "zjj-leader": ["service_attitude"], "w01": ["step_overdue"]}
    assert api.error_codes(FAULTS, {"filter": {"occurredFrom": "2026-12-01T00:00:00+08:00",
                                               "occurredTo": "2026-11-01T00:00:00+08:00"}}) == ["INVALID_PERIOD"]
    assert api.error_codes(FAULTS, {"filter": {"kinds": ["nope"]}}) == ["UNKNOWN_FAULT_KIND"]
    assert api.error_codes(FAULTS, {"filter": {"period": "2026-13"}}) == ["INVALID_PERIOD"]
    assert api.error_codes(FAULTS, {"filter": {"occurredFrom": "2026-11-01T00:00:00"}}) == ["BAD_INPUT"]
    assert api.error_codes(FAULTS, {"filter": {"staffIds": ["not-an-id"]}}) == ["BAD_INPUT"]
    record = "mutation($input: RecordFaultInput!) { recordFault(input: $input) { id } }"
    before = ledger_size(engine)
    for bad, code in (({"eventIds": [987654]}, "EVIDENCE_NOT_FOUND"), ({"kind": "rude"}, "UNKNOWN_FAULT_KIND"),
                      ({"occurredAt": "2026-11-26T08:00:00"}, "BAD_INPUT"), ({"staffId": "x"}, "BAD_INPUT")):
        api.login("supervisor")
        assert api.error_codes(record, {"input": {"kind": "conduct", "description": "擅离岗位",
                                                  "staffId": _staff_id(api, "S01"), **bad}}) == [code], bad
    assert ledger_size(engine) == before
    api.login("w01")
    assert api.error_codes("""mutation { recordFault(input: {kind: "conduct", description: "x"}) { id } }""") \
        == ["FORBIDDEN"]
    api.as_public()
    assert api.error_codes(FAULTS) == ["UNAUTHENTICATED"]


def _staff_id(api: GraphQLClient, code: str) -> str:
    with Session(api.engine) as s:
        from esupervision.models.catalogue.catalogue import Staff
        return str(s.scalars(select(Staff.id).where(Staff.code == code)).one())


def _department_id(api: GraphQLClient, code: str) -> str:
    with Session(api.engine) as s:
        from esupervision.models.catalogue.catalogue import Department
        return str(s.scalars(select(Department.id).where(Department.code == code)).one())


def test_from_fault_to_decision_to_appeal_and_what_counts_follows(api, engine, fixed_time):
    api.login("supervisor")
    api.data(RULE, {"input": rule_input()})
    on_time_case_with_a_late_step(engine, fixed_time)
    api.login("supervisor")                      # days later: a fresh token
    suggestion = api.data(SUGGESTIONS)["accountabilitySuggestions"][0]
    assert suggestion["status"] == "PENDING" and suggestion["faultCount"] == 1
    assert suggestion["rule"]["name"] == "季度内环节超时一次：责令整改" and suggestion["faults"] == [{"kind": "step_overdue"}]
    assert suggestion["evidenceEvents"] == [{"kind": "case.advance"}] and suggestion["staff"] == {"code": "S01"}
    decide = """mutation($id: ID!, $d: SuggestionDecision!, $r: String, $s: Sanction) {
        decideSuggestion(id: $id, decision: $d, reason: $r, sanction: $s) { status sanction reason } }"""
    before = ledger_size(engine)
    assert api.error_codes(decide, {"id": suggestion["id"], "d": "DISMISS"}) == ["REASON_REQUIRED"]
    assert ledger_size(engine) == before
    api.login("scj-leader")
    assert api.error_codes(decide, {"id": suggestion["id"], "d": "CONFIRM"}) == ["FORBIDDEN"]
    api.login("supervisor")
    decided = api.data(decide, {"id": suggestion["id"], "d": "CHANGE", "r": "情节较重", "s": "ADMONISHING_TALK"})
    assert decided["decideSuggestion"] == {"status": "CHANGED", "sanction": "ADMONISHING_TALK", "reason": "情节较重"}
    assert api.error_codes(decide, {"id": suggestion["id"], "d": "CONFIRM"}) == ["SUGGESTION_DECIDED"]

    fault_id = nodes(api.data(FAULTS))[0]["id"]
    appeal = """mutation($input: AppealInput!) { appeal(input: $input) { id status subjectType evidence } }"""
    api.login("zjj-leader")
    assert api.error_codes(appeal, {"input": {"subjectType": "fault", "subjectId": fault_id, "reason": "不服"}}) \
        == ["FAULT_NOT_FOUND"]
    api.login("w01")
    assert api.error_codes(appeal, {"input": {"subjectType": "fault", "subjectId": fault_id, "reason": "不服"}}) \
        == ["FORBIDDEN"]
    api.login("scj-leader")
    filed = api.data(appeal, {"input": {"subjectType": "fault", "subjectId": fault_id, "reason": "系统故障",
                                        "evidence": ["运维工单 2026-118"]}})["appeal"]
    assert filed["status"] == "PENDING" and filed["evidence"] == ["运维工单 2026-118"]
    assert [a["id"] for a in api.data("{ appeals { id } }")["appeals"]] == [filed["id"]]
    api.login("zjj-leader")
    assert api.data("{ appeals { id } }")["appeals"] == []
    api.login("supervisor")
    outcome = api.data("""mutation($id: ID!) { decideAppeal(id: $id, outcome: REVOKE, reason: "经核实属系统故障") {
        status decisionReason } }""", {"id": filed["id"]})["decideAppeal"]
    assert outcome == {"status": "REVOKED", "decisionReason": "经核实属系统故障"}
    counted = api.data(FAULTS, {"filter": {"statuses": ["ACTIVE", "APPEALED", "CONFIRMED"]}})
    assert counted["faults"]["totalCount"] == 0
    case = api.data('{ case(number: "N1") { faults { kind status } timeline { kind title } } }')["case"]
    assert case["faults"] == [{"kind": "step_overdue", "status": "REVOKED"}]
    assert any(e["kind"] == "fault.step_overdue" and "已撤销" in e["title"] for e in case["timeline"])


def test_a_supervisor_derives_faults_over_the_whole_ledger(api, engine, fixed_time):
    on_time_case_with_a_late_step(engine, fixed_time)
    api.login("supervisor")
    assert api.data("mutation { deriveFaults }") == {"deriveFaults": 0}
    api.login("admin")
    assert api.error_codes("mutation { deriveFaults }") == ["FORBIDDEN"]
