"""What production refuses to start with: the demo's published secrets (settings), demo logins
that still open with the demo password, and the demo department system's fixed API key.

``esv serve`` and ``esv worker`` ask ``startup_problems`` when ``ESV_ENVIRONMENT=production`` and
stop, naming each setting or account, before they serve or deliver anything.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.settings import SecretProblem, Settings, secret_problems


def startup_problems(settings: Settings, engine: Engine | None) -> list[SecretProblem]:
    """Every reason these settings and this database (None: not consulted) are unfit for
    production; empty when they are fit."""
    problems = secret_problems(settings)
    if engine is not None:
        problems += demo_credential_problems(engine)
    return problems


def demo_credential_problems(engine: Engine) -> list[SecretProblem]:
    """Demo logins still opening with the demo password, and the demo API key if not revoked."""
    from esupervision.demo_accounts import DEMO_API_KEY, DEMO_LOGINS, DEMO_PASSWORD
    from esupervision.models.access.account import Account, authenticate
    from esupervision.models.access.apikey import viewer_for_key
    from esupervision.models.errors import DomainError

    problems: list[SecretProblem] = []
    with Session(engine) as session:
        present = set(session.scalars(select(Account.username).where(Account.username.in_(DEMO_LOGINS))))  # type: ignore[attr-defined]
        for username in (u for u in DEMO_LOGINS if u in present):
            try:
                authenticate(session, username, DEMO_PASSWORD)
            except DomainError:
                continue   # changed, or the account is disabled
            problems.append(SecretProblem(
                f"account {username}", f"演示账号 {username} 仍使用演示密码，请修改密码或停用该账号",
                f"the demo login {username} still opens with the demo password: change it or disable the account"))
        try:
            system = viewer_for_key(session, DEMO_API_KEY)
        except DomainError:
            return problems   # never made, or revoked
        problems.append(SecretProblem(
            f"API key {system.username}", "演示部门业务系统的固定 API 密钥仍有效，请吊销（revokeApiKey）",
            "the demo department system's published API key is still valid: revoke it (revokeApiKey)"))
    return problems
