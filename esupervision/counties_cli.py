"""``esv counties``: the county deployments the city replicates (docs/counties.md).

- ``esv counties add CODE URL --public-key FILE [--token T] [--parent CITY_CENTER]``: register one;
- ``esv counties sync [CODE]``: pull every county (or one) once, verify and project, then exit;
- ``esv counties list``: each county's replication state (LIVE / STALE / DIVERGED, lag);
- ``esv counties witness CODE -o DIR``: what the city verified of the county, as a witness
  directory the county checks its own ledger against (``esv ledger verify --witness DIR``).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

console = Console(stderr=True)


def _engine():  # noqa: ANN202
    from esupervision.db import get_engine
    from esupervision.models import tables  # noqa: F401  (registers every table)
    return get_engine()


@click.group()
def counties() -> None:
    """County deployments joined to the city by verified ledger replication."""


@counties.command("add")
@click.argument("code")
@click.argument("url")
@click.option("--public-key", "public_key", required=True, type=click.Path(path_type=Path, exists=True),
              help="the county's verifier key file (`esv ledger public-key` at the county)")
@click.option("--token", default=None, help="the county's ESV_REPLICATION_TOKEN (its raw events route wants it)")
@click.option("--name", default=None, help="the county's name (default: its center's name at the first pull)")
@click.option("--parent", "parent_code", default=None, help="the city's center it sits under (default: the city's own)")
def counties_add(code: str, url: str, public_key: Path, token: str | None, name: str | None,
                 parent_code: str | None) -> None:
    """Register county CODE served at URL; the worker (or `esv counties sync`) pulls it."""
    from esupervision.models.counties.sync import register
    from esupervision.models.errors import DomainError
    from esupervision.models.ledger.transaction import transaction
    try:
        with transaction(_engine(), actor="cli:counties") as tx:
            link = register(tx, code=code, url=url, public_key=public_key.read_text(encoding="utf-8"),
                            token=token, name=name, parent_code=parent_code)
    except DomainError as exc:
        console.print(f"[bold red]{exc.code}[/]: {exc.message}")
        sys.exit(2)
    click.echo(f"{link.code}\t{link.url}\t{link.public_key}")


@counties.command("sync")
@click.argument("code", required=False)
def counties_sync(code: str | None) -> None:
    """Pull every county (or CODE) once: verify, store, project; one JSON line per county."""
    from esupervision.workers.replication import sync_counties
    results = sync_counties(_engine(), code)
    for r in results:
        click.echo(json.dumps({"code": r.code, "status": r.status, "events": r.events, "chains": r.chains,
                               "diverged_seq": r.diverged_seq, "error": r.error}, ensure_ascii=False))
    if code is not None and not results:
        console.print(f"[bold red]COUNTY_NOT_FOUND[/]: 未登记县区 {code}")
        sys.exit(2)
    if any(r.status == "diverged" for r in results):
        sys.exit(3)


@counties.command("list")
def counties_list() -> None:
    """Each county: code, status, last seq per chain, lag."""
    from sqlalchemy import func, select
    from sqlmodel import Session

    from esupervision.models.clocks import timesource
    from esupervision.models.counties.link import CountyChain, CountyLink
    with Session(_engine()) as session:
        now = timesource.now()
        for link in session.scalars(select(CountyLink).order_by(CountyLink.code)):
            events = session.scalar(select(func.coalesce(func.sum(CountyChain.size), 0))
                                    .where(CountyChain.county_id == link.id))
            lag = link.lag_seconds(now)
            click.echo(f"{link.code}\t{link.name}\t{link.status(now).value.upper()}\t{events} events\t"
                       f"lag {'-' if lag is None else f'{lag:.0f}s'}"
                       + (f"\tdiverged at seq {link.diverged_seq}" if link.diverged_at else ""))


@counties.command("witness")
@click.argument("code")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="the witness directory to write (created; heads it holds already are kept)")
def counties_witness(code: str, output: Path) -> None:
    """Write the signed heads of county CODE that the city verified, with the chain hashes under
    them, as a witness directory: at the county, `esv ledger verify --witness DIR` names any
    event rewritten or cut since the city saw it."""
    from sqlmodel import Session

    from esupervision.models.counties.link import county_by_code
    from esupervision.models.counties.replica import witnessed_heads
    from esupervision.witness import witness_at
    witness = witness_at(output)
    with Session(_engine()) as session:
        link = county_by_code(session, code)
        if link is None:
            console.print(f"[bold red]COUNTY_NOT_FOUND[/]: 未登记县区 {code}")
            sys.exit(2)
        heads = witnessed_heads(session, link.id)
    written = sum(witness.publish(origin, size, note, leaves) for origin, size, note, leaves in heads)
    click.echo(f"{code}\t{len(heads)} heads verified\t{written} written to {output}")
