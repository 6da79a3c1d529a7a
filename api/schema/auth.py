"""Logging in: staff with a password get a short-lived access token and a rotating refresh token."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from esupervision.api.schema.common import RoleEnum, viewer
from esupervision.api.tokens import issue_access_token
from esupervision.models.account import authenticate, issue_refresh_token, rotate_refresh_token
from esupervision.models.transaction import transaction
from esupervision.settings import get_settings


@strawberry.type(description="登录结果")
class AuthPayload:
    access_token: str
    refresh_token: str
    expires_in: int = strawberry.field(description="访问令牌有效秒数")
    role: RoleEnum
    display_name: str


@strawberry.type(description="当前用户")
class Me:
    role: RoleEnum
    username: str | None
    center_id: strawberry.ID | None
    department_id: strawberry.ID | None
    window_id: strawberry.ID | None


def _payload(account, access: str, refresh: str) -> AuthPayload:  # noqa: ANN001
    return AuthPayload(access_token=access, refresh_token=refresh,
                       expires_in=get_settings().access_token_minutes * 60,
                       role=RoleEnum(account.role), display_name=account.display_name)


@strawberry.type
class AuthQuery:
    @strawberry.field(description="当前登录身份")
    def me(self, info: Info) -> Me:
        who = viewer(info)
        return Me(role=RoleEnum(who.role.value), username=who.username,
                  center_id=strawberry.ID(str(who.center_id)) if who.center_id else None,
                  department_id=strawberry.ID(str(who.department_id)) if who.department_id else None,
                  window_id=strawberry.ID(str(who.window_id)) if who.window_id else None)


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="工作人员用户名密码登录")
    async def login(self, info: Info, username: str, password: str) -> AuthPayload:
        context = info.context
        settings = get_settings()

        def run() -> AuthPayload:
            with transaction(context.engine, actor=f"login:{username}") as tx:
                account = authenticate(tx.session, username, password)
                refresh = issue_refresh_token(tx.session, account, now=tx.now, days=settings.refresh_token_days)
                return _payload(account, issue_access_token(account.viewer(), now=tx.now), refresh)
        return await context.call(run)

    @strawberry.mutation(description="用刷新令牌换取新的访问令牌（刷新令牌随之更换）")
    async def refresh(self, info: Info, refresh_token: str) -> AuthPayload:
        context = info.context
        settings = get_settings()

        def run() -> AuthPayload:
            with transaction(context.engine) as tx:
                try:
                    account, new_refresh = rotate_refresh_token(tx.session, refresh_token, now=tx.now,
                                                                days=settings.refresh_token_days)
                except Exception:
                    tx.session.commit()   # a revoked family stays revoked
                    raise
                return _payload(account, issue_access_token(account.viewer(), now=tx.now), new_refresh)
        return await context.call(run)
