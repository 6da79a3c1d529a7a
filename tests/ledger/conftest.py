"""A demo-like database with a witness, built once per engine (SQLite and PostgreSQL) and test run
through the real service functions, and a fresh copy of both for each test to attack.

The template: the demo city (``build_demo``, a few dozen cases with their supervision story),
signed and published; its tenders (``build_tender_demo``), signed and published; two days later
the lights that fell due meanwhile (the light scheduler), signed and published. So the city's
log has two witnessed heads of some thousand events (subtree roots stored from 256 up), the
county logs with tenders two or three.
"""
from __future__ import annotations

import atexit
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from esupervision.db import make_engine
from esupervision.migrate import table_metadata
from esupervision.models.clocks import timesource
from esupervision.models.ledger.checkpoint import Verifier, read_verifier
from esupervision.models.ledger.ledger import LedgerEvent, signer_from_settings
from esupervision.models.ledger.tree import sign_heads
from esupervision.witness import DirectoryWitness, publish_heads
from tests.conftest import ENGINES, POSTGRES_SERVER, _postgres_admin, unreachable

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


def _build(url: str, folder: Path) -> None:
    from esupervision.demo import build_demo
    from esupervision.tender_demo import build_tender_demo
    from esupervision.workers.lights import LightScheduler

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


def _new_database(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'template.db'}"
    name = f"esv_test_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin()
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        unreachable("PostgreSQL at 127.0.0.1:5432", exc.orig or exc)
    finally:
        admin.dispose()
    return f"{POSTGRES_SERVER}/{name}"


def _drop_database(kind: str, url: str) -> None:
    if kind == "sqlite":
        return
    name = url.rsplit("/", 1)[1]
    admin = _postgres_admin()
    try:
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# The templates this process holds a reference to (released when the process exits).
_HELD: set[str] = set()


def _release(kind: str, lock: Path, state_file: Path, folder: Path) -> None:
    with _locked(lock):
        state = json.loads(state_file.read_text())
        state["users"] -= 1
        if state["users"]:
            state_file.write_text(json.dumps(state))
            return
        _drop_database(kind, state["url"])
        state_file.unlink()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", params=ENGINES)
def demo_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Template:
    """Built once for all the xdist workers of a run (a lock and a count of the processes using it
    beside it in the run's temporary root), and kept until the last of them exits: pytest sets a
    parametrized session fixture up again whenever a worker's tests switch engines."""
    kind = request.param
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    folder, state_file, lock = (shared / f"ledger-demo-{kind}", shared / f"ledger-demo-{kind}.json",
                                shared / f"ledger-demo-{kind}.lock")
    with _locked(lock):
        state = json.loads(state_file.read_text()) if state_file.exists() else None
        if state is None:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            url = _new_database(kind, folder)
            try:
                _build(url, folder)
            except BaseException:
                _drop_database(kind, url)
                raise
            state = {"url": url, "users": 0}
        if kind not in _HELD:
            _HELD.add(kind)
            state["users"] += 1
            atexit.register(_release, kind, lock, state_file, folder)
        state_file.write_text(json.dumps(state))
    return Template(kind, state["url"], folder)


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
