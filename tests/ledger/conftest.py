"""A demo-like database with a witness, built once per engine (SQLite and PostgreSQL) through the
real service functions, and a fresh copy of both for each test to attack.

The template: the demo city (``build_demo``, a few dozen cases with their supervision story),
signed and published; its tenders (``build_tender_demo``), signed and published; two days later
the lights that fell due meanwhile (the light scheduler), signed and published. So the city's
log has two witnessed heads of some thousand events (subtree roots stored from 256 up), the
county logs with tenders two or three.
"""
from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.db import make_engine
from esupervision.migrate import table_metadata
from esupervision.models.clocks import timesource
from esupervision.models.ledger.checkpoint import Verifier, read_verifier
from esupervision.models.ledger.ledger import LedgerEvent, signer_from_settings
from esupervision.models.ledger.tree import sign_heads
from esupervision.witness import DirectoryWitness, publish_heads
from tests.conftest import ENGINES, POSTGRES_SERVER, _database, _postgres_admin

SH = ZoneInfo("Asia/Shanghai")
BUILT_AT = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
CASES = 40


def sign_and_publish(engine: Engine, witness: DirectoryWitness, now: datetime) -> int:
    with Session(engine) as session:
        signed = len(sign_heads(session, signer_from_settings(), now=now))
        session.commit()
    publish_heads(engine, witness)
    return signed


@dataclass
class Template:
    kind: str
    url: str
    folder: Path

    @property
    def witness(self) -> Path:
        return self.folder / "witness"


@pytest.fixture(scope="session", params=ENGINES)
def demo_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    from esupervision.demo import build_demo
    from esupervision.tender_demo import build_tender_demo
    from esupervision.workers.lights import LightScheduler

    folder = tmp_path_factory.mktemp(f"ledger-demo-{request.param}")
    with _database(request.param, folder) as url:
        engine = make_engine(url)
        table_metadata().create_all(engine)
        clock = timesource.FixedTime(BUILT_AT)
        previous = timesource.install(clock)
        try:
            witness = DirectoryWitness(folder / "witness")
            build_demo(engine, now=BUILT_AT, cases=CASES)
            sign_and_publish(engine, witness, BUILT_AT)
            build_tender_demo(engine, now=BUILT_AT)
            sign_and_publish(engine, witness, BUILT_AT + timedelta(minutes=5))
            clock.advance(days=2)
            scheduler = LightScheduler(engine)
            while scheduler.run_once():
                pass
            sign_and_publish(engine, witness, clock.now())
        finally:
            timesource.install(previous)
            engine.dispose()
        yield Template(request.param, url, folder)


@dataclass
class DemoCopy:
    """A copy of the template's database and witness, and the verifier key (nothing secret)."""

    engine: Engine
    url: str
    witness: DirectoryWitness
    key_file: Path

    @property
    def verifier(self) -> Verifier:
        return read_verifier(self.key_file.read_text(encoding="utf-8"), "esupervision")

    def city_chain(self) -> uuid.UUID:
        """The center with the longest log (the city)."""
        with Session(self.engine) as s:
            return s.execute(select(LedgerEvent.center_id).group_by(LedgerEvent.center_id)
                             .order_by(func.count().desc())).scalars().first()

    def hex_id(self, value: uuid.UUID) -> object:
        """An id as a raw statement binds it (SQLite keeps uuids as 32 hex digits)."""
        return value.hex if self.engine.dialect.name == "sqlite" else value

    def sql(self, statement: str, **params: object) -> None:
        with self.engine.begin() as c:
            c.execute(text(statement), params)


@pytest.fixture
def demo_copy(demo_template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoCopy]:
    """A fresh copy of the template; the public key in a file; and no usable signing seed in the
    settings, so nothing the test verifies can lean on the private key."""
    key_file = tmp_path / "ledger.pub"
    key_file.write_text(signer_from_settings().verifier().text() + "\n", encoding="utf-8")
    from esupervision.settings import get_settings
    monkeypatch.setattr(get_settings(), "ledger_signing_key", "no-seed-here")
    shutil.copytree(demo_template.witness, tmp_path / "witness")
    witness = DirectoryWitness(tmp_path / "witness")
    if demo_template.kind == "sqlite":
        source = Path(demo_template.url.removeprefix("sqlite:///"))
        shutil.copy(source, tmp_path / "copy.db")
        url = f"sqlite:///{tmp_path / 'copy.db'}"
        engine = make_engine(url)
        yield DemoCopy(engine, url, witness, key_file)
        engine.dispose()
        return
    name = f"esv_test_{uuid.uuid4().hex[:12]}"
    template_name = demo_template.url.rsplit("/", 1)[1]
    admin = _postgres_admin()
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    url = f"{POSTGRES_SERVER}/{name}"
    engine = make_engine(url)
    try:
        yield DemoCopy(engine, url, witness, key_file)
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
