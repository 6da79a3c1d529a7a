"""``esv init`` and ``esv accounts``: a fresh database's way in, and staff logins from the console.

Kept apart from ``cli.py`` (which registers these commands) so that each stays small; nothing
here imports ``cli``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from esupervision.models.errors import DomainError
from esupervision.settings import get_settings

console = Console(stderr=True)
ROLE_CHOICES = ("supervisor", "center_admin", "department_leader", "window_staff")
LEVEL_CHOICES = ("city", "district", "county", "township")


def _engine():  # noqa: ANN202
    from esupervision.db import get_engine
    from esupervision.models import tables  # noqa: F401  (registers every table)
    return get_engine()


def _ready_engine():  # noqa: ANN202
    """The engine of a database ``esv init`` has set up; else stop (exit 2) saying so."""
    from sqlalchemy import inspect
    engine = _engine()
    if "account" not in inspect(engine).get_table_names():
        console.print("[bold red]NOT_INITIALIZED[/]: 数据库还没有建立，请先运行 esv init "
                      "the database is not set up: run esv init first")
        sys.exit(2)
    return engine


def _fail(exc: DomainError) -> None:
    console.print(f"[bold red]{exc.code}[/]: {exc.message}")
    for key, value in exc.details.items():
        console.print(f"  {key}: {value}")
    sys.exit(2)


def read_password(from_stdin: bool, username: str) -> str:
    """The password from one line of standard input, or typed twice at a hidden prompt; checked
    for strength before anything is written."""
    from esupervision.models.access.account import check_password
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"{username} 的密码 password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(password, username=username)
    except DomainError as exc:
        _fail(exc)
    return password


def database_in_use() -> list[str]:
    """What a database already holds that ``esv init`` would clash with (centers, accounts),
    read without changing anything (no migration runs first)."""
    from sqlalchemy import func, inspect, select
    from sqlmodel import Session

    from esupervision.models.access.account import Account
    from esupervision.models.catalogue.catalogue import Center
    engine = _engine()
    names = set(inspect(engine).get_table_names())
    found = []
    with Session(engine) as session:
        for model, label in ((Center, "中心 centers"), (Account, "账号 accounts")):
            if model.__tablename__ in names:
                count = session.scalar(select(func.count()).select_from(model))
                if count:
                    found.append(f"{count} {label}")
    return found


@click.command("init")
@click.option("--center-code", required=True, help="the city center's code, e.g. QH")
@click.option("--center-name", required=True, help="its name, e.g. 清河市")
@click.option("--level", type=click.Choice(LEVEL_CHOICES), default="city", show_default=True)
@click.option("--supervisor", "username", required=True, help="the first supervisor's username")
@click.option("--display-name", default=None, help="the supervisor's name as shown (default: the username)")
@click.option("--password-stdin", is_flag=True, help="read the password from one line of standard input")
def init(center_code: str, center_name: str, level: str, username: str, display_name: str | None,
         password_stdin: bool) -> None:
    """First run: the schema, the city center and its first supervisor (never on a database in use)."""
    in_use = database_in_use()
    if in_use:
        console.print(f"[bold red]ALREADY_INITIALIZED[/]: 数据库已有数据（{'、'.join(in_use)}），esv init 不做任何改动。"
                      f"\nthe database already holds {', '.join(in_use)}: esv init changed nothing. "
                      "Use esv accounts create to add logins.")
        sys.exit(2)
    password = read_password(password_stdin, username)
    from esupervision.migrate import upgrade
    from esupervision.models.access.account import open_account
    from esupervision.models.access.scope import Role
    from esupervision.models.catalogue.catalogue import CenterLevel, create_center
    from esupervision.models.ledger.transaction import transaction
    upgrade(get_settings().database_url)
    try:
        with transaction(_engine(), actor="cli:init") as tx:
            create_center(tx, code=center_code, name=center_name, level=CenterLevel(level))
            open_account(tx, viewer=None, username=username, password=password, role=Role.SUPERVISOR,
                         display_name=display_name)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"""已建立中心 {center_code} {center_name} 和监察人员 {username}。 Center and first supervisor created.
下一步 next:
  1. esv catalogue import docs/catalogue-template.xlsx    导入事项目录 (departments, windows, staff, items; --apply)
  2. esv accounts create NAME --role center_admin --center {center_code} --password-stdin   其他账号 more logins
  3. esv keys generate >> /etc/esupervision.env          生产密钥 production secrets (before the first event)
  4. esv serve, then mutation {{ login(username: "{username}", password: "…") {{ accessToken }} }}
     and createApiKey(departmentId, name) for each department system""")


@click.group("accounts")
def accounts() -> None:
    """Staff logins: create, list, disable, enable, passwd (each change on the ledger)."""


@accounts.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLE_CHOICES), required=True)
@click.option("--center", "center_code", default=None, help="center code (every role but supervisor)")
@click.option("--department", "department_code", default=None, help="department code (department_leader)")
@click.option("--window", "window_code", default=None, help="window code (window_staff)")
@click.option("--display-name", default=None)
@click.option("--password-stdin", is_flag=True, help="read the password from one line of standard input")
def accounts_create(username: str, role: str, center_code: str | None, department_code: str | None,
                    window_code: str | None, display_name: str | None, password_stdin: bool) -> None:
    """Create a staff login with a strong password."""
    from esupervision.models.access.account import open_account
    from esupervision.models.access.scope import Role
    from esupervision.models.ledger.transaction import transaction
    engine = _ready_engine()
    password = read_password(password_stdin, username)
    try:
        with transaction(engine, actor="cli:accounts") as tx:
            open_account(tx, viewer=None, username=username, password=password, role=Role(role),
                         display_name=display_name, center_code=center_code, department_code=department_code,
                         window_code=window_code)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"账号 {username} 已建立 account created ({role})")


@accounts.command("list")
def accounts_list() -> None:
    """Every staff login with its role, scope and state."""
    from sqlmodel import Session

    from esupervision.models.access.account import _scope_codes, staff_accounts
    table = Table(title="工作人员账号 staff accounts")
    for column in ("用户名 username", "角色 role", "中心 center", "部门 department", "窗口 window", "状态 state"):
        table.add_column(column, no_wrap=True)
    with Session(_ready_engine()) as session:
        for row in staff_accounts(session, viewer=None):
            codes = _scope_codes(session, row)
            table.add_row(row.username, row.role, codes["center"] or "", codes["department"] or "",
                          codes["window"] or "", "启用 active" if row.active else "停用 disabled")
    Console(width=120).print(table)


def _change(username: str, change: str, password: str | None = None) -> None:
    from esupervision.models.access import account as model
    from esupervision.models.ledger.transaction import transaction
    try:
        with transaction(_ready_engine(), actor="cli:accounts") as tx:
            if change == "passwd":
                model.set_password(tx, viewer=None, username=username, password=password or "")
            else:
                model.set_account_active(tx, viewer=None, username=username, active=change == "enable")
    except DomainError as exc:
        _fail(exc)


@accounts.command("disable")
@click.argument("username")
def accounts_disable(username: str) -> None:
    """Disable a login: no more logins, its tokens fail on their next request."""
    _change(username, "disable")
    click.echo(f"账号 {username} 已停用 disabled")


@accounts.command("enable")
@click.argument("username")
def accounts_enable(username: str) -> None:
    """Enable a disabled login again."""
    _change(username, "enable")
    click.echo(f"账号 {username} 已启用 enabled")


@accounts.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from one line of standard input")
def accounts_passwd(username: str, password_stdin: bool) -> None:
    """Set a new password (refresh tokens revoked)."""
    _ready_engine()
    _change(username, "passwd", read_password(password_stdin, username))
    click.echo(f"账号 {username} 的密码已更改 password changed")


@click.group("catalogue")
def catalogue() -> None:
    """The catalogue from and to the office's spreadsheets (xlsx, csv)."""


class _Preview(Exception):
    """Raised to roll the preview's transaction back."""


@catalogue.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--apply", "apply_now", is_flag=True, help="apply without asking")
@click.option("--dry-run", is_flag=True, help="show the diff only, never apply")
def catalogue_import(files: tuple[Path, ...], apply_now: bool, dry_run: bool) -> None:
    """Check every row, show what would be added or changed, and apply it (each change a ledger event)."""
    from sqlmodel import Session

    from esupervision.catalogue_file import read_sheets
    from esupervision.models.catalogue.spreadsheet import Outcome, apply_catalogue, read_catalogue
    from esupervision.models.ledger.transaction import transaction
    engine = _ready_engine()
    try:
        sheets = read_sheets(list(files))
        with Session(engine) as session:
            parsed = read_catalogue(session, sheets)
        preview = Outcome()
        try:
            with transaction(engine, actor="cli:catalogue") as tx:
                preview = apply_catalogue(tx, parsed)
                raise _Preview
        except _Preview:
            pass
    except DomainError as exc:
        _fail(exc)
    counts = preview.counts()
    for status, label in (("added", "新增 added"), ("changed", "变更 changed")):
        for line in getattr(preview, status):
            click.echo(f"  {label}: {line}")
    click.echo(f"新增 added {counts['added']}，变更 changed {counts['changed']}，"
               f"未变 unchanged {counts['unchanged']}")
    if dry_run or not (counts["added"] or counts["changed"]):
        return
    if not apply_now and not click.confirm("应用这些改动？ apply these changes?", default=False):
        click.echo("未做任何改动 nothing changed")
        return
    try:
        with transaction(engine, actor="cli:catalogue") as tx:
            done = apply_catalogue(tx, parsed)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"已应用 applied: {done.counts()}")


@catalogue.command("export")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def catalogue_export(file: Path) -> None:
    """Write the catalogue as the workbook esv catalogue import reads."""
    from sqlmodel import Session

    from esupervision.catalogue_file import write_workbook
    from esupervision.models.catalogue.spreadsheet import catalogue_rows
    with Session(_ready_engine()) as session:
        sheets = catalogue_rows(session)
    write_workbook(file, sheets)
    click.echo(f"目录已导出 catalogue written to {file}: " +
               "，".join(f"{name} {len(rows) - 1}" for name, rows in sheets.items()))
