"""``esv counties`` commands of supervision across deployments (issue 17, item 5; docs/counties.md):

- at the county: ``esv counties city-key --center CODE [--name N] [-o FILE]`` issues the service
  key the city's supervision office urges and orders with (role ``city_supervision``: urge and
  order on this county's cases, nothing else); shown once;
- at the city: ``esv counties credential CODE --key-file FILE`` keeps that key for county CODE,
  sealed (commands refused for an old key go again);
- at the city: ``esv counties commands [CODE]``: the urges and orders sent to counties, where each stands.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

console = Console(stderr=True)


def _engine():  # noqa: ANN202
    from esupervision.db import get_engine
    from esupervision.models import tables  # noqa: F401  (registers every table)
    return get_engine()


@click.command("city-key")
@click.option("--center", "center_code", required=True, help="this county's own center code")
@click.option("--name", default="市级监察", show_default=True, help="whom the key is for")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="write the key here (mode 600) instead of standard output")
def city_key(center_code: str, name: str, output: Path | None) -> None:
    """At the county: issue the city's supervision office its service key (shown once)."""
    from sqlmodel import Session

    from esupervision.models.access.city_key import issue_city_key
    from esupervision.models.clocks import timesource
    from esupervision.models.errors import DomainError
    with Session(_engine(), expire_on_commit=False) as session:
        try:
            row, key = issue_city_key(session, center_code=center_code, name=name, now=timesource.now())
        except DomainError as exc:
            console.print(f"[bold red]{exc.code}[/]: {exc.message}")
            sys.exit(2)
        session.commit()
    if output is None:
        click.echo(key)
    else:
        output.touch(mode=0o600)
        output.write_text(key + "\n", encoding="utf-8")
        console.print(f"市级监察服务密钥已写入 {output}（编号 {row.id}），请安全交给市级 key written to {output}")


@click.command("credential")
@click.argument("code")
@click.option("--key-file", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="the key county CODE issued (`esv counties city-key` there)")
def credential(code: str, key_file: Path) -> None:
    """At the city: keep county CODE's service key (sealed; never printed)."""
    from esupervision.models.errors import DomainError
    from esupervision.models.ledger.transaction import transaction
    from esupervision.models.supervision.county_commands import set_credential
    try:
        with transaction(_engine(), actor="cli:counties") as tx:
            row = set_credential(tx.session, county_code=code, key=key_file.read_text(encoding="utf-8"),
                                 settings=tx.settings, now=tx.now)
    except DomainError as exc:
        console.print(f"[bold red]{exc.code}[/]: {exc.message}")
        sys.exit(2)
    click.echo(f"{code}\t服务密钥已登记（…{row.key_hint}） credential kept")


@click.command("commands")
@click.argument("code", required=False)
def commands(code: str | None) -> None:
    """At the city: the urges and orders sent to counties (newest first), where each stands."""
    from sqlmodel import Session

    from esupervision.models.access.scope import Role, Viewer
    from esupervision.models.base import local_time
    from esupervision.models.supervision.county_commands import STATUS_TEXT, CommandStatus, visible_commands
    with Session(_engine()) as session:
        rows, _ = visible_commands(session, who=Viewer(role=Role.SUPERVISOR), county_code=code, limit=200)
        for r in rows:
            click.echo(f"{r.number}\t{r.county_code}\t{r.case_number}\t{local_time(r.issued_at)}\t"
                       f"{STATUS_TEXT[CommandStatus(r.status)]}\t{r.county_number or '-'}\t"
                       f"{r.attempts} 次\t{r.last_error_code or ''}")


def attach(group: click.Group) -> None:
    """Add these commands to ``esv counties``."""
    for command in (city_key, credential, commands):
        group.add_command(command)
