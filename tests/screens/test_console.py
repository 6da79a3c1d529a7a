"""The supervision console (/console) in Chromium against a real esv serve over the demo city:
the numbers on screen are the API's, each role sees its own scope (DESIGN decision 11), a case's
whole story and its actions, refusals in the API's Chinese words, light changes without a reload
(the lightChanged subscription). Screenshots of every console section go to tests/artifacts/screens/."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.screens.conftest import kpi, log_in, shoot, signed_in

pytestmark = pytest.mark.slow

LIGHTS = ("RED", "YELLOW", "WHITE", "PAUSED")
DEMO_KEY = "esv_demo_department_system_key"   # the demo department system's key (README "Demo accounts")
SECTIONS = {
    "console-cases": "/console/cases",
    "console-orders": "/console/orders",
    "console-statistics": "/console/statistics",
    "console-accountability": "/console/accountability",
    "console-public": "/console/public",
    "console-reports": "/console/reports",
}


def scope_counts(server, username: str) -> dict[str, int]:
    token = server.login(username)
    return {light: server.graphql("query($l: [LightFilter!]) { cases(filter: {lights: $l}, first: 1) { totalCount } }",
                                  {"l": [light]}, token=token)["cases"]["totalCount"] for light in LIGHTS}


def test_the_supervisor_sees_the_overviews_counts_and_each_count_opens_its_cases(console, demo_server):
    log_in(console, demo_server, "supervisor")
    overview = demo_server.graphql("{ overview { centers { lights { red yellow white paused } } } }")["overview"]
    expected = {light: sum(row["lights"][light.lower()] for row in overview["centers"]) for light in LIGHTS}
    assert expected["RED"] > 0   # the demo has red cases
    assert {light: kpi(console, light) for light in LIGHTS} == expected
    red_rows = console.locator("[data-testid=red-list] tbody tr[data-number]")
    # The counts show before the lists (each answer as it comes): wait for the list's rows.
    expect(red_rows).to_have_count(min(12, expected["RED"]))
    shoot(console, "console-lights-supervisor")

    console.click("[data-testid=kpi-RED]")
    console.wait_for_url("**/console/cases?light=RED")
    console.wait_for_selector("[data-testid=case-list] tbody tr[data-number]")
    assert console.locator("[data-testid=cases-total]").inner_text() == f"共 {expected['RED']} 件"


def test_a_red_cases_whole_story_and_an_urge_from_the_console(console, demo_server):
    signed_in(console, demo_server, "supervisor")
    console.goto("/console")
    first = console.locator("[data-testid=red-list] tbody tr[data-number]").first
    number = first.get_attribute("data-number")
    first.click()
    console.wait_for_url(f"**/console/cases/{number}")
    assert console.locator("[data-testid=case-number]").inner_text() == number
    assert console.locator("[data-testid=case-light]").inner_text() == "红灯"
    assert console.locator("[data-testid=timeline] li").count() > 0
    assert console.locator("[data-testid=steps] tbody tr").count() > 0

    message = f"该件已亮红灯，请立即办理并反馈 {uuid.uuid4().hex[:6]}"
    console.click("[data-testid=urge]")
    console.fill("[data-testid=action-form] textarea", message)
    console.click("[data-testid=action-form] button[type=submit]")
    result = console.locator("[data-testid=action-result]")
    result.wait_for()
    assert result.inner_text().startswith("已催办 CB-")
    token = demo_server.login("supervisor")
    urges = demo_server.graphql("query($n: String!) { case(number: $n) { urges { number message } } }",
                                {"n": number}, token=token)["case"]["urges"]
    urge = next(u for u in urges if u["message"] == message)
    assert urge["number"] in result.inner_text()
    console.locator("[data-testid=urges]", has_text=message).wait_for()   # the story shows it at once
    shoot(console, "console-case-story")


def test_a_refused_action_shows_the_apis_chinese_reason(console, demo_server):
    """A finished case cannot be urged (CASE_NOT_RUNNING): the console says why, in the API's words."""
    token = demo_server.login("supervisor")
    number = demo_server.graphql("{ cases(filter: {statuses: [COMPLETED]}, first: 1) { edges { node { number } } } }",
                                 token=token)["cases"]["edges"][0]["node"]["number"]
    signed_in(console, demo_server, "supervisor")
    console.goto(f"/console/cases/{number}")
    console.click("[data-testid=urge]")
    console.fill("[data-testid=action-form] textarea", "请办理")
    console.click("[data-testid=action-form] button[type=submit]")
    error = console.locator("[data-testid=action-error]")
    error.wait_for()
    assert error.inner_text() == f"办件 {number} 已结束（已办结），不能催办或督办"


@pytest.mark.parametrize("username", ["leader", "window"])
def test_a_leader_and_a_window_see_their_own_scope_and_cannot_supervise(console, demo_server, username):
    log_in(console, demo_server, username)
    expected = scope_counts(demo_server, username)
    assert {light: kpi(console, light) for light in LIGHTS} == expected
    everyone = scope_counts(demo_server, "supervisor")
    assert sum(expected.values()) < sum(everyone.values())   # a scope, not the city
    departments = console.locator("table:has(th:text('部门')) tbody tr[data-key]")
    assert departments.count() == (1 if username == "leader" else 0)
    shoot(console, f"console-lights-{username}")

    token = demo_server.login(username)
    number = demo_server.graphql("{ cases(first: 1) { edges { node { number } } } }", token=token)["cases"]["edges"][0]["node"]["number"]
    console.goto(f"/console/cases/{number}")
    console.locator("[data-testid=case-number]").wait_for()
    assert console.locator("[data-testid=urge]").count() == 0   # the office urges; departments answer


def test_a_light_change_reaches_the_open_console_without_a_reload(console, demo_server):
    """A department system reports a case accepted 20 days ago: its light is due red at once, the
    scheduler announces it, and the open console counts it without being reloaded."""
    signed_in(console, demo_server, "supervisor")
    console.goto("/console")
    before = kpi(console, "RED")
    console.evaluate("window.__notReloaded = true")
    leader = demo_server.login("leader")
    case = demo_server.graphql("{ cases(first: 1, filter: {statuses: [ACCEPTED]}) { edges { node { item { code } center { code } } } } }",
                               token=leader)["cases"]["edges"][0]["node"]
    number = f"E2E-{uuid.uuid4().hex[:8].upper()}"
    accepted = (datetime.now(timezone.utc) - timedelta(days=20)).isoformat()
    results = demo_server.graphql(
        "mutation($e: [ReportedEventInput!]!) { reportCaseEvents(events: $e) { status message } }",
        {"e": [{"sourceEventId": f"{number}:1", "caseNumber": number, "action": "ACCEPT", "occurredAt": accepted,
                "itemCode": case["item"]["code"], "centerCode": case["center"]["code"]}]},
        api_key=DEMO_KEY)["reportCaseEvents"]
    assert results[0]["status"] == "accepted", results
    console.locator("[data-testid=red-list]", has_text=number).wait_for(timeout=20_000)
    # the count and the list are separate answers: each shows as it comes
    console.wait_for_function("n => document.querySelector('[data-testid=kpi-RED] .kpi-value').textContent.trim() === String(n)",
                              arg=before + 1, timeout=20_000)
    assert console.evaluate("window.__notReloaded") is True
    assert "红灯" in console.locator("[data-testid=last-change]").inner_text()


def test_every_console_section_renders_at_1366_without_overflow_or_errors(console, demo_server):
    signed_in(console, demo_server, "supervisor")
    for name, path in SECTIONS.items():
        console.goto(path)
        console.wait_for_load_state("networkidle")
        console.locator(".console-main table tbody tr").first.wait_for()
        assert not console.locator(".console-main p.error").count(), console.locator(".console-main p.error").all_inner_texts()
        # the page itself never scrolls sideways at 1366 px
        assert console.evaluate("document.documentElement.scrollWidth") <= 1366, name
        shoot(console, name)
    excel = console.locator("[data-testid=excel]")
    console.goto("/console/statistics")
    excel.wait_for()
    download = console.request.get(excel.get_attribute("href"))
    assert download.status == 200 and download.body()[:2] == b"PK"   # an xlsx (zip) file


def test_a_wrong_password_is_refused_in_chinese(console, demo_server):
    console.goto("/login")
    console.fill("input[name=username]", "center")
    console.fill("input[name=password]", "wrong-password")
    console.click("button[type=submit]")
    alert = console.locator("[role=alert]")
    alert.wait_for()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in alert.inner_text())
    shoot(console, "console-login-refused")
