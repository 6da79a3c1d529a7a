"""Publication of efficiency reports (效能公开): the public aggregates equal the statistics, carry no
personal data, the leaders' and windows' PDFs read back in Chinese, every leader and window unit is
told in the same transaction, and publishing is idempotent and refuses bad periods."""
from __future__ import annotations

import io
import json
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pypdf
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision import report_pdf
from esupervision.models.catalogue.catalogue import Center, Department, Window, create_staff, create_window
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.notices.notice import Notice
from esupervision.models.supervision.publication import (PublishedReport, pdf_path, previous_month, publish_report,
                                                         trend_months)
from esupervision.models.ledger.replay import replay, snapshot
from esupervision.models.cases.report import CaseAction
from esupervision.models.supervision.statistics import GroupBy, compute_statistics, row_values
from esupervision.models.ledger.transaction import transaction
from esupervision.settings import get_settings
from esupervision.workers.reports import publish_monthly
from tests.builders import build_city, event, report
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
# Names of people in the data: none may appear in anything public.
PERSONAL = ("张敏", "王局长", "刘局长", "陈主任", "周窗口", "李华", "王强", "孙丽", "13800138001",
            "13900139000", "110101199001011234")

PUBLISHED_QUERY = """
query($center: ID, $from: Date, $to: Date) {
  publishedReports(centerId: $center, periodFrom: $from, periodTo: $to) {
    id title periodFrom periodTo pdfUrl center { id name }
    totals { name received completed onTime early overdue overLegalLimit onTimeRate }
    departments { id name rank received accepted handled completed onTime early overdue overLegalLimit errors returned
                  supplementRequests suspendedDays averageHandlingDays p90HandlingDays onTimeRate earlyRate
                  urges urgesAnsweredOnTime orders ordersAnsweredOnTime complaints evaluations evaluationScore }
    windows { id name departmentId departmentName received accepted completed onTime overdue onTimeRate }
    onTimeTrend { month completed onTime onTimeRate }
    lights { departmentId name white yellow red paused }
    accountability { total pending confirmed changed dismissed withdrawn revoked bySanction { key label total } byDepartment { key label total } }
  }
}"""


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SH)


@pytest.fixture
def city(engine: Engine, fixed_time) -> Engine:  # noqa: ANN001
    """tests.builders' city with leaders and window staff who have phones, a second window, and
    cases in September, October and November 2026 (today is 2026-11-26)."""
    build_city(engine)
    with transaction(engine, actor="test") as tx:
        center = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        scj = tx.session.scalars(select(Department).where(Department.code == "SCJ")).one()
        zjj = tx.session.scalars(select(Department).where(Department.code == "ZJJ")).one()
        w01 = tx.session.scalars(select(Window).where(Window.code == "W01")).one()
        w02 = create_window(tx, center=center, department=zjj, code="W02", name="2号窗口")
        create_staff(tx, center=center, code="L-SCJ", name="王局长", department=scj, phone="13800138101",
                     is_leader=True)
        create_staff(tx, center=center, code="L-ZJJ", name="刘局长", department=zjj, phone="13800138102",
                     is_leader=True)
        create_staff(tx, center=center, code="L-C01", name="陈主任", phone="13800138103", is_leader=True)
        create_staff(tx, center=center, code="S-W01", name="周窗口", department=scj, window=w01,
                     phone="13800138104")
        create_staff(tx, center=center, code="S-W02", name="吴窗口", department=zjj, window=w02,
                     phone="13800138105")
    person = {"applicant_name": "李华", "attributes": {"applicant_phone": "13800138001",
                                                       "applicant_id_number": "110101199001011234"}}
    report(engine,
           # September: one early case (the trend's earlier month)
           event("S1", CaseAction.ACCEPT, at(date(2026, 9, 7)), center_code="C01", item_code="SCJ-001",
                 window_code="W01", staff_code="S01", **person),
           event("S1", CaseAction.COMPLETE, at(date(2026, 9, 8)), attributes={"result": "approved"}),
           # October: early, overdue, on time, and one returned
           event("O1", CaseAction.ACCEPT, at(date(2026, 10, 12)), center_code="C01", item_code="SCJ-001",
                 window_code="W01", staff_code="S01", **person),
           event("O1", CaseAction.COMPLETE, at(date(2026, 10, 13)), attributes={"result": "approved"}),
           event("O2", CaseAction.ACCEPT, at(date(2026, 10, 12)), center_code="C01", item_code="SCJ-001",
                 window_code="W01", applicant_name="王强"),
           event("O2", CaseAction.COMPLETE, at(date(2026, 10, 30)), attributes={"result": "denied"}),
           event("O3", CaseAction.ACCEPT, at(date(2026, 10, 14)), center_code="C01", item_code="ZJJ-JOINT",
                 window_code="W02", applicant_name="孙丽"),
           event("O3", CaseAction.COMPLETE, at(date(2026, 10, 27)), attributes={"result": "approved"}),
           event("O4", CaseAction.ACCEPT, at(date(2026, 10, 20)), center_code="C01", item_code="SCJ-001",
                 window_code="W01", applicant_name="孙丽"),
           event("O4", CaseAction.REJECT, at(date(2026, 10, 21)), attributes={"reason": "材料不全"}),
           # November: still running, red by now (lights of the report)
           event("N1", CaseAction.ACCEPT, at(date(2026, 11, 2)), center_code="C01", item_code="SCJ-001",
                 window_code="W01", applicant_name="王强"))
    return engine


def center_id(engine: Engine) -> uuid.UUID:
    with Session(engine) as s:
        return s.scalars(select(Center.id).where(Center.code == "C01")).one()


def publish(engine: Engine, period: tuple[date, date] = OCTOBER):  # noqa: ANN201
    center = center_id(engine)
    with transaction(engine, actor="supervisor:test") as tx:
        return publish_report(tx, center_id=center, period_from=period[0], period_to=period[1])


def counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        return (s.scalar(select(func.count()).select_from(PublishedReport)),
                s.scalar(select(func.count()).select_from(LedgerEvent)),
                s.scalar(select(func.count()).select_from(Notice)))


def pdf_text(body: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


# ----------------------------------------------------------------------------- public API

def test_the_public_reads_the_report_equal_to_the_statistics_and_without_personal_data(city: Engine) -> None:
    done = publish(city)
    assert done.created
    client = GraphQLClient(city).as_public()
    body = client(PUBLISHED_QUERY, {"center": str(center_id(city)), "from": "2026-10-01", "to": "2026-10-31"})
    assert not body.get("errors"), body
    (published,) = body["data"]["publishedReports"]
    assert published["title"] == "市行政服务中心2026年10月效能报告"
    assert published["pdfUrl"] is None      # the public gets no PDF link
    center = center_id(city)
    with Session(city) as s:
        by_department = compute_statistics(s, period_from=OCTOBER[0], period_to=OCTOBER[1],
                                           group_by=GroupBy.DEPARTMENT, center_id=center)
        by_window = compute_statistics(s, period_from=OCTOBER[0], period_to=OCTOBER[1],
                                       group_by=GroupBy.WINDOW, center_id=center)
    expected = {str(r.key_id): row_values(r) for r in by_department.rows}
    assert {d["id"] for d in published["departments"]} == set(expected) and len(expected) == 2
    for row in published["departments"]:
        want = expected[row["id"]]
        assert row["name"] == want["key_name"]
        for name, value in want.items():
            if name not in ("key_id", "key_name", "key_code"):
                assert row[camel(name)] == value, name
    windows = {str(r.key_id): row_values(r) for r in by_window.rows}
    assert {w["id"]: (w["name"], w["received"], w["completed"], w["onTime"], w["overdue"])
            for w in published["windows"]} == {k: (v["key_name"], v["received"], v["completed"], v["on_time"],
                                                    v["overdue"]) for k, v in windows.items()}
    totals = row_values(by_department.totals)
    assert published["totals"]["completed"] == totals["completed"] == 3
    assert published["totals"]["overdue"] == totals["overdue"] == 1
    assert published["totals"]["onTimeRate"] == totals["on_time_rate"]
    # ranking: the department with the better on-time rate first
    assert [d["rank"] for d in published["departments"]] == [1, 2]
    rates = [d["onTimeRate"] for d in published["departments"]]
    assert rates == sorted(rates, reverse=True)
    # trend: 12 months ending in October, September and October counted
    trend = published["onTimeTrend"]
    assert [p["month"] for p in trend][-2:] == ["2026-09", "2026-10"] and len(trend) == 12
    assert trend[-2]["completed"] == 1 and trend[-1]["completed"] == 3
    # lights as of publication: the November case is red in the market department
    lights = {li["name"]: li for li in published["lights"]}
    assert lights["市场监督管理局"]["red"] == 1
    text = json.dumps(body, ensure_ascii=False)
    assert not [p for p in PERSONAL if p in text]


def test_a_supervisor_publishes_through_graphql_and_a_second_time_changes_nothing(city: Engine) -> None:
    create_accounts(city)
    client = GraphQLClient(city)
    mutation = """mutation($c: ID!, $f: Date!, $t: Date!) { publishReport(centerId: $c, periodFrom: $f, periodTo: $t)
                  { created notices report { id title pdfUrl } } }"""
    variables = {"c": str(center_id(city)), "f": "2026-10-01", "t": "2026-10-31"}
    assert client.as_public().error_codes(mutation, variables) == ["UNAUTHENTICATED"]
    client.login("scj-leader")
    assert client.error_codes(mutation, variables) == ["FORBIDDEN"]
    client.login("supervisor")
    first = client.data(mutation, variables)["publishReport"]
    assert first["created"] and first["notices"] > 0
    before = counts(city)
    again = client.data(mutation, variables)["publishReport"]
    # the same report; its link is signed afresh, with its own expiry (ten minutes from each answer)
    link = lambda answer: answer["report"]["pdfUrl"].split("?")[0]  # noqa: E731
    assert link(again) == link(first)
    assert {**again, "report": {**again["report"], "pdfUrl": None}} == \
        {**first, "created": False, "notices": 0, "report": {**first["report"], "pdfUrl": None}}
    assert counts(city) == before
    # the supervisor's link downloads the leaders' PDF
    url = first["report"]["pdfUrl"]
    response = client.http.get(url[url.index("/reports/"):])
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert "市行政服务中心2026年10月效能报告" in pdf_text(response.content)
    forged = url[url.index("/reports/"):].rsplit("sig=", 1)[0] + "sig=" + "0" * 24
    assert client.http.get(forged).status_code == 403


# ----------------------------------------------------------------------------- PDF

def test_the_pdf_carries_its_chinese_font_so_it_reads_the_same_on_any_device(city: Engine) -> None:
    """The machine's TrueType CJK font is embedded (a subset, as a FontFile2 stream), not merely
    named: a reader without Chinese fonts still shows the report. (.ci/run installs Debian's
    fonts-wqy-microhei; without such a font this fails, as a PDF whose text may not show would.)"""
    assert report_pdf.FONT == report_pdf.EMBEDDED_FONT, \
        f"no TrueType CJK font on this machine: install fonts-wqy-microhei (one of {report_pdf.SYSTEM_FONTS})"
    reader = pypdf.PdfReader(io.BytesIO(report_pdf.leaders_pdf(publish(city).report.snapshot)))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described.get("/FontDescriptor")
            fonts[str(font["/BaseFont"])] = descriptor is not None and "/FontFile2" in descriptor.get_object()
    cjk = {name: embedded for name, embedded in fonts.items() if "WenQuanYi" in name or "ESV-CJK" in name}
    assert cjk and all(cjk.values()), fonts


def test_a_configured_pdf_font_that_is_not_a_font_stops_the_start_with_the_reason(tmp_path, monkeypatch) -> None:
    from esupervision import settings

    bogus = tmp_path / "song.ttf"
    bogus.write_text("not a font")
    monkeypatch.setenv("ESV_PDF_FONT", str(bogus))
    settings.get_settings.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="ESV_PDF_FONT=.*song.ttf"):
            report_pdf._register_font()
    finally:
        monkeypatch.delenv("ESV_PDF_FONT")
        settings.get_settings.cache_clear()


def test_the_leaders_pdf_has_the_chinese_title_the_departments_and_the_window_copies_their_own(city: Engine) -> None:
    report_row = publish(city).report
    text = pdf_text(report_pdf.leaders_pdf(report_row.snapshot))
    assert "市行政服务中心2026年10月效能报告" in text
    for name in ("市场监督管理局", "住房和城乡建设局", "1号窗口", "2号窗口", "按时办结率", "效能责任追究处理情况"):
        assert name in text, name
    assert len(pypdf.PdfReader(io.BytesIO(report_pdf.leaders_pdf(report_row.snapshot))).pages) >= 4
    # rendered from the snapshot alone: the same bytes every time
    assert report_pdf.leaders_pdf(report_row.snapshot) == report_pdf.leaders_pdf(report_row.snapshot)
    with Session(city) as s:
        w02 = s.scalars(select(Window).where(Window.code == "W02")).one()
    window_text = pdf_text(report_pdf.window_pdf(report_row.snapshot, str(w02.id)))
    assert "2号窗口" in window_text and "住房和城乡建设局" in window_text and "全中心" in window_text
    assert "1号窗口" not in window_text
    # the window's signed link opens its copy, and only with its own signature
    client = GraphQLClient(city)
    path = pdf_path(get_settings().jwt_secret, report_row.id, w02.id, expires=int(time.time()) + 60)
    response = client.http.get(path)
    assert response.status_code == 200 and "2号窗口" in pdf_text(response.content)
    assert client.http.get(path.replace(f"window={w02.id}&", "")).status_code == 403


def test_report_pdf_links_expire(city: Engine) -> None:
    """A PDF link opens the report without a login until it expires: the SMS's for
    ``report_link_days``, the console's ``pdfUrl`` for ten minutes; an expired link, or one whose
    expiry was moved, opens nothing."""
    done = publish(city)
    with Session(city) as s:
        sms_link = s.scalars(select(Notice).where(Notice.subject_id == done.report.id)).first().params["link"]
    expires = int(sms_link.split("exp=")[1].split("&")[0])
    assert abs(expires - (time.time() + get_settings().report_link_days * 86400)) < 120
    client = GraphQLClient(city)
    path = sms_link[sms_link.index("/reports/"):]
    assert client.http.get(path).status_code == 200
    moved = path.replace(f"exp={expires}", f"exp={expires + 86400 * 365}")
    assert client.http.get(moved).status_code == 403                           # the expiry is signed
    assert client.http.get(path.split("exp=")[0] + "sig=" + path.split("sig=")[1]).status_code == 403   # no expiry
    expired = pdf_path(get_settings().jwt_secret, done.report.id, expires=int(time.time()) - 1)
    answer = client.http.get(expired)
    assert answer.status_code == 403 and "链接已过期" in answer.text
    create_accounts(city)
    client.login("supervisor")
    [published] = client.data(PUBLISHED_QUERY, {})["publishedReports"]
    console_expiry = int(published["pdfUrl"].split("exp=")[1].split("&")[0])
    assert 0 < console_expiry - time.time() <= 600


# ----------------------------------------------------------------------------- notices, ledger

def test_leaders_and_window_units_are_told_in_the_publication_transaction(city: Engine) -> None:
    done = publish(city)
    with Session(city) as s:
        event = s.scalars(select(LedgerEvent).where(LedgerEvent.kind == "report.published")).one()
        notices = s.scalars(select(Notice).where(Notice.subject_id == done.report.id)).all()
    assert event.subject_id == done.report.id and event.data["period_from"] == "2026-10-01"
    assert {n.recipient for n in notices} == {"+8613800138101", "+8613800138102", "+8613800138103",
                                              "+8613800138104", "+8613800138105"}
    assert {n.template for n in notices} == {"report_published"}
    assert all(n.ledger_event_id == event.id and n.status == "queued" for n in notices)
    by_phone = {n.recipient: n.params for n in notices}
    assert by_phone["+8613800138101"]["subject"] == "市行政服务中心"
    assert by_phone["+8613800138105"]["subject"] == "2号窗口"
    assert "window=" in by_phone["+8613800138105"]["link"] and "window=" not in by_phone["+8613800138101"]["link"]
    assert by_phone["+8613800138101"]["period"] == "2026年10月"
    assert done.notices == len(notices) == 5


def test_what_was_published_stays_and_replay_rebuilds_it(city: Engine) -> None:
    done = publish(city)
    published = done.report.snapshot
    # a late report of an October case changes the statistics, not the published report
    report(city, event("O5", CaseAction.ACCEPT, at(date(2026, 10, 26)), center_code="C01", item_code="SCJ-001",
                       window_code="W01", applicant_name="王强"),
           event("O5", CaseAction.COMPLETE, at(date(2026, 10, 27)), attributes={"result": "approved"}))
    with Session(city) as s:
        assert s.get(PublishedReport, done.report.id).snapshot == published
        before = snapshot(s)
        replay(s)
        s.commit()
    with Session(city) as s:
        assert snapshot(s) == before
        assert s.get(PublishedReport, done.report.id).snapshot == published


# ----------------------------------------------------------------------------- refusals, monthly job

@pytest.mark.parametrize("period", [(date(2026, 10, 31), date(2026, 10, 1)),     # ends before it starts
                                    (date(2026, 11, 1), date(2026, 11, 30)),     # has not ended
                                    (date(1, 1, 1), date(1, 1, 31))])            # before any record
def test_a_bad_period_is_refused_and_nothing_changes(city: Engine, period: tuple[date, date]) -> None:
    before = counts(city)
    with pytest.raises(DomainError) as refused:
        publish(city, period)
    assert refused.value.code is ErrorCode.REPORT_PERIOD_INVALID
    assert counts(city) == before
    create_accounts(city)
    client = GraphQLClient(city)
    client.login("supervisor")
    codes = client.error_codes("""mutation($c: ID!, $f: Date!, $t: Date!) {
        publishReport(centerId: $c, periodFrom: $f, periodTo: $t) { created } }""",
                               {"c": str(center_id(city)), "f": period[0].isoformat(), "t": period[1].isoformat()})
    assert codes == ["REPORT_PERIOD_INVALID"]
    assert counts(city) == before


def test_the_monthly_job_publishes_last_month_once_per_center(city: Engine, fixed_time) -> None:  # noqa: ANN001
    fixed_time.set(datetime(2026, 11, 1, 2, tzinfo=SH))
    first = publish_monthly(city)
    assert {(r.center_code, r.created) for r in first} == {("C01", True), ("C01-X1", True)}
    before = counts(city)
    again = publish_monthly(city)
    assert {(r.center_code, r.created, r.notices) for r in again} == {("C01", False, 0), ("C01-X1", False, 0)}
    assert counts(city) == before
    with Session(city) as s:
        periods = {(r.period_from, r.period_to) for r in s.scalars(select(PublishedReport))}
    assert periods == {OCTOBER}


def test_periods() -> None:
    assert previous_month(date(2026, 1, 15)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert previous_month(date(2026, 3, 1)) == (date(2026, 2, 1), date(2026, 2, 28))
    months = trend_months(date(2026, 10, 20))
    assert months[0] == (date(2025, 11, 1), date(2025, 11, 30)) and months[-1] == (date(2026, 10, 1), date(2026, 10, 20))


# ----------------------------------------------------------------------------- accountability

def test_the_handling_of_accountability_is_published_with_names_only_where_the_rule_says(
        city: Engine, fixed_time) -> None:  # noqa: ANN001
    from esupervision.models.supervision.accountability import (AccountabilitySuggestion, RuleSpec, SuggestionDecision,
                                                                create_rule, decide_suggestion, record_fault)
    from esupervision.models.catalogue.catalogue import Staff

    center = center_id(city)
    with Session(city) as s:
        zhang = s.scalars(select(Staff).where(Staff.code == "S01")).one()
        zjj = s.scalars(select(Department).where(Department.code == "ZJJ")).one()
    fixed_time.set(datetime(2026, 10, 20, 10, tzinfo=SH))
    with transaction(city, actor="supervisor:test") as tx:
        create_rule(tx, RuleSpec(name="工作人员月度一次：诫勉谈话", fault_kinds=["service_attitude"],
                                 subject_level="staff", threshold=1, period="month",
                                 sanction="admonishing_talk", show_names=True, center_id=center))
        create_rule(tx, RuleSpec(name="部门月度一次：责令整改", fault_kinds=["absent_from_post"],
                                 subject_level="department", threshold=1, period="month",
                                 sanction="rectification", show_names=False, center_id=center))
        record_fault(tx, kind="service_attitude", description="冷硬横推", staff_id=zhang.id)
        record_fault(tx, kind="absent_from_post", description="窗口无人", department_id=zjj.id)
    with transaction(city, actor="supervisor:test") as tx:
        suggestions = {s.sanction: s.id for s in tx.session.scalars(select(AccountabilitySuggestion))}
        decide_suggestion(tx, suggestion_id=suggestions["admonishing_talk"], decision=SuggestionDecision.CONFIRM)
        decide_suggestion(tx, suggestion_id=suggestions["rectification"], decision=SuggestionDecision.DISMISS,
                          reason="经核实系公务外出")
    fixed_time.set(datetime(2026, 11, 26, 9, tzinfo=SH))
    done = publish(city)
    body = GraphQLClient(city).as_public()(PUBLISHED_QUERY, {"center": str(center)})
    handling = body["data"]["publishedReports"][0]["accountability"]
    assert (handling["total"], handling["confirmed"], handling["dismissed"], handling["pending"]) == (2, 1, 1, 0)
    assert {k["label"]: k["total"] for k in handling["bySanction"]} == {"诫勉谈话": 1, "责令整改": 1}
    assert {k["label"] for k in handling["byDepartment"]} == {"市场监督管理局", "住房和城乡建设局"}
    assert "张敏" not in json.dumps(body, ensure_ascii=False)
    leaders = pdf_text(report_pdf.leaders_pdf(done.report.snapshot))
    assert "诫勉谈话" in leaders and "张敏" in leaders     # the confirmed rule shows names
    assert "不予追究" in leaders
    w01 = next(w["id"] for w in done.report.snapshot["windows"] if w["name"] == "1号窗口")
    assert "张敏" not in pdf_text(report_pdf.window_pdf(done.report.snapshot, w01))


def test_esv_reports_publish(city: Engine, monkeypatch) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from esupervision import cli
    monkeypatch.setattr(cli, "_engine", lambda: city)
    args = ["reports", "publish", "--center", "C01", "--from", "2026-10-01", "--to", "2026-10-31"]
    first = CliRunner().invoke(cli.main, args)
    assert first.exit_code == 0 and "已发布" in first.output, first.output
    again = CliRunner().invoke(cli.main, args)
    assert again.exit_code == 0 and "已存在" in again.output
    refused = CliRunner().invoke(cli.main, ["reports", "publish", "--center", "C01", "--from", "2026-10-31",
                                            "--to", "2026-10-01"])
    assert refused.exit_code == 2 and "REPORT_PERIOD_INVALID" in refused.output


def test_report_links_name_the_address_esv_serve_serves_on(monkeypatch):
    """A pdfUrl or an SMS link must open: ``esv serve --port 8765`` hands out links to port 8765,
    unless ESV_PUBLIC_URL names the address in front of it (a proxy, a domain)."""
    from esupervision import cli, settings

    monkeypatch.delenv("ESV_PUBLIC_URL", raising=False)
    settings.get_settings.cache_clear()
    try:
        cli._public_url_of("0.0.0.0", 8765)
        assert settings.get_settings().public_url == "http://127.0.0.1:8765"
        monkeypatch.setenv("ESV_PUBLIC_URL", "https://zwfw.example.gov.cn")
        settings.get_settings.cache_clear()
        cli._public_url_of("127.0.0.1", 8000)
        assert settings.get_settings().public_url == "https://zwfw.example.gov.cn"
    finally:
        monkeypatch.delenv("ESV_PUBLIC_URL", raising=False)
        settings.get_settings.cache_clear()


def test_a_department_without_cases_is_listed_as_no_cases_and_not_ranked(city: Engine) -> None:
    """A department with no case in the period has nothing to compare: it is listed as 无办件 with no
    rate and no rank, after the ranked ones, and it is not a 0 % bar in the ranking chart."""
    from esupervision.models.catalogue.catalogue import create_department

    with transaction(city, actor="supervisor:test") as tx:
        center = tx.session.get(Center, center_id(city))
        create_department(tx, center=center, code="GAJ", name="公安局")
    report_row = publish(city).report
    rows = {d["name"]: d for d in report_row.snapshot["departments"]}
    assert rows["公安局"]["no_cases"] and rows["公安局"]["rank"] is None
    assert rows["公安局"]["rank_label"] == "无办件" and rows["公安局"]["on_time_rate"] is None
    assert sorted(d["rank"] for d in rows.values() if d["rank"]) == [1, 2]
    assert report_row.snapshot["departments"][-1]["name"] == "公安局"
    text = pdf_text(report_pdf.leaders_pdf(report_row.snapshot))
    assert "无办件" in text and "公安局" in text
    public = GraphQLClient(city).as_public()(
        PUBLISHED_QUERY, {"center": str(center_id(city)), "from": "2026-10-01", "to": "2026-10-31"})
    listed = {d["name"]: d for d in public["data"]["publishedReports"][0]["departments"]}
    assert listed["公安局"]["rank"] is None and listed["公安局"]["onTimeRate"] is None
