"""Logging in and keys: staff with a password, applicants with a one-time SMS code (both get a
short-lived access token and a rotating refresh token), and the API keys of department systems."""
from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.types import Info

from esupervision.api.limits import check_rate
from esupervision.api.schema.catalogue.catalogue import Department, department_of
from esupervision.api.schema.common import RoleEnum, require, viewer
from esupervision.api.schema.cases.notice import Notice, my_notices
from esupervision.api.tokens import issue_access_token
from esupervision.models.access import apikey as keys
from esupervision.models.access import login_code
from esupervision.models.access.scope import Role, mask_phone
from esupervision.models.access.account import (Account, applicant_account, authenticate, issue_refresh_token,
                                                rotate_refresh_token)
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.transaction import transaction
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
    phone: str | None = strawberry.field(description="申请人本人的手机号")
    center_id: strawberry.ID | None
    department_id: strawberry.ID | None
    window_id: strawberry.ID | None

    @strawberry.field(description="本人（工作人员）收到的短信、语音通知，最新在前")
    async def notices(self, info: Info, first: int | None = 50) -> list[Notice]:
        return await my_notices(info, first)


@strawberry.type(description="验证码已发送")
class LoginCodeSent:
    sent_to: str = strawberry.field(description="接收手机号（脱敏）")
    expires_in: int = strawberry.field(description="验证码有效秒数")


@strawberry.type(description="部门业务系统的 API 密钥（密钥本身只在创建时给出一次）")
class ApiKey:
    id: strawberry.ID
    name: str
    created_at: datetime
    revoked_at: datetime | None
    department_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: keys.ApiKey) -> "ApiKey":
        return cls(id=strawberry.ID(str(row.id)), name=row.name, created_at=row.created_at,
                   revoked_at=row.revoked_at, department_id=row.department_id)

    @strawberry.field(description="所属部门")
    async def department(self, info: Info) -> Department:
        return await department_of(info, self.department_id)


@strawberry.type(description="新建的 API 密钥")
class ApiKeyCreated:
    api_key: ApiKey
    key: str = strawberry.field(description="密钥本身：只显示这一次，请妥善保存")


KEY_MANAGERS = (Role.SUPERVISOR, Role.CENTER_ADMIN)
NO_DEPARTMENT = "部门不存在 no such department"
NO_KEY = "API 密钥不存在 no such key"


def _payload(account: Account, access: str, refresh: str) -> AuthPayload:
    return AuthPayload(access_token=access, refresh_token=refresh,
                       expires_in=get_settings().access_token_minutes * 60,
                       role=RoleEnum(account.role), display_name=account.display_name)


def _id(value: strawberry.ID, code: ErrorCode, message: str) -> uuid.UUID:
    # Not an id at all answers like an id that names nothing.
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise DomainError(code, message, id=value) from None


async def _limited_phone(info: Info, action: str, phone: str) -> str:
    """The normalized phone, once the attempt is within the rate limits (counted per number, so
    writing it another way does not get round them)."""
    try:
        number = login_code.normalize_phone(phone)
    except DomainError:
        await check_rate(info, action, phone)   # bad input still counts against the address
        raise
    await check_rate(info, action, number)
    return number


@strawberry.type
class AuthQuery:
    @strawberry.field(description="当前登录身份")
    def me(self, info: Info) -> Me:
        who = viewer(info)

        def ident(value: uuid.UUID | None) -> strawberry.ID | None:
            return strawberry.ID(str(value)) if value else None
        return Me(role=RoleEnum(who.role.value), username=who.username, phone=who.applicant_phone,
                  center_id=ident(who.center_id), department_id=ident(who.department_id),
                  window_id=ident(who.window_id))

    @strawberry.field(description="API 密钥列表（监察看全部，中心管理员看本中心）")
    async def api_keys(self, info: Info, department_id: strawberry.ID | None = None) -> list[ApiKey]:
        who = require(info, *KEY_MANAGERS)
        department = _id(department_id, ErrorCode.DEPARTMENT_NOT_FOUND, NO_DEPARTMENT) if department_id else None
        rows = await info.context.run(lambda s: keys.visible_api_keys(s, viewer=who, department_id=department))
        return [ApiKey.from_row(row) for row in rows]


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="工作人员用户名密码登录")
    async def login(self, info: Info, username: str, password: str) -> AuthPayload:
        context = info.context
        settings = get_settings()
        await check_rate(info, "login", username)

        def run() -> AuthPayload:
            with transaction(context.engine, actor=f"login:{username}") as tx:
                account = authenticate(tx.session, username, password)
                refresh = issue_refresh_token(tx.session, account, now=tx.now, days=settings.refresh_token_days)
                return _payload(account, issue_access_token(account.viewer(), now=tx.now), refresh)
        return await context.call(run)

    @strawberry.mutation(description="申请人获取短信登录验证码（6 位，5 分钟内有效，一次有效）")
    async def request_login_code(self, info: Info, phone: str) -> LoginCodeSent:
        context = info.context
        settings = get_settings()
        number = await _limited_phone(info, "requestLoginCode", phone)

        def run() -> None:
            # The code and its SMS (an outbox notice) commit together; the gateway sends it after.
            with transaction(context.engine) as tx:
                login_code.request_login_code(tx, number, minutes=settings.login_code_minutes,
                                              secret=settings.jwt_secret)
        await context.call(run)
        return LoginCodeSent(sent_to=mask_phone(number) or "", expires_in=settings.login_code_minutes * 60)

    @strawberry.mutation(description="申请人以手机号和短信验证码登录（只能查看本人办件）")
    async def login_with_code(self, info: Info, phone: str, code: str) -> AuthPayload:
        context = info.context
        settings = get_settings()
        number = await _limited_phone(info, "loginWithCode", phone)

        def run() -> AuthPayload:
            with transaction(context.engine, actor=f"applicant:{number}") as tx:
                refusal = login_code.verify_login_code(tx.session, number, code, now=tx.now,
                                                       max_attempts=settings.login_code_max_attempts,
                                                       secret=settings.jwt_secret)
                if refusal is not None:
                    tx.session.commit()   # the wrong try counts
                    raise refusal
                account = applicant_account(tx.session, number, now=tx.now)
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

    @strawberry.mutation(description="为部门业务系统新建 API 密钥（监察或本中心管理员）；密钥只返回这一次")
    async def create_api_key(self, info: Info, department_id: strawberry.ID, name: str) -> ApiKeyCreated:
        who = viewer(info)
        department = _id(department_id, ErrorCode.DEPARTMENT_NOT_FOUND, NO_DEPARTMENT)

        def run() -> ApiKeyCreated:
            with transaction(info.context.engine, actor=who.actor) as tx:
                row, key = keys.issue_api_key(tx.session, viewer=who, department_id=department, name=name, now=tx.now)
                return ApiKeyCreated(api_key=ApiKey.from_row(row), key=key)
        return await info.context.call(run)

    @strawberry.mutation(description="吊销 API 密钥：此后用它的请求一律拒绝")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKey:
        who = viewer(info)
        key_id = _id(id, ErrorCode.API_KEY_NOT_FOUND, NO_KEY)

        def run() -> ApiKey:
            with transaction(info.context.engine, actor=who.actor) as tx:
                return ApiKey.from_row(keys.revoke_api_key(tx.session, key_id, now=tx.now, viewer=who))
        return await info.context.call(run)
