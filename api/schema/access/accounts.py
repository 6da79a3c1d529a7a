"""Staff accounts, managed by the supervision office (every one) and a center's admin (their
center's, below supervision): create, list, disable, enable, set a password. Each change is on the
ledger; a disabled account's tokens fail on its next request."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from esupervision.api.schema.common import RoleEnum, require, viewer
from esupervision.models.access import account as accounts
from esupervision.models.access.scope import Role
from esupervision.models.ledger.transaction import transaction

MANAGERS = (Role.SUPERVISOR, Role.CENTER_ADMIN)


@strawberry.type(description="工作人员账号")
class StaffAccount:
    id: strawberry.ID
    username: str
    display_name: str
    role: RoleEnum
    active: bool = strawberry.field(description="停用的账号不能登录，已发的令牌立即失效")
    center_code: str | None
    department_code: str | None
    window_code: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, session: object, row: accounts.Account) -> "StaffAccount":
        codes = accounts._scope_codes(session, row)  # type: ignore[arg-type]
        return cls(id=strawberry.ID(str(row.id)), username=row.username, display_name=row.display_name,
                   role=RoleEnum(row.role), active=row.active, center_code=codes["center"],
                   department_code=codes["department"], window_code=codes["window"], created_at=row.created_at)


@strawberry.input(description="新建工作人员账号（中心管理员只能建本中心的账号）")
class CreateAccountInput:
    username: str
    password: str = strawberry.field(description="至少 10 个字符，含字母、数字、符号中的两类，不含用户名")
    role: RoleEnum
    display_name: str | None = None
    center_code: str | None = strawberry.field(default=None, description="中心编码（监察人员以外必填）")
    department_code: str | None = strawberry.field(default=None, description="部门编码（部门领导必填）")
    window_code: str | None = strawberry.field(default=None, description="窗口编码（窗口工作人员必填）")


@strawberry.type
class AccountQuery:
    @strawberry.field(description="工作人员账号（监察看全部，中心管理员看本中心）")
    async def accounts(self, info: Info) -> list[StaffAccount]:
        who = require(info, *MANAGERS)
        return await info.context.run(
            lambda s: [StaffAccount.from_row(s, row) for row in accounts.staff_accounts(s, viewer=who)])


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="新建工作人员账号")
    async def create_account(self, info: Info, input: CreateAccountInput) -> StaffAccount:
        who = viewer(info)

        def run() -> StaffAccount:
            with transaction(info.context.engine, actor=who.actor) as tx:
                row = accounts.open_account(
                    tx, viewer=who, username=input.username, password=input.password, role=Role(input.role.value),
                    display_name=input.display_name, center_code=input.center_code,
                    department_code=input.department_code, window_code=input.window_code)
                return StaffAccount.from_row(tx.session, row)
        return await info.context.call(run)

    @strawberry.mutation(description="停用账号：不能再登录，已发的访问令牌和刷新令牌立即失效")
    async def disable_account(self, info: Info, username: str) -> StaffAccount:
        return await _set_active(info, username, False)

    @strawberry.mutation(description="重新启用账号")
    async def enable_account(self, info: Info, username: str) -> StaffAccount:
        return await _set_active(info, username, True)

    @strawberry.mutation(description="重设账号密码（其刷新令牌随之吊销）")
    async def set_account_password(self, info: Info, username: str, password: str) -> StaffAccount:
        who = viewer(info)

        def run() -> StaffAccount:
            with transaction(info.context.engine, actor=who.actor) as tx:
                row = accounts.set_password(tx, viewer=who, username=username, password=password)
                return StaffAccount.from_row(tx.session, row)
        return await info.context.call(run)


async def _set_active(info: Info, username: str, active: bool) -> StaffAccount:
    who = viewer(info)

    def run() -> StaffAccount:
        with transaction(info.context.engine, actor=who.actor) as tx:
            row = accounts.set_account_active(tx, viewer=who, username=username, active=active)
            return StaffAccount.from_row(tx.session, row)
    return await info.context.call(run)
