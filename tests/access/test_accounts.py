"""Accounts for operating it for real (issue 16): esv init on an empty database, esv accounts, and
the account mutations; strong passwords only; a disabled account's tokens stop at once."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.access.account import Account
from esupervision.models.catalogue.catalogue import Center
from esupervision.models.ledger.ledger import LedgerEvent
from tests.builders import build_city
from tests.gql import GraphQLClient, create_accounts

STRONG = "Qinghe-2026-watch"
CREATE = ('mutation($i: CreateAccountInput!) { createAccount(input: $i) { username role active centerCode '
          'departmentCode windowCode } }')


@pytest.fixture
def cli(empty_db_url, monkeypatch):
    """``esv`` against an empty database of its own (SQLite and PostgreSQL)."""
    from esupervision import db, settings
    from esupervision.cli import main
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()

    def run(*args: str, password: str | None = None):  # noqa: ANN202
        return CliRunner().invoke(main, list(args), input=None if password is None else password + "\n")
    run.url = empty_db_url
    yield run
    db.get_engine().dispose()
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()


def counts(url: str) -> tuple[int, int, int]:
    from esupervision.db import get_engine
    with Session(get_engine(url)) as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Center, Account, LedgerEvent))


INIT = ("init", "--center-code", "QH", "--center-name", "清河市", "--supervisor", "chief", "--password-stdin")


def test_init_sets_up_an_empty_database_once(cli) -> None:
    # A weak password is refused before anything is made (not even the schema).
    for weak in ("short1!", "onlyletterslong", "chief-2026-abc", "1234567890"):
        result = cli(*INIT, password=weak)
        assert result.exit_code == 2 and "WEAK_PASSWORD" in result.output, (weak, result.output)
    result = cli("accounts", "list")
    assert result.exit_code == 2 and "esv init" in result.output
    result = cli(*INIT, password=STRONG)
    assert result.exit_code == 0, result.output
    assert "esv catalogue import" in result.output and "esv accounts create" in result.output
    assert counts(cli.url) == (1, 1, 2)   # the center, the supervisor; both on the ledger
    # Run again: refused, nothing changed.
    result = cli(*INIT, password=STRONG)
    assert result.exit_code == 2 and "ALREADY_INITIALIZED" in result.output
    assert counts(cli.url) == (1, 1, 2)
    result = cli("ledger", "verify")
    assert result.exit_code == 0 and "ledger intact" in result.output


def test_accounts_commands(cli) -> None:
    assert cli(*INIT, password=STRONG).exit_code == 0
    result = cli("accounts", "create", "qh-admin", "--role", "center_admin", "--password-stdin", password=STRONG)
    assert result.exit_code == 2 and "center" in result.output        # a center admin needs --center
    result = cli("accounts", "create", "qh-admin", "--role", "center_admin", "--center", "XX",
                 "--password-stdin", password=STRONG)
    assert result.exit_code == 2 and "CENTER_NOT_FOUND" in result.output
    result = cli("accounts", "create", "qh-admin", "--role", "center_admin", "--center", "QH",
                 "--password-stdin", password="demo")
    assert result.exit_code == 2 and "WEAK_PASSWORD" in result.output
    result = cli("accounts", "create", "qh-admin", "--role", "center_admin", "--center", "QH",
                 "--password-stdin", password=STRONG)
    assert result.exit_code == 0, result.output
    result = cli("accounts", "create", "qh-admin", "--role", "center_admin", "--center", "QH",
                 "--password-stdin", password=STRONG)
    assert result.exit_code == 2 and "DUPLICATE_CODE" in result.output
    assert cli("accounts", "disable", "qh-admin").exit_code == 0
    listed = cli("accounts", "list").output
    assert "qh-admin" in listed and "disabled" in listed
    assert cli("accounts", "enable", "qh-admin").exit_code == 0
    assert cli("accounts", "passwd", "qh-admin", "--password-stdin", password="New-secret-99").exit_code == 0
    assert cli("accounts", "disable", "nobody").exit_code == 2
    from esupervision.db import get_engine
    with Session(get_engine(cli.url)) as s:
        kinds = [k for (k,) in s.execute(select(LedgerEvent.kind).where(LedgerEvent.subject_type == "account")
                                         .order_by(LedgerEvent.id))]
    assert kinds == ["access.account_created", "access.account_created", "access.account_disabled",
                     "access.account_enabled", "access.password_changed"]
    client = GraphQLClient(get_engine(cli.url))
    client.login("qh-admin", "New-secret-99")


@pytest.fixture
def city(engine, fixed_time):
    build_city(engine)
    create_accounts(engine)
    return GraphQLClient(engine)


def test_supervisor_and_center_admin_manage_accounts(city) -> None:
    city.login("supervisor")
    made = city.data(CREATE, {"i": {"username": "w01-li", "password": STRONG, "role": "WINDOW_STAFF",
                                    "centerCode": "C01", "windowCode": "W01"}})["createAccount"]
    assert made == {"username": "w01-li", "role": "WINDOW_STAFF", "active": True, "centerCode": "C01",
                    "departmentCode": "SCJ", "windowCode": "W01"}
    assert city.error_codes(CREATE, {"i": {"username": "x1", "password": "demo", "role": "SUPERVISOR"}}) == [
        "WEAK_PASSWORD"]
    assert city.error_codes(CREATE, {"i": {"username": "x1", "password": STRONG, "role": "DEPARTMENT_SYSTEM",
                                           "centerCode": "C01"}}) == ["BAD_INPUT"]
    assert city.error_codes(CREATE, {"i": {"username": "x1", "password": STRONG, "role": "DEPARTMENT_LEADER",
                                           "centerCode": "C01"}}) == ["BAD_INPUT"]    # no department
    # The center admin: their own center, never a supervisor.
    city.login("admin")
    assert city.error_codes(CREATE, {"i": {"username": "boss", "password": STRONG, "role": "SUPERVISOR"}}) == [
        "FORBIDDEN"]
    made = city.data(CREATE, {"i": {"username": "zjj-2", "password": STRONG, "role": "DEPARTMENT_LEADER",
                                    "centerCode": "C01", "departmentCode": "ZJJ"}})["createAccount"]
    assert made["departmentCode"] == "ZJJ"
    names = [a["username"] for a in city.data("{ accounts { username } }")["accounts"]]
    assert "supervisor" not in names and "zjj-2" in names
    assert city.error_codes('mutation { disableAccount(username: "supervisor") { active } }') == [
        "ACCOUNT_NOT_FOUND"]
    assert city.error_codes('mutation { disableAccount(username: "admin") { active } }') == ["BAD_INPUT"]
    # Window staff may not.
    city.login("w01")
    assert city.error_codes('mutation { disableAccount(username: "zjj-2") { active } }') == ["FORBIDDEN"]
    assert city.error_codes("{ accounts { username } }") == ["FORBIDDEN"]


def test_a_disabled_accounts_tokens_stop_at_once(city) -> None:
    leader = city.data('mutation { login(username: "scj-leader", password: "demo") { accessToken refreshToken } }',
                       token="")["login"]
    me = "{ me { username } }"
    assert city.data(me, token=leader["accessToken"])["me"] == {"username": "scj-leader"}
    city.login("supervisor")
    assert city.data('mutation { disableAccount(username: "scj-leader") { active } }')["disableAccount"] == {
        "active": False}
    # The very next request with the old access token, and the refresh, both fail.
    assert city.error_codes(me, token=leader["accessToken"]) == ["TOKEN_INVALID"]
    assert city.error_codes('mutation($r: String!) { refresh(refreshToken: $r) { accessToken } }',
                            {"r": leader["refreshToken"]}, token="") == ["TOKEN_INVALID"]
    assert city.error_codes('mutation { login(username: "scj-leader", password: "demo") { accessToken } }',
                            token="") == ["INVALID_CREDENTIALS"]
    city.data('mutation { enableAccount(username: "scj-leader") { active } }')
    city.data('mutation($p: String!) { setAccountPassword(username: "scj-leader", password: $p) { username } }',
              {"p": STRONG})
    assert city.error_codes('mutation { login(username: "scj-leader", password: "demo") { accessToken } }',
                            token="") == ["INVALID_CREDENTIALS"]
    city.login("scj-leader", STRONG)
