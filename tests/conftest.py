"""Fixtures shared by every test: the same behaviour test runs on SQLite and on PostgreSQL.

- ``db_url`` (session, parametrized ``sqlite`` / ``postgresql``): a URL to a database of this
  pytest process alone: a SQLite file in a temporary folder, or a fresh PostgreSQL database
  ``esv_test_<hex>`` on 127.0.0.1:5432, dropped at the end of the session.
- ``empty_db_url`` (function, parametrized the same way): a database no test has touched, for
  tests that build the schema themselves (migrations).
- ``engine`` (function): an engine on ``db_url`` with every product table created once per
  session; after each test every table is emptied, so tests never see each other's rows.
- ``redis_url``, ``rabbitmq_url`` (session): URLs of the local servers, checked with a real
  connection.
- ``fixed_time`` (function): ``models.timesource.FixedTime`` installed as the process's time
  source, at 2026-11-26 09:00 Asia/Shanghai unless parametrized indirectly with an aware datetime.
- ``empty_tables`` (function): the cleanup ``engine`` runs, as a callable, for tests that keep
  tables on a MetaData of their own.

A service that cannot be reached skips the tests that need it, except under ``CI=true``, where
it fails them: CI must never pass by skipping.

Markers: ``postgres_only`` (the SQLite variant is deselected), ``slow``.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Table, create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from esupervision.db import make_engine
from esupervision.migrate import table_metadata
from esupervision.models.clocks import timesource

IN_CI = os.environ.get("CI", "").lower() == "true"

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS_SERVER = "redis://127.0.0.1:6379"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_INSTANT = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CONNECT_TIMEOUT_S = 3
ENGINES = ["sqlite", "postgresql"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres_only: runs on PostgreSQL only (SQLite variant deselected)")
    config.addinivalue_line("markers", "slow: takes seconds, not milliseconds")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    sqlite_only_variants = [
        item
        for item in items
        if item.get_closest_marker("postgres_only")
        and getattr(item, "callspec", None) is not None
        and "sqlite" in (item.callspec.params.get("db_url"), item.callspec.params.get("empty_db_url"))
    ]
    if sqlite_only_variants:
        config.hook.pytest_deselected(items=sqlite_only_variants)
        items[:] = [item for item in items if item not in sqlite_only_variants]


def unreachable(service: str, reason: object) -> None:
    """Skip the test, or fail it under CI=true, because ``service`` cannot be reached."""
    message = f"{service} is not reachable: {reason}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: every service must be up; .ci/run starts them)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def own_witness(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test publishes signed ledger heads to a witness folder of its own: the default,
    ./ledger-witness, would be shared by all the databases the tests build, and another
    database's head of a center with the same code would read as a rewritten ledger."""
    from esupervision.settings import get_settings

    folder = tmp_path_factory.mktemp("witness")
    monkeypatch.setenv("ESV_LEDGER_WITNESS", str(folder))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def publisher_restored() -> Iterator[None]:
    """Tests that listen to announcements swap the transaction's publisher; some end by clearing it.
    Put back whatever was there before, so a later test on the same worker still hears the live
    channel (runtime.channel() wires it only when first built)."""
    from esupervision.models.ledger import transaction as tx_module

    before = tx_module._publisher
    yield
    tx_module._publisher = before


# --- databases -------------------------------------------------------------------------------


def _postgres_admin() -> Engine:
    return create_engine(
        f"{POSTGRES_SERVER}/postgres",
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[str]:
    """A URL to a new, empty database of ``kind``, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'esv.db'}"
        return

    name = f"esv_test_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin()
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        unreachable("PostgreSQL at 127.0.0.1:5432", exc.orig or exc)
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session", params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture(params=ENGINES)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with _database(request.param, tmp_path) as url:
        yield url


def _empty_tables(engine: Engine, tables: Iterable[Table]) -> None:
    """Delete every row of ``tables``: one TRUNCATE on PostgreSQL, DELETEs on SQLite."""
    ordered = list(tables)
    if not ordered:
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # A test that leaked an open transaction should fail loudly, not hang the run.
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            names = ", ".join(connection.dialect.identifier_preparer.format_table(t) for t in ordered)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            # Foreign keys are checked at commit, when every table is already empty (cycles too).
            connection.execute(text("PRAGMA defer_foreign_keys = ON"))
            for table in reversed(ordered):
                connection.execute(table.delete())


@pytest.fixture
def empty_tables() -> Callable[[Engine, Iterable[Table]], None]:
    return _empty_tables


@pytest.fixture(scope="session")
def _schema_engine(db_url: str) -> Iterator[tuple[Engine, set[str]]]:
    """One engine per database, with the product schema created once; the set lists its tables."""
    engine = make_engine(db_url)
    metadata = table_metadata()
    metadata.create_all(engine)
    yield engine, set(metadata.tables)
    engine.dispose()


@pytest.fixture
def engine(_schema_engine: tuple[Engine, set[str]]) -> Iterator[Engine]:
    engine, created = _schema_engine
    metadata = table_metadata()
    if not created.issuperset(metadata.tables):
        # A table registered after the session began (a test module defining its own SQLModel).
        metadata.create_all(engine)
        created.update(metadata.tables)
    yield engine
    _empty_tables(engine, metadata.sorted_tables)


@pytest.fixture(scope="module")
def _second_database(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """Another database of the same engine as ``engine``, made once per module: a second
    deployment (a county beside the city)."""
    kind = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    with _database(kind, tmp_path_factory.mktemp("second")) as url:
        second = make_engine(url)
        table_metadata().create_all(second)
        yield second
        second.dispose()


@pytest.fixture
def second_engine(_second_database: Engine) -> Iterator[Engine]:
    """The second deployment's database, emptied after each test as ``engine`` is."""
    yield _second_database
    _empty_tables(_second_database, table_metadata().sorted_tables)


# --- broker and cache ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    # A database per xdist worker ("gw0", "gw1", ...), so a FLUSHDB in one never empties another's
    # keys. Pub/sub channels are server-wide whatever the database: tests name theirs uniquely.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = 1 + int(worker.removeprefix("gw")) % 15
    url = f"{REDIS_SERVER}/{index}"
    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=CONNECT_TIMEOUT_S)
    try:
        client.ping()
    except redis.RedisError as exc:
        unreachable("Redis at 127.0.0.1:6379", exc)
    finally:
        client.close()
    return url


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    import pika
    from pika.exceptions import AMQPError

    parameters = pika.URLParameters(
        f"{RABBITMQ_URL}?connection_attempts=1&socket_timeout={CONNECT_TIMEOUT_S}"
        f"&blocked_connection_timeout={CONNECT_TIMEOUT_S}"
    )
    try:
        pika.BlockingConnection(parameters).close()
    except (AMQPError, OSError) as exc:
        unreachable("RabbitMQ at 127.0.0.1:5672", repr(exc))
    return RABBITMQ_URL


# --- time ------------------------------------------------------------------------------------


@pytest.fixture
def fixed_time(request: pytest.FixtureRequest) -> Iterator[timesource.FixedTime]:
    """Usage: ``fixed_time.advance(hours=2)``; another start with
    ``@pytest.mark.parametrize("fixed_time", [aware_datetime], indirect=True)``."""
    clock = timesource.FixedTime(getattr(request, "param", DEFAULT_INSTANT))
    previous = timesource.install(clock)
    try:
        yield clock
    finally:
        timesource.install(previous)
