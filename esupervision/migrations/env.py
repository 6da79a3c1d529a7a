"""Alembic environment: the URL comes from the caller or settings, the schema from SQLModel."""
from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from esupervision.migrate import database_url, render_item, table_metadata

config = context.config
if config.config_file_name and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = table_metadata()


def options(url: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        "render_as_batch": make_url(url).get_backend_name() == "sqlite",
        "render_item": render_item,
        "compare_type": True,
    }


def run_offline(url: str) -> None:
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **options(url))
    with context.begin_transaction():
        context.run_migrations()


def run_online(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **options(url))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


url = database_url(config.attributes.get("url") or config.get_main_option("sqlalchemy.url"))
if context.is_offline_mode():
    run_offline(url)
else:
    run_online(url)
