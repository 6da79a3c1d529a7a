"""Schema migrations from code: Alembic driven through ``alembic.config.Config``.

The scripts ship inside the package (``esupervision/migrations``), so these helpers work from an
installed package in any working directory. The URL is the caller's, else ``DATABASE_URL`` from
settings; either goes through ``esupervision.db.normalize_url``.

Write the first revision once every table module is imported by ``esupervision.models.tables``::

    python -c "from esupervision.migrate import revision; revision('initial schema')"
"""
from __future__ import annotations

import importlib
import tempfile
from importlib.resources import files
from typing import Any, Literal

from alembic import command
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import MetaData, create_engine
from sqlalchemy.dialects import postgresql
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from esupervision.db import normalize_url
from esupervision.models.base import UTCDateTime
from esupervision.settings import get_settings

TABLES_MODULE = "esupervision.models.tables"


def table_metadata() -> MetaData:
    """SQLModel's metadata with every product table registered on it."""
    try:
        importlib.import_module(TABLES_MODULE)
    except ModuleNotFoundError as exc:
        # Tolerated only while models/tables.py does not exist yet; a missing import inside it is a bug.
        if exc.name != TABLES_MODULE:
            raise
    return SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate hook: column types rendered as importable references, the rest as usual.

    The revision template imports ``esupervision.models.base`` for ``UTCDateTime``."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "esupervision.models.base.UTCDateTime()"
    if isinstance(obj, postgresql.JSON):
        # Alembic qualifies astext_type=sa.Text() only when comparing against PostgreSQL itself;
        # revisions written against SQLite (the default scratch) would name a bare Text().
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        none_as_null = "none_as_null=True, " if obj.none_as_null else ""
        return f"postgresql.{type(obj).__name__}({none_as_null}astext_type=sa.Text())"
    return False


def database_url(url: str | None = None) -> str:
    """The URL to migrate: ``url`` if given, else the configured ``DATABASE_URL``, normalized."""
    return normalize_url(url or get_settings().database_url)


def config(url: str | None = None) -> Config:
    """An Alembic config for the packaged scripts; ``url`` (if any) reaches env.py unchanged."""
    cfg = Config(str(files("esupervision") / "alembic.ini"))
    # Passed as an attribute, not an ini option, so a '%' in a password needs no escaping.
    cfg.attributes["url"] = url
    # The caller's logging stays as it is; the ini's logging is for the alembic CLI.
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` (default: settings) up to ``revision``."""
    command.upgrade(config(url), revision)


def head() -> str | None:
    """The newest revision in the packaged scripts, or None while there are none."""
    return ScriptDirectory.from_config(config()).get_current_head()


def current(url: str | None = None) -> str | None:
    """The revision the database at ``url`` (default: settings) is at, or None if never migrated."""
    engine = create_engine(database_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def revision(message: str, autogenerate: bool = True, url: str | None = None) -> Script | None:
    """Write a new revision into the package's ``migrations/versions``.

    With ``autogenerate`` it holds the difference between the models and the schema the existing
    revisions build, found on ``url`` (which must be at head) or, by default, on a scratch SQLite
    database brought to head for the purpose.
    """
    if url is not None or not autogenerate:
        written = command.revision(config(url), message=message, autogenerate=autogenerate)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            scratch_url = f"sqlite:///{scratch}/scratch.db"
            upgrade(scratch_url)
            written = command.revision(config(scratch_url), message=message, autogenerate=True)
    assert not isinstance(written, list), "revision() writes a single script"
    return written
