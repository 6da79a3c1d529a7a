"""Production never runs on the demo's published secrets: ``esv serve`` and ``esv worker`` started
with ESV_ENVIRONMENT=production refuse (exit 2, naming each setting in Chinese and English) while
the JWT secret, the ledger key, a demo login's password or the demo API key is the one the README
publishes, or a secret is missing; ``esv demo`` and ``esv serve --demo`` refuse outright;
``esv keys generate`` prints secrets that production accepts. The real ``esv`` processes run
here, on SQLite and PostgreSQL."""
from __future__ import annotations

import base64
import os
import subprocess
from datetime import datetime, timedelta, timezone

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlmodel import Session

from esupervision.db import make_engine
from esupervision.demo_accounts import DEMO_API_KEY, create_demo_accounts
from esupervision.migrate import upgrade
from esupervision.models.access.account import Account, hash_password
from esupervision.models.access.apikey import ApiKey
from esupervision.models.clocks import timesource
from esupervision.settings import DEMO_JWT_SECRET, DEMO_SIGNING_KEY, Settings, secret_problems
from tests.builders import build_city
from tests.servers import esv, serving

pytestmark = pytest.mark.slow
TIMEOUT_S = 120


def generated(printed: list[str] | None = None) -> dict[str, str]:
    """The env lines ``esv keys generate`` prints (the whole text appended to ``printed``)."""
    out = subprocess.run([esv(), "keys", "generate"], check=True, capture_output=True, text=True,
                         timeout=TIMEOUT_S).stdout
    if printed is not None:
        printed.append(out)
    return dict(line.split("=", 1) for line in out.splitlines() if line and not line.startswith("#"))


def run(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": database_url, "ESV_ENVIRONMENT": "production", **env}
    return subprocess.run([esv(), *args], env=environment, capture_output=True, text=True, timeout=TIMEOUT_S)


def demo_city(database_url: str) -> None:
    """A database with the demo's logins and its department system's fixed key."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        build_city(engine)
        create_demo_accounts(engine)
    finally:
        engine.dispose()


def test_keys_generate_prints_fresh_secrets_that_production_accepts():
    printed: list[str] = []
    first, second = generated(printed), generated()
    assert set(first) == {"ESV_JWT_SECRET", "ESV_LEDGER_SIGNING_KEY", "ESV_ALIYUN_REPORT_TOKEN", "ESV_METRICS_TOKEN",
                          "ESV_CTI_TOKEN"}
    assert all(first[k] != second[k] for k in first)                       # fresh every time
    seed = base64.b64decode(first["ESV_LEDGER_SIGNING_KEY"], validate=True)
    assert len(seed) == 32
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert base64.b64encode(public).decode() in printed[0]                  # the public key, to publish
    settings = Settings(environment="production", **{k.removeprefix("ESV_").lower(): v for k, v in first.items()})
    assert secret_problems(settings) == []


def test_production_refuses_the_published_secrets_naming_each_setting(empty_db_url):
    refused = run(empty_db_url, "serve", "--port", "1", ESV_JWT_SECRET=DEMO_JWT_SECRET)
    assert refused.returncode == 2, refused.stderr
    assert "ESV_JWT_SECRET: 仍是演示用的公开密钥" in refused.stderr and "published demo secret" in refused.stderr
    assert "ESV_LEDGER_SIGNING_KEY: 仍是演示用的公开密钥" in refused.stderr
    assert "esv keys generate" in refused.stderr
    # a missing (empty) secret and a key that is no Ed25519 seed are refused too, by name
    keys = generated()
    missing = run(empty_db_url, "serve", "--port", "1", ESV_JWT_SECRET="", ESV_LEDGER_SIGNING_KEY="bm90LWEta2V5")
    assert missing.returncode == 2
    assert "ESV_JWT_SECRET: 未设置访问令牌密钥" in missing.stderr and "not a 32-byte Ed25519 seed" in missing.stderr
    worker = run(empty_db_url, "worker", ESV_JWT_SECRET=keys["ESV_JWT_SECRET"], ESV_LEDGER_SIGNING_KEY=DEMO_SIGNING_KEY)
    assert worker.returncode == 2 and "ESV_LEDGER_SIGNING_KEY" in worker.stderr and "ESV_JWT_SECRET" not in worker.stderr


def test_production_refuses_demo_logins_and_the_demo_key_until_changed(empty_db_url, tmp_path):
    demo_city(empty_db_url)
    keys = generated()
    refused = run(empty_db_url, "serve", "--port", "1", **keys)
    assert refused.returncode == 2, refused.stderr
    for username in ("supervisor", "center", "leader", "window"):
        assert f"演示账号 {username} 仍使用演示密码" in refused.stderr
    assert "演示部门业务系统的固定 API 密钥仍有效" in refused.stderr and "revoke it" in refused.stderr
    assert "ESV_JWT_SECRET" not in refused.stderr
    # the office changes the demo passwords (one login is disabled instead) and revokes the key
    engine = make_engine(empty_db_url)
    try:
        with Session(engine) as s:
            for account in s.scalars(select(Account).where(Account.username.in_(["supervisor", "center", "leader"]))):
                account.password_hash = hash_password("a-real-password-" + account.username)
            s.scalars(select(Account).where(Account.username == "window")).one().active = False
            for key in s.scalars(select(ApiKey)):
                key.revoked_at = timesource.now()
            s.commit()
    finally:
        engine.dispose()
    with serving(empty_db_url, tmp_path, "--no-worker", env={"ESV_ENVIRONMENT": "production", **keys}) as server:
        # a supervisor's token signed with the published demo secret is worth nothing
        now = datetime.now(timezone.utc)
        forged = jwt.encode({"iss": "esupervision", "sub": "supervisor", "role": "supervisor",
                             "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp())},
                            DEMO_JWT_SECRET, algorithm="HS256")
        answer = httpx.post(f"{server.url}/graphql", json={"query": "{ cases(first: 1) { totalCount } }"},
                            headers={"Authorization": f"Bearer {forged}"}, timeout=30).json()
        assert [e["extensions"]["code"] for e in answer["errors"]] == ["TOKEN_INVALID"]
        answer = httpx.post(f"{server.url}/graphql", json={"query": "{ cases(first: 1) { totalCount } }"},
                            headers={"Authorization": f"ApiKey {DEMO_API_KEY}"}, timeout=30).json()
        assert [e["extensions"]["code"] for e in answer["errors"]] == ["TOKEN_INVALID"]
        login = httpx.post(f"{server.url}/graphql", json={
            "query": 'mutation { login(username: "supervisor", password: "demo") { accessToken } }'}, timeout=30).json()
        assert [e["extensions"]["code"] for e in login["errors"]] == ["INVALID_CREDENTIALS"]


def test_the_demo_never_runs_in_production(empty_db_url):
    for command in (["demo", "--cases", "10"], ["serve", "--demo", "--port", "1"]):
        refused = run(empty_db_url, *command, **generated())
        assert refused.returncode == 2, (command, refused.stderr)
        assert "生产环境（ESV_ENVIRONMENT=production）不能运行" in refused.stderr
        assert "refuses to run in production" in refused.stderr
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as connection:   # nothing was built: not even the schema
            assert not engine.dialect.get_table_names(connection)
    finally:
        engine.dispose()
