"""A city and two county deployments as real processes on one machine (issue 17, "done when"):
each its own PostgreSQL database, signing key, ``esv serve --no-worker`` and ``esv worker``; the
counties built with ``esv demo --county``, registered at the city with ``esv counties add``.

What users rely on: cases reported to each county's API reach the city, whose statistics per
county center are the county's own; a county killed mid-replication and restarted loses and
duplicates nothing (counted by seq); a county whose ledger tail is cut and re-signed becomes
DIVERGED at the city with the first differing seq, its copy kept and the supervisors told.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, text, update
from sqlmodel import Session

from esupervision.db import make_engine
from esupervision.models.access.account import create_account
from esupervision.models.access.scope import Role
from esupervision.models.catalogue.catalogue import Center, CenterLevel, create_center, create_staff
from esupervision.models.counties.link import CountyChain
from esupervision.models.ledger.checkpoint import Signer
from esupervision.models.ledger.ledger import LedgerEvent, LedgerHead, LedgerTreeHead, LedgerTreeNode
from esupervision.models.ledger.transaction import transaction
from esupervision.models.ledger.tree import sign_heads
from esupervision.models.notices.notice import Notice
from esupervision.models.tenders.tender import Tender
from tests.conftest import _database
from tests.servers import esv, free_port

pytestmark = pytest.mark.slow
# Deadlines, not measurements: on a loaded two-core machine a cold `esv serve` takes a minute.
WAIT_S = 180
STATISTICS = ("{ statistics(from: \"2026-01-01\", to: \"2027-12-31\", groupBy: CENTER) "
              "{ rows { keyCode received accepted completed } } }")
COUNTIES = "{ counties { code status lastSequence lagSeconds firstDivergedSequence } }"


def _seed() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@dataclass
class Deployment:
    """One deployment: its database, its environment, its serve and worker processes."""

    name: str
    database_url: str
    folder: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    split: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, *args: str) -> str:
        done = subprocess.run([esv(), *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"esv {' '.join(args)}: {done.stderr[-3000:]}"
        return done.stdout

    def start(self) -> None:
        self.launch()
        self.wait()

    def launch(self) -> None:
        # One county runs `esv serve --no-worker` beside `esv worker`, as production does; the others
        # `esv serve` with its embedded worker (fewer processes on a two-core machine).
        commands = ([["serve", "--no-worker", "--port", str(self.port)], ["worker", "--processes", "0"]]
                    if self.split else [["serve", "--port", str(self.port)]])
        for command in commands:
            log = (self.folder / f"{self.name}-{command[0]}.log").open("ab")
            self.processes.append(subprocess.Popen([esv(), *command], env=self.env, stdout=log,
                                                   stderr=subprocess.STDOUT))

    def wait(self) -> None:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert all(p.poll() is None for p in self.processes), (self.folder / f"{self.name}-serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, f"{self.name} did not start"
            time.sleep(0.2)

    def kill(self) -> None:
        """As a power cut does: no chance to finish anything."""
        for process in self.processes:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        self.processes.clear()

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
                api_key: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {"Authorization": f"ApiKey {api_key}"}
        body = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                          headers=headers, timeout=30).json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def supervisor(self) -> str:
        if "supervisor" not in self.tokens:
            self.tokens["supervisor"] = httpx.post(f"{self.url}/graphql", json={
                "query": "mutation { login(username: \"supervisor\", password: \"demo\") { accessToken } }"},
                timeout=30).json()["data"]["login"]["accessToken"]
        return self.tokens["supervisor"]


def _environment(database_url: str, folder: Path, name: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "ESV_LEDGER_SIGNING_KEY": _seed(),
            "ESV_LEDGER_WITNESS": str(folder / f"{name}-witness"), "ESV_LEDGER_HEAD_INTERVAL_S": "0.5",
            "ESV_WEB_BUILD": "false", "ESV_BROKER": "inprocess", **extra}


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Deployment]]:
    folder = tmp_path_factory.mktemp("region")
    with ExitStack() as stack:
        urls = [stack.enter_context(_database("postgresql", folder)) for _ in range(3)]
        city = Deployment("city", urls[0], folder, _environment(urls[0], folder, "city",
                                                                ESV_COUNTY_PULL_INTERVAL_S="0.3"))
        counties = {code: Deployment(code, url, folder, _environment(url, folder, code,
                                                                     ESV_REPLICATION_TOKEN=f"token-{code}"),
                                     split=code == "QH-DP")
                    for code, url in zip(("QH-DP", "QH-FS"), urls[1:])}
        deployments = {"city": city, **counties}
        try:
            # The counties' demos and the city's schema, side by side.
            builds = {code: subprocess.Popen([esv(), "demo", "--county", code, "--cases", "10"], env=d.env,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                      for code, d in counties.items()}
            city.run("db", "upgrade")
            _build_city(city.database_url)
            for code, build in builds.items():
                out, err = build.communicate(timeout=180)
                assert build.returncode == 0, err[-3000:]
                counties[code].tokens["api_key"] = json.loads(out.strip().splitlines()[-1])["api_key"]
            for d in deployments.values():   # started side by side: each takes seconds to import and warm up
                d.launch()
            for d in deployments.values():
                d.wait()
            for code, d in counties.items():
                key = folder / f"{code}.pub"
                d.run("ledger", "public-key", "-o", str(key))
                city.run("counties", "add", code, d.url, "--public-key", str(key), "--token", f"token-{code}")
            yield deployments
        finally:
            for d in deployments.values():
                d.kill()   # nothing to finish: the databases are dropped next


def _build_city(database_url: str) -> None:
    """The city's own center and its supervision office, whose supervisor has a phone."""
    engine = make_engine(database_url)
    with transaction(engine, actor="test") as tx:
        city = create_center(tx, code="QH", name="清河市行政服务中心", level=CenterLevel.CITY)
        staff = create_staff(tx, center=city, code="JC01", name="李监察", phone="13900000001")
        tx.session.flush()
        create_account(tx.session, username="supervisor", password="demo", role=Role.SUPERVISOR,
                       display_name="市监察室", now=tx.now, staff_id=staff.id)
    engine.dispose()


def report(county: Deployment, first: int, count: int) -> None:
    """Cases accepted at the county's market window, through its API with its department key."""
    at = datetime.now(timezone.utc) - timedelta(hours=1)
    events = [{"sourceEventId": f"t-{county.name}-{n}", "caseNumber": f"{county.name}-T{n:04d}", "action": "ACCEPT",
               "occurredAt": at.isoformat(), "itemCode": "SCJ-001", "centerCode": county.name, "windowCode": "W01",
               "staffCode": "S01", "applicantName": "李华"} for n in range(first, first + count)]
    results = county.graphql("mutation($e: [ReportedEventInput!]!) { reportCaseEvents(events: $e) { status code } }",
                             {"e": events}, api_key=county.tokens["api_key"])["reportCaseEvents"]
    assert {r["status"] for r in results} == {"accepted"}, results


def chain_length(county: Deployment) -> int:
    engine = make_engine(county.database_url)
    with Session(engine) as session:
        length = session.scalar(select(func.coalesce(func.sum(LedgerHead.seq), 0)))
    engine.dispose()
    return int(length or 0)


def county_at_city(city: Deployment, code: str) -> dict[str, Any]:
    return next(c for c in city.graphql(COUNTIES, token=city.supervisor())["counties"] if c["code"] == code)


def wait_for(what: str, check: Any) -> Any:
    deadline = time.monotonic() + WAIT_S
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"waited {WAIT_S}s for {what}"
        time.sleep(0.3)


def caught_up(city: Deployment, county: Deployment) -> bool:
    """The city holds the county's whole signed log (its chains are signed within a second)."""
    return county_at_city(city, county.name)["lastSequence"] == chain_length(county)


def copy_by_seq(city: Deployment, code: str) -> tuple[int, int, int]:
    """(rows, distinct (center, seq), the sum of each chain's highest seq) of the city's copy."""
    engine = make_engine(city.database_url)
    with Session(engine) as session:
        centers = select(CountyChain.center_id).where(CountyChain.code.like(f"{code}%"))
        rows, distinct = session.execute(select(func.count(), func.count(func.distinct(
            func.concat(LedgerEvent.center_id, ":", LedgerEvent.seq)))).where(LedgerEvent.center_id.in_(centers))).one()
        top = session.scalar(select(func.sum(text("m"))).select_from(
            select(func.max(LedgerEvent.seq).label("m")).where(LedgerEvent.center_id.in_(centers))
            .group_by(LedgerEvent.center_id).subquery()))
    engine.dispose()
    return rows, distinct, int(top or 0)


def test_cases_reported_to_each_county_reach_the_city_with_the_same_statistics(region):
    city = region["city"]
    for county in (region["QH-DP"], region["QH-FS"]):
        report(county, 1, 10)
    for county in (region["QH-DP"], region["QH-FS"]):
        wait_for(f"{county.name} at the city", lambda county=county: caught_up(city, county))
        assert county_at_city(city, county.name)["status"] == "LIVE"
    at_city = {r["keyCode"]: r for r in city.graphql(STATISTICS, token=city.supervisor())["statistics"]["rows"]}
    for county in (region["QH-DP"], region["QH-FS"]):
        own = {r["keyCode"]: r for r in county.graphql(STATISTICS, token=county.supervisor())["statistics"]["rows"]}
        assert at_city[county.name] == own[county.name] and own[county.name]["accepted"] >= 10
        # The county demo's tenders (its trading center CODE-ZB) are at the city too.
        assert tenders_of(city, county.name) == tenders_of(county, county.name) > 0


def tenders_of(deployment: Deployment, code: str) -> int:
    engine = make_engine(deployment.database_url)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(Tender).join(Center, Center.id == Tender.center_id)
                               .where(Center.code.like(f"{code}%")))
    engine.dispose()
    return int(count or 0)


def test_a_county_killed_mid_replication_loses_and_duplicates_nothing(region):
    city, county = region["city"], region["QH-DP"]
    report(county, 100, 40)
    county.kill()   # the city may be halfway through its pages
    wait_for("the county seen down", lambda: county_at_city(city, county.name)["status"] == "STALE")
    county.start()
    report(county, 200, 10)
    wait_for("the city caught up", lambda: caught_up(city, county))
    rows, distinct, top = copy_by_seq(city, county.name)
    assert rows == distinct == top == chain_length(county)
    assert county_at_city(city, county.name)["status"] == "LIVE"


def test_a_county_whose_ledger_tail_is_cut_and_re_signed_is_diverged_at_the_city(region):
    city, county = region["city"], region["QH-FS"]
    wait_for("the city caught up", lambda: caught_up(city, county))
    engine = make_engine(county.database_url)
    with Session(engine) as session:
        center_id = session.scalar(select(Center.id).where(Center.code == county.name))
        length = session.scalar(select(LedgerHead.seq).where(LedgerHead.center_id == center_id))
        cut = length - 4
        # What the county's database administrator could do: drop the tail, fix the head, re-sign.
        session.execute(delete(LedgerEvent).where(LedgerEvent.center_id == center_id, LedgerEvent.seq > cut))
        last = session.scalar(select(LedgerEvent.hash).where(LedgerEvent.center_id == center_id,
                                                              LedgerEvent.seq == cut))
        session.execute(update(LedgerHead).where(LedgerHead.center_id == center_id)
                        .values(seq=cut, hash=last, frontier=""))
        session.execute(delete(LedgerTreeNode).where(LedgerTreeNode.center_id == center_id))
        session.execute(delete(LedgerTreeHead).where(LedgerTreeHead.center_id == center_id))
        sign_heads(session, Signer.from_seed("esupervision", county.env["ESV_LEDGER_SIGNING_KEY"]),
                   now=datetime.now(timezone.utc))
        session.commit()
    engine.dispose()
    diverged = wait_for("DIVERGED", lambda: (c := county_at_city(city, county.name))["status"] == "DIVERGED" and c)
    assert diverged["firstDivergedSequence"] == cut + 1
    # The verified copy is kept; what the county writes now is not projected.
    kept = copy_by_seq(city, county.name)
    report(county, 300, 3)
    pulled = subprocess.run([esv(), "counties", "sync", county.name], env=city.env, capture_output=True, text=True,
                            timeout=60)
    assert json.loads(pulled.stdout.strip().splitlines()[-1])["status"] == "diverged" and pulled.returncode == 3
    assert copy_by_seq(city, county.name) == kept
    city_engine = make_engine(city.database_url)
    with Session(city_engine) as session:
        alerts = list(session.scalars(select(Notice).where(Notice.template == "ledger_breach")))
    city_engine.dispose()
    assert len(alerts) == 1 and f"第{cut + 1}条" in alerts[0].params["first"]
