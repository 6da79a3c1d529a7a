"""The ``esv`` command. Every command reads DATABASE_URL (default: a SQLite file here)."""
from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from esupervision.models.errors import DomainError
from esupervision.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

console = Console(stderr=True)


def _engine():
    from esupervision.db import get_engine
    from esupervision.models import tables  # noqa: F401  (registers every table)
    return get_engine()


def _fail(exc: DomainError) -> None:
    console.print(f"[bold red]{exc.code}[/]: {exc.message}")
    for key, value in exc.details.items():
        console.print(f"  {key}: {value}")
    sys.exit(2)


def _refuse_in_production(what: str) -> None:
    """The demo's published logins and keys never reach a production database."""
    if get_settings().environment == "production":
        click.echo(f"生产环境（ESV_ENVIRONMENT=production）不能运行 {what}：演示数据带有公开的密码和密钥。\n"
                   f"{what} refuses to run in production (ESV_ENVIRONMENT=production): the demo's logins and keys "
                   "are published.", err=True)
        sys.exit(2)


def _refuse_unfit(engine: Engine | None = None) -> None:
    """In production, stop (exit 2) naming every demo or missing secret, before serving anything;
    the database (demo logins and keys) is consulted when ``engine`` is given."""
    settings = get_settings()
    if settings.environment != "production":
        return
    from esupervision.production import startup_problems
    problems = startup_problems(settings, engine)
    if not problems:
        return
    lines = ["生产环境拒绝启动：以下密钥或账号不安全 / refusing to start in production, unsafe secrets:"]
    for problem in problems:
        lines += [f"  {problem.variable}: {problem.zh}", f"  {' ' * len(problem.variable)}  {problem.en}"]
    lines.append("用 `esv keys generate` 生成新密钥并写入环境文件 / `esv keys generate` prints fresh secrets "
                 "for the env file.")
    click.echo("\n".join(lines), err=True)
    sys.exit(2)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


@click.group()
def main() -> None:
    """esupervision 电子实时监督系统."""


# ----------------------------------------------------------------------------- database

@main.group()
def db() -> None:
    """Schema migrations."""


@db.command("upgrade")
@click.option("--revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the database schema up to date (Alembic)."""
    from esupervision.migrate import upgrade
    upgrade(get_settings().database_url, revision)
    console.print(f"数据库已升级 schema at {revision}")


def ensure_schema() -> None:
    from esupervision.migrate import upgrade
    upgrade(get_settings().database_url)


# ----------------------------------------------------------------------------- demo and serve

@main.command()
@click.option("--cases", default=3000, show_default=True, help="how many cases to build")
@click.option("--seed", default=7, show_default=True)
@click.option("--county", "county_code", default=None,
              help="build county CODE's standalone deployment instead (docs/counties.md; e.g. QH-DP, QH-FS)")
@click.option("--database", "database_url", default=None, help="the database to build it in (default: DATABASE_URL)")
def demo(cases: int, seed: int, county_code: str | None, database_url: str | None) -> None:
    """Build a realistic demo city in the configured database (never in production)."""
    _refuse_in_production("esv demo")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
        get_settings.cache_clear()
    ensure_schema()
    if county_code:
        _build_county_demo(county_code, cases if cases != 3000 else 300, seed)
        _sign_heads()
        return
    _build_demo(cases, seed)
    _sign_heads()   # the end of a burst of commits: its heads signed and witnessed now


def _build_county_demo(code: str, cases: int, seed: int) -> None:
    from esupervision.county_demo import CountyDemoNotEmpty, build_county_demo
    from esupervision.models.clocks import timesource
    try:
        counts = build_county_demo(_engine(), code=code, now=timesource.now(), cases=cases, seed=seed)
    except CountyDemoNotEmpty as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(counts, ensure_ascii=False))   # one line, as scripts read it (api_key among them)
    console.print(f"县区演示账号 supervisor / center（密码 demo），部门系统 API 密钥 department API key: {counts['api_key']}")


def _build_demo(cases: int, seed: int) -> dict[str, int]:
    from esupervision.demo import build_demo, settle_past_notices
    from esupervision.models.clocks import timesource

    started = timesource.now()
    with _progress() as progress:
        tasks: dict[str, int] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        counts = build_demo(_engine(), now=started, cases=cases, seed=seed, progress=report)
        from esupervision.tender_demo import build_tender_demo
        counts.update(build_tender_demo(_engine(), now=timesource.now(), seed=seed, progress=report))
    counts["past_notices_sent"] = settle_past_notices(_engine(), before=started)
    from esupervision.demo_accounts import create_demo_accounts
    accounts = create_demo_accounts(_engine())
    click.echo(json.dumps(counts, ensure_ascii=False))   # one line, as scripts read it
    table = Table(title="演示账号 demo accounts (密码 password: demo)")
    # The username column is never cut: the department system's API key is one, used as printed.
    table.add_column("用户名 username", no_wrap=True, min_width=30)
    table.add_column("角色 role")
    table.add_column("范围 scope", overflow="fold")   # wrapped, never cut off
    for account in accounts:
        table.add_row(account["username"], account["role"], account["scope"])
    console.print(table)
    return counts


def _has_data() -> bool:
    from sqlalchemy import select
    from sqlmodel import Session

    from esupervision.models.catalogue.catalogue import Center
    with Session(_engine()) as session:
        return session.scalars(select(Center).limit(1)).first() is not None


@main.command()
@click.option("--demo", "with_demo", is_flag=True, help="build the demo city first if the database is empty")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--speed", default=None, type=float, help="run case time N times faster than real time")
@click.option("--no-worker", is_flag=True, help="do not run the in-process worker (production runs `esv worker`)")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="API processes on the one address (production, with --no-worker and Redis)")
def serve(with_demo: bool, host: str, port: int, speed: float | None, no_worker: bool, workers: int) -> None:
    """Serve the API (health, overview) with the in-process worker of the embedded default."""
    _public_url_of(host, port)
    if with_demo:
        _refuse_in_production("esv serve --demo")
    _refuse_unfit()   # before the API is even imported: a refusal is quick
    from esupervision.redaction import install as redact_logs
    redact_logs(get_settings())
    ensure_schema()
    _refuse_unfit(_engine())
    import uvicorn

    from esupervision.api.app import create_app
    from esupervision.api.limits import server_options
    from esupervision.models.clocks import timesource
    from esupervision.workers.runtime import start_embedded_worker

    speed = speed if speed is not None else get_settings().speed
    if speed != 1:
        timesource.install(timesource.SpeedTime(speed))
    # The pages build (npm, another process) while the demo city is built here.
    pages = _PagesBuild()
    if with_demo and not _has_data():
        _build_demo(3000, 7)
    if with_demo:
        _video_demo()
    pages.wait()
    if workers > 1:
        # Several processes share light changes only through Redis, and the embedded worker
        # (one scheduler) belongs to one process: production runs `esv worker` beside them.
        if not no_worker or get_settings().broker != "redis":
            raise click.UsageError("--workers N 需要 --no-worker 并使用 Redis（ESV_BROKER=redis，多进程经 Redis 共享实时消息）"
                                   " / --workers needs --no-worker and ESV_BROKER=redis")
        console.print(f"esupervision serving on http://{host}:{port}/ with {workers} processes")
        uvicorn.run("esupervision.api.app:app_from_settings", factory=True, host=host, port=port,
                    workers=workers, log_level="info", **server_options(get_settings()))
        return
    engine = _engine()
    if not no_worker:
        start_embedded_worker(engine)
    console.print(f"esupervision serving on http://{host}:{port}/  (监察控制台 /console, 大屏 /screen, "
                  "健康检查 /healthz, 总览 /overview)")
    # The app warms up (api/warmup.py) before uvicorn opens the port.
    uvicorn.run(create_app(engine, warm_up=True), host=host, port=port, log_level="info",
                **server_options(get_settings()))


def _video_demo() -> None:
    """The demo's cameras (电子眼) and their test stream, served from ESV_VIDEO_DIR (./video-demo
    unless set); without ffmpeg the cameras are listed with no picture, and the console says so."""
    from pathlib import Path

    from esupervision.video_demo import build_video_demo, prepare_demo_video
    if not get_settings().video_dir:
        os.environ["ESV_VIDEO_DIR"] = str(Path("video-demo").resolve())
        get_settings.cache_clear()
    build_video_demo(_engine())
    console.print(prepare_demo_video(Path(get_settings().video_dir or "video-demo")), markup=False, highlight=False)


class _PagesBuild:
    """web/dist made current in a thread (esupervision.web_build), its outcome said on the console."""

    def __init__(self) -> None:
        import threading

        from esupervision.web_build import PagesBuilt, ensure_pages
        self._result: list[PagesBuilt] = []
        self._thread = threading.Thread(target=lambda: self._result.append(ensure_pages(self._say)),
                                        name="pages-build", daemon=True)
        self._thread.start()

    @staticmethod
    def _say(line: str) -> None:
        console.print(line, markup=False, highlight=False)

    def wait(self) -> None:
        self._thread.join()
        for outcome in self._result:
            self._say(outcome.message)


def _public_url_of(host: str, port: int) -> None:
    """Links this server hands out (report PDFs, provider callbacks) name the address it serves on,
    unless ESV_PUBLIC_URL says otherwise (a proxy or a domain in front of it)."""
    if "public_url" in get_settings().model_fields_set:
        return
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    os.environ["ESV_PUBLIC_URL"] = f"http://{shown}:{port}"   # API processes started by uvicorn too
    get_settings.cache_clear()


@main.command()
@click.option("--processes", default=2, show_default=True, help="notice delivery worker processes")
@click.option("--threads", default=8, show_default=True, help="delivery threads per process")
def worker(processes: int, threads: int) -> None:
    """Run the light-transition scheduler, the notice relay and receipt polling here, and
    notice delivery in Dramatiq worker processes on the configured broker (Redis / RabbitMQ)."""
    _refuse_unfit()
    from esupervision.redaction import install as redact_logs
    redact_logs(get_settings())
    ensure_schema()
    settings = get_settings()
    engine = _engine()
    _refuse_unfit(engine)
    import signal
    import subprocess

    from esupervision.workers.dispatch import start_in_process
    from esupervision.workers.lights import LightScheduler
    from esupervision.workers.channel import channel
    channel()   # light changes announced here reach subscribers of every API process
    scheduler = LightScheduler(engine)
    running = start_in_process(engine, settings, consume=settings.broker == "inprocess")
    poller = None
    if "aliyun" in running.dispatch.gateway.providers:
        from esupervision.workers.status import StatusPoller
        poller = StatusPoller(engine, running.dispatch.gateway.providers["aliyun"], settings.notify_status_poll_s)
        poller.start_thread()
    children = [subprocess.Popen([sys.executable, "-m", "esupervision.workers.dispatch", "--threads", str(threads)])
                for _ in range(processes if settings.broker != "inprocess" else 0)]
    from esupervision.workers.reports import start_monthly_thread
    monthly = start_monthly_thread(engine, lambda made: console.print(
        f"上月效能报告已发布 monthly reports published: {', '.join(made)}"))
    from esupervision.workers.ledger import start_ledger_threads
    heads, nightly = start_ledger_threads(engine, lambda report: console.print(
        f"[bold red]账本校验发现篡改 ledger breach[/]: {report.lines()[0]}"))
    from esupervision.workers.county_commands import start_relay
    county_commands = start_relay(engine, channel().subscribe)
    console.print(f"light scheduler, notice relay, monthly reports, ledger heads and checks, county command relay "
                  f"and {len(children)} delivery processes running (Ctrl-C to stop)")

    from esupervision.workers.replication import Replicator
    replicator = Replicator(engine).start_thread()   # the county deployments, pulled and verified

    def stop(*_: object) -> None:
        raise KeyboardInterrupt   # SIGTERM (systemd, a supervisor) stops as Ctrl-C does: children included

    signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.run()
    except KeyboardInterrupt:
        scheduler.stop()
    finally:
        replicator.stop()
        monthly.set()
        county_commands.stop()
        heads.stop()
        nightly.set()
        running.stop()
        if poller:
            poller.stop()
        for child in children:
            child.terminate()
        for child in children:
            child.wait(30)


# ----------------------------------------------------------------------------- keys

@main.group()
def keys() -> None:
    """Secrets of a deployment."""


@keys.command("generate")
def keys_generate() -> None:
    """Print fresh secrets as lines of an env file (JWT secret, Ed25519 ledger seed in base64,
    receipt and metrics tokens), with the ledger's public key as a comment."""
    import base64
    import secrets

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    seed = secrets.token_bytes(32)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    click.echo("\n".join([
        f"# esupervision 密钥 secrets, {datetime.now().astimezone().isoformat(timespec='seconds')}: 保密保存 keep private",
        f"ESV_JWT_SECRET={secrets.token_urlsafe(48)}",
        f"ESV_LEDGER_SIGNING_KEY={base64.b64encode(seed).decode()}",
        f"# 账本公钥 ledger public key (verifies checkpoints; publish it): {base64.b64encode(public).decode()}",
        f"ESV_ALIYUN_REPORT_TOKEN={secrets.token_urlsafe(32)}",
        f"ESV_METRICS_TOKEN={secrets.token_urlsafe(32)}",
        f"ESV_CTI_TOKEN={secrets.token_urlsafe(32)}",
    ]))


# ----------------------------------------------------------------------------- calendar

@main.group()
def calendar() -> None:
    """The working-day calendar."""


@calendar.command("load")
@click.argument("file", type=click.Path(path_type=Path))
def calendar_load(file: Path) -> None:
    """Load a newly announced year and recompute every open clock it touches."""
    from esupervision.models.clocks.calendar import parse_calendar_file
    from esupervision.models.clocks.recalendar import load_year
    from esupervision.models.ledger.transaction import transaction

    ensure_schema()
    try:
        year = parse_calendar_file(file)
        with transaction(_engine(), actor="cli:calendar") as tx:
            moved = load_year(tx, year)
    except DomainError as exc:
        _fail(exc)
    console.print(f"{year.year} 年日历已载入 loaded ({len(year.holidays)} holidays, "
                  f"{len(year.workdays)} adjusted working days); {moved} open clocks recomputed")


@calendar.command("show")
@click.argument("year", type=int)
def calendar_show(year: int) -> None:
    """List the days of YEAR that differ from the weekly pattern."""
    cal = _calendar()
    table = Table(title=f"{year} 年工作日历" + ("" if year in cal.official_years else "（无官方数据，按周末推算 provisional）"))
    for column in ("日期 date", "星期", "上班 working", "说明"):
        table.add_column(column)
    for day, working, name in cal.describe_year(year):
        table.add_row(day.isoformat(), "一二三四五六日"[day.weekday()], "是" if working else "否", name)
    Console().print(table)


def _calendar():
    from sqlmodel import Session

    from esupervision.models.clocks.calendar import calendar_for, default_calendar
    try:
        with Session(_engine()) as session:
            return calendar_for(session, None)
    except Exception:  # no database yet: the package's data alone
        return default_calendar()


@calendar.command("due")
@click.argument("start")
@click.argument("n", type=int)
@click.option("--natural", is_flag=True, help="natural days instead of working days")
def calendar_due(start: str, n: int, natural: bool) -> None:
    """Deadline of a clock started at START (date or ISO instant) with N days."""
    from esupervision.models.clocks.clock import LOCAL_TZ, Basis, compute_deadline

    try:
        started = datetime.fromisoformat(start)
    except ValueError:
        raise click.BadParameter(f"{start!r} is not a date or ISO instant", param_hint="START")
    if started.tzinfo is None:
        started = datetime.combine(started.date(), started.time() if len(start) > 10 else time(9), LOCAL_TZ)
    if n < 0:
        raise click.BadParameter("N must not be negative", param_hint="N")
    deadline = compute_deadline(_calendar(), started_at=started, limit_days=n,
                                basis=Basis.NATURAL if natural else Basis.WORKING)
    click.echo(json.dumps({"due": deadline.due_at.astimezone(LOCAL_TZ).isoformat(),
                           "provisional": deadline.provisional}))


# ----------------------------------------------------------------------------- import

@main.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--mapping", required=True, help="a built-in mapping (bpic15, receipt, csv-example) or a YAML path")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object with the counts")
def import_(file: Path, mapping: str, as_json: bool) -> None:
    """Replay a CSV or XES log (plain or gzipped) through the department-report service."""
    from rich.progress import DownloadColumn, TaskID

    from esupervision.importing.convert import ADJUSTMENTS
    from esupervision.importing.run import ImportProgress, import_file

    ensure_schema()
    phases = {"check": "检查", "import": "导入"}
    try:
        # Progress is bytes of the file read (its size is known) and cases done, per pass.
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                      console=console, transient=False) as progress:
            tasks: dict[str, TaskID] = {}

            def report(at: ImportProgress) -> None:
                if at.phase not in tasks:
                    tasks[at.phase] = progress.add_task("", total=at.bytes_total)
                progress.update(tasks[at.phase], completed=at.bytes_read,
                                description=f"{phases[at.phase]} {file.name}: {at.cases} 件")

            counts = import_file(_engine(), file, mapping, progress=report)
    except DomainError as exc:
        _fail(exc)
    _sign_heads()   # the end of a burst of commits: its heads signed and witnessed now
    if as_json:
        click.echo(json.dumps(counts, ensure_ascii=False))
        return
    for key, value in counts.items():
        if key == "adjustments":
            click.echo(f"{key}: {sum(value.values())}" + ("" if value else " (none)"))
            for rule, count in value.items():
                click.echo(f"  {rule}: {count}  {ADJUSTMENTS.get(rule, '')}")
        elif key == "missing_attributes":
            click.echo(f"{key}: {len(value)}" + ("" if value else " (none)"))
            for mapping_key, found in value.items():
                click.echo(f"  {mapping_key} ({found['attribute']}): missing in {found['missing']} "
                           f"of {found['of']} {found['per']}s")
        else:
            click.echo(f"{key}: {value}")


# ----------------------------------------------------------------------------- schema

@main.group()
def schema() -> None:
    """The GraphQL schema."""


@schema.command("export")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="write the SDL here (default: standard output)")
def schema_export(output: Path | None) -> None:
    """Write the federated subgraph SDL (committed as clients/schema.graphql)."""
    from esupervision.api.sdl import export_sdl
    sdl = export_sdl()
    if output is None:
        click.echo(sdl, nl=False)
    else:
        output.write_text(sdl, encoding="utf-8")
        console.print(f"schema written to {output}")


# ----------------------------------------------------------------------------- tenders

@main.group()
def tenders() -> None:
    """Tender supervision (招投标监察)."""


@tenders.command("export-ocds")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="write the release package here (default: standard output)")
@click.option("--code", "codes", multiple=True, help="only this tender (repeatable)")
@click.option("--records", is_flag=True, help="a record package (each tender's releases and compiled release)")
def tenders_export_ocds(output: Path | None, codes: tuple[str, ...], records: bool) -> None:
    """Write an OCDS release package, one release per stage event (or with --records a record
    package), validated against the OCDS schema installed with the package."""
    from esupervision.models.tenders.ocds import export_records, export_tenders
    from esupervision.models.ledger.transaction import transaction
    try:
        with transaction(_engine(), actor="cli:ocds") as tx:
            package = (export_records if records else export_tenders)(tx, list(codes) or None)
    except DomainError as exc:
        _fail(exc)
    text = json.dumps(package, ensure_ascii=False, indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        count = len(package["records"]) if records else len(package["releases"])
        console.print(f"{count} {'records' if records else 'releases'} written to {output}")


# ----------------------------------------------------------------------------- reports

@main.group()
def reports() -> None:
    """Published efficiency reports (效能公开)."""


@reports.command("publish-monthly")
@click.option("--today", default=None, help="YYYY-MM-DD (default: today in the center's time zone)")
@click.option("--center", "centers", multiple=True, help="only this center code (repeatable)")
def reports_publish_monthly(today: str | None, centers: tuple[str, ...]) -> None:
    """Publish last month's report of every center; a month already published is left as it was."""
    from esupervision.workers.reports import publish_monthly
    results = publish_monthly(_engine(), today=date.fromisoformat(today) if today else None,
                              center_codes=list(centers) or None)
    for r in results:
        state = r.error or ("已发布 published" if r.created else "已存在 already published")
        click.echo(f"{r.center_code}\t{state}\t{r.report_id or ''}\t{r.notices} notices")
    if any(r.error for r in results):
        sys.exit(2)


@reports.command("publish")
@click.option("--center", "center_code", required=True, help="center code")
@click.option("--from", "period_from", required=True, help="first day, YYYY-MM-DD")
@click.option("--to", "period_to", required=True, help="last day, YYYY-MM-DD")
def reports_publish(center_code: str, period_from: str, period_to: str) -> None:
    """Publish one center's report for any period that has ended."""
    from esupervision.models.catalogue.catalogue import center_by_code
    from esupervision.models.supervision.publication import publish_report
    from esupervision.models.ledger.transaction import transaction
    try:
        with transaction(_engine(), actor="cli:reports") as tx:
            done = publish_report(tx, center_id=center_by_code(tx, center_code).id,
                                  period_from=date.fromisoformat(period_from),
                                  period_to=date.fromisoformat(period_to))
    except DomainError as exc:
        _fail(exc)
    click.echo(f"{done.report.title}\t{'已发布 published' if done.created else '已存在 already published'}"
               f"\t{done.report.id}\t{done.notices} notices")


# ----------------------------------------------------------------------------- ledger

@main.group()
def ledger() -> None:
    """The tamper-evident ledger: one transparency log per center."""


def _verifier(public_key: Path | None):  # noqa: ANN202
    """The verifier key of --public-key, else of ESV_LEDGER_PUBLIC_KEY_FILE; only without either
    is it derived from the signing seed (said so on the console)."""
    from esupervision.models.ledger.checkpoint import CheckpointError, read_verifier
    from esupervision.models.ledger.ledger import signer_from_settings

    settings = get_settings()
    path = public_key or (Path(settings.ledger_public_key_file) if settings.ledger_public_key_file else None)
    if path is None:
        console.print("未给公钥，使用签名密钥推出的公钥 no --public-key: using the key of ESV_LEDGER_SIGNING_KEY")
        return signer_from_settings().verifier()
    try:
        return read_verifier(path.read_text(encoding="utf-8"), settings.ledger_log_name)
    except (OSError, CheckpointError) as exc:
        raise click.BadParameter(str(exc), param_hint="--public-key") from None


def _witness(location: str | None):  # noqa: ANN202
    from esupervision.witness import witness_at
    location = location or get_settings().ledger_witness
    if not Path(location).is_dir():
        console.print(f"[yellow]见证目录不存在 no witness at {location}[/]: 只能对照数据库中的签名树头 "
                      "heads are checked against the database alone")
        return None
    return witness_at(location)


@ledger.command("verify")
@click.option("--public-key", type=click.Path(path_type=Path, dir_okay=False),
              help="the verifier key file (`esv ledger public-key`); nothing secret is needed")
@click.option("--witness", "witness_at", default=None, help="the witness directory (default: ESV_LEDGER_WITNESS)")
@click.option("--projections/--no-projections", default=True, show_default=True,
              help="replay the ledger in memory and compare every projected row")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def ledger_verify(public_key: Path | None, witness_at: str | None, projections: bool, as_json: bool) -> None:
    """Check every center's log: positions 1, 2, … with no seq 0, gap or duplicate; hashes, links
    and the Merkle tree; every signed head (database and witness) with the public key; the
    witness's heads still proven (nothing cut off, rewritten or removed); served proofs; and the
    projections against the ledger. Exit 1 naming each breach by its first seq affected."""
    from sqlmodel import Session

    from esupervision.models.ledger.audit import audit
    verifier = _verifier(public_key)
    witness = _witness(witness_at)
    with Session(_engine()) as session, _progress() as progress:
        task = progress.add_task("校验账本 verifying", total=None)
        report = audit(session, verifier, witness=witness, projections=projections,
                       progress=lambda n: progress.advance(task, n))
    if as_json:
        click.echo(json.dumps({
            "intact": report.intact, "events": report.events, "logs": len(report.chains),
            "heads_checked": sum(c.heads_checked for c in report.chains),
            "uncovered": {str(c.center_id): c.uncovered for c in report.chains if c.uncovered},
            "foreign": [str(c.center_id) for c in report.chains if c.foreign],
            "breaches": [{"center_id": str(b.center_id), "seq": b.seq, "event_id": b.event_id,
                          "kind": b.kind.value, "detail": b.detail} for b in report.breaches],
            "differences": [{"table": d.table, "row_id": d.row_id, "column": d.column,
                             "ledger": d.ledger, "live": d.live} for d in report.differences],
        }, ensure_ascii=False, default=str))
    else:
        for line in report.lines():
            click.echo(line, err=True)
        for chain in report.chains:
            if chain.foreign:
                console.print(f"[yellow]见证者持有本数据库没有的中心的账本[/] the witness holds a log of center "
                              f"{chain.center_id}, which this database has no trace of (another database's, or "
                              "a center deleted whole): not verified")
            elif witness is not None and chain.uncovered:
                console.print(f"尚未见证 not yet witnessed: center {chain.center_id}: {chain.uncovered} newest events")
    if not report.intact:
        sys.exit(1)
    if not as_json:
        click.echo(f"账本完整 ledger intact: {report.events} events in "
                   f"{sum(not c.foreign for c in report.chains)} logs verified, "
                   f"{sum(c.heads_checked for c in report.chains)} signed heads checked"
                   + (", projections match the ledger" if report.projections_checked else ""))


@ledger.command("verify-proof")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--public-key", type=click.Path(path_type=Path, dir_okay=False), help="the verifier key file")
@click.option("--witness", "witness_at", default=None,
              help="also require each checkpoint of the proof to be the witness's head of its size")
def ledger_verify_proof(file, public_key: Path | None, witness_at: str | None) -> None:  # noqa: ANN001
    """Check a proof as /ledger/... serves it (inclusion, consistency, a case's history) with the
    public key alone; exit 1 if it proves nothing."""
    from esupervision.models.ledger.checkpoint import CheckpointError
    from esupervision.models.ledger.merkle import ProofError
    from esupervision.models.ledger.proofs import check_document, witnessed_as_served

    verifier = _verifier(public_key)
    try:
        document = json.load(file)
        proved = check_document(document, verifier)
        if witness_at:
            from esupervision.witness import witness_at as open_witness
            witnessed_as_served(document, verifier, open_witness(witness_at))
    except (ProofError, CheckpointError, KeyError, TypeError, ValueError) as exc:
        click.echo(f"证明无效 proof does not hold: {exc}", err=True)
        sys.exit(1)
    click.echo(f"证明成立 proof holds: {proved}")


@ledger.command("replay")
@click.option("--force", is_flag=True, help="replay even a ledger that does not verify")
def ledger_replay(force: bool) -> None:
    """Rebuild the projections from the ledger alone (after verifying it: a tampered ledger is
    not replayed unless --force)."""
    from sqlmodel import Session

    from esupervision.models.ledger.ledger import verify_chains
    from esupervision.models.ledger.replay import replay
    with Session(_engine()) as session:
        breaches = [b for c in verify_chains(session, _verifier(None), witness=_witness(None)) for b in c.breaches]
    if breaches and not force:
        for breach in breaches:
            click.echo(breach.describe(), err=True)
        click.echo("账本未通过校验，不重放 the ledger does not verify: not replayed (--force to replay anyway)", err=True)
        sys.exit(1)
    with Session(_engine()) as session, _progress() as progress:
        task = progress.add_task("重放账本 replaying", total=None)
        counts = replay(session, progress=lambda n: progress.advance(task, n))
        session.commit()
    click.echo(json.dumps(counts))


@ledger.command("checkpoint")
def ledger_checkpoint() -> None:
    """Sign the tree head of every chain that grew, now, and publish it to the witness."""
    _sign_heads()


def _sign_heads() -> None:
    from sqlmodel import Session

    from esupervision.models.clocks import timesource
    from esupervision.models.ledger.ledger import signer_from_settings
    from esupervision.models.ledger.tree import sign_heads
    from esupervision.witness import publish_heads, witness_from_settings

    signer = signer_from_settings()
    with Session(_engine()) as session:
        signed = len(sign_heads(session, signer, now=timesource.now()))
        session.commit()
    published = publish_heads(_engine(), witness_from_settings(), signer.name)
    console.print(f"{signed} 个签名树头 signed tree heads; {published} published to the witness "
                  f"{get_settings().ledger_witness}")


@ledger.command("public-key")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="write the verifier key here (default: standard output)")
def ledger_public_key(output: Path | None) -> None:
    """Print the verifier key of the ledger (name+keyhash+Ed25519 key): it verifies every signed
    head and cannot sign one; publish it."""
    from esupervision.models.ledger.ledger import signer_from_settings
    text = signer_from_settings().verifier().text()
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"verifier key written to {output}")


# ----------------------------------------------------------------------------- first run, accounts, catalogue

from esupervision.first_run import accounts, catalogue, init  # noqa: E402  (commands of their own module)

main.add_command(init)
main.add_command(accounts)
main.add_command(catalogue)

from esupervision.counties_cli import counties  # noqa: E402  (its own module: the county deployments)

main.add_command(counties)
from esupervision.county_commands_cli import attach as attach_county_commands  # noqa: E402  (city-key, credential, commands)

attach_county_commands(counties)


if __name__ == "__main__":
    main()
