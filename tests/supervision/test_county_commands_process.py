"""Supervision across deployments with a real county deployment (issue 17, item 5): the county is
built with ``esv demo --county`` in its own PostgreSQL database, issues the city its service key
(``esv counties city-key``) and runs as ``esv serve`` (its embedded worker signs its heads and
sends its notices through the SMS provider mocks); the city (its own database, in this process)
replicates it over HTTP, keeps the key with ``esv counties credential``, and a city supervisor
urges a county case through ``superviseCountyCase``. The urge reaches the county's staff by SMS,
and comes back to the city through the replicated, verified ledger.
"""
from __future__ import annotations

import base64
import os
import secrets
import subprocess
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from esupervision.db import make_engine
from esupervision.migrate import table_metadata
from esupervision.models.access.city_key import issue_city_key
from esupervision.models.cases.case import FINAL, Case
from esupervision.models.clocks import timesource
from esupervision.models.ledger.checkpoint import Signer
from esupervision.models.counties.link import CountyChain
from esupervision.models.ledger.transaction import transaction
from esupervision.notify.mocks.aliyun import AliyunMock, registered_templates
from esupervision.notify.mocks.twilio import TwilioMock
from esupervision.settings import get_settings
from esupervision.workers.county_commands import SOURCE_MARK, CountyCommandRelay
from esupervision.workers.replication import sync_counties
from tests.builders import build_city
from tests.conftest import _database
from tests.gql import GraphQLClient, create_accounts
from tests.notify.test_notify_support import wait_for
from tests.servers import esv, serving

CODE = "QH-DP"
TOKEN = "county-replication-token-" + "x" * 16


def run(database_url: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run([esv(), *args], env={**os.environ, "DATABASE_URL": database_url, **env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_an_urge_from_the_city_reaches_the_county_staffs_phone_and_returns_through_the_ledger(tmp_path: Path) -> None:
    seed = base64.b64encode(secrets.token_bytes(32)).decode()   # the county's own signing key
    with TwilioMock() as twilio, AliyunMock() as aliyun, \
            _database("postgresql", tmp_path / "county") as county_url, \
            _database("postgresql", tmp_path / "city") as city_url:
        sms, tts = registered_templates()
        county_env = {
            "ESV_LEDGER_SIGNING_KEY": seed, "ESV_REPLICATION_TOKEN": TOKEN, "ESV_LEDGER_WITNESS": str(tmp_path / "w"),
            "ESV_TWILIO_ACCOUNT_SID": twilio.account_sid, "ESV_TWILIO_AUTH_TOKEN": twilio.auth_token,
            "ESV_TWILIO_FROM": "+15005550006", "ESV_TWILIO_BASE_URL": twilio.url,
            "ESV_ALIYUN_ACCESS_KEY_ID": aliyun.access_key_id, "ESV_ALIYUN_ACCESS_KEY_SECRET": aliyun.secret,
            "ESV_ALIYUN_ENDPOINT": f"127.0.0.1:{aliyun.port}", "ESV_ALIYUN_SMS_TEMPLATES": _json(sms),
            "ESV_ALIYUN_TTS_TEMPLATES": _json(tts), "ESV_ALIYUN_CALLED_SHOW_NUMBER": "057100000000",
            "ESV_NOTICE_HOURS": "{}",   # any hour: the test runs at any time of day
            "ESV_WEB_BUILD": "false",   # the API alone: no pages to build
        }
        run(county_url, "demo", "--county", CODE, "--cases", "30", env=county_env)
        # What `esv counties city-key` and `esv ledger public-key` give at the county, made here
        # (each command is a few seconds of imports).
        county_engine = make_engine(county_url)
        with Session(county_engine) as s:
            _, city_key = issue_city_key(s, center_code=CODE, name="市级监察", now=timesource.now())
            s.commit()
        county_engine.dispose()
        public_key = Signer.from_seed(get_settings().ledger_log_name, seed).verifier().text()

        with serving(county_url, tmp_path, env=county_env) as county:
            city_engine = make_engine(city_url)
            try:
                table_metadata().create_all(city_engine)
                build_city(city_engine)
                create_accounts(city_engine)
                from esupervision.models.counties.sync import register
                from esupervision.models.supervision.county_commands import set_credential
                with transaction(city_engine, actor="test") as tx:
                    register(tx, code=CODE, url=county.url, public_key=public_key, token=TOKEN)
                # The county signs its heads on its own every few seconds: pull until its cases are here.
                wait_for(lambda: _pulled(city_engine) and _running_case(city_engine), timeout=60, interval=0.5)
                with transaction(city_engine, actor="test") as tx:
                    set_credential(tx.session, county_code=CODE, key=city_key,
                                   settings=tx.settings, now=tx.now)

                city = GraphQLClient(city_engine)
                city.login("supervisor")
                number = _running_case(city_engine)
                queued = city.data("""mutation($n: String!) { superviseCountyCase(input: {caseNumber: $n,
                    message: "请说明超期原因并尽快办结"}) { status outcome countyCode } }""", {"n": number})
                assert queued["superviseCountyCase"]["status"] == "QUEUED"

                relay = CountyCommandRelay(city_engine)
                relay.run_once()
                [node] = _commands(city)
                assert node["status"] == "DELIVERED", node
                # The county's staff are told by SMS, by the county's own outbox and provider.
                texts = wait_for(lambda: [m for m in _sms(twilio, aliyun) if "请说明超期原因" in m], timeout=60)
                assert any(SOURCE_MARK.rstrip("：") in t for t in texts), texts

                # The urge's event comes back through the replicated, verified ledger.
                def confirmed() -> bool:
                    sync_counties(city_engine, CODE)
                    relay.run_once()
                    return _commands(city)[0]["status"] == "CONFIRMED"
                wait_for(confirmed, timeout=60, interval=0.5)
            finally:
                city_engine.dispose()


def _json(value: object) -> str:
    import json
    return json.dumps(value)


def _pulled(engine) -> bool:  # noqa: ANN001
    results = sync_counties(engine, CODE)
    with Session(engine) as s:
        return bool(results) and results[0].status == "live" and (s.scalar(select(CountyChain.size)) or 0) > 0


def _running_case(engine) -> str | None:  # noqa: ANN001
    with Session(engine) as s:
        chains = list(s.scalars(select(CountyChain.center_id)))
        return s.scalar(select(Case.number).where(Case.center_id.in_(chains), Case.status.not_in(list(FINAL)),
                                                  Case.window_id.is_not(None)).order_by(Case.number).limit(1))


def _commands(city: GraphQLClient) -> list[dict]:
    return [e["node"] for e in city.data("{ countyCommands { edges { node { status countyNumber lastError "
                                         "{ code message } } } } }")["countyCommands"]["edges"]]


def _sms(twilio: TwilioMock, aliyun: AliyunMock) -> list[str]:
    return [m.body for m in twilio.messages()] + [f"{a.content} {a.params}" for a in aliyun.sms()]
