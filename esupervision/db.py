"""Engines and sessions: SQLite file by default, PostgreSQL through DATABASE_URL; bulk writes
of many rows in a few statements (COPY on PostgreSQL)."""
from __future__ import annotations

import operator
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import timezone
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Table, any_, bindparam, event, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from esupervision.settings import get_settings


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    # orjson for JSON columns: the ledger writes a JSON document per event.
    json_options = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **json_options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy emits BEGIN instead.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # pragma: no cover - trivial
            # IMMEDIATE takes the write lock up front: two deferred writers would deadlock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **json_options)

    @event.listens_for(engine, "connect")
    def _postgresql_session(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
        autocommit, dbapi_conn.autocommit = dbapi_conn.autocommit, True
        try:
            # Instants are read back in UTC, as they are stored (every column is timestamptz and
            # no SQL of ours depends on the session's zone): psycopg then builds them with
            # timezone.utc, which UTCDateTime passes through instead of converting each one.
            dbapi_conn.execute("SET TIME ZONE 'UTC'")
            try:
                # Ledger rows carry kilobytes of JSON, compressed on insert: lz4 does it several
                # times faster than pglz (PostgreSQL 14+ built with lz4; otherwise pglz stays).
                dbapi_conn.execute("SET default_toast_compression = 'lz4'")
            except dbapi_conn.Error:
                pass
        finally:
            dbapi_conn.autocommit = autocommit

    return engine


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url or get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# ----------------------------------------------------------------------------- bulk writes
# The batch ingest writes thousands of new and changed rows per transaction. PostgreSQL gets them
# by COPY and by one UPDATE per set of changed columns; SQLite (no COPY) by executemany.

def among(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``: one parameter, so the SQL
    text (and its parse) is the same however many values there are."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def select_among(session: Session, columns: Sequence[Any], column: Any, values: Collection[Any], *,
                 order_by: Any = None, lock: bool = False, **also: Collection[Any]) -> list[tuple[Any, ...]]:
    """``SELECT columns WHERE column IN values`` (and each column named in ``also`` among
    those), as plain tuples; ``lock``: FOR UPDATE.

    On PostgreSQL the query goes straight to psycopg, ids as binary arrays and results in binary:
    a batch reads thousands of rows, and SQLAlchemy's per-row result processing cost as much as
    the reading. (Sessions are in UTC, so instants come back as UTCDateTime columns give them.)"""
    table = column.table
    connection = session.connection()
    dbapi = connection.connection.driver_connection
    if connection.dialect.name != "postgresql" or dbapi.info.timezone is not timezone.utc:
        query = select(*columns).where(among(session, column, values),
                                       *(table.c[k].in_(v) for k, v in also.items()))
        if order_by is not None:
            query = query.order_by(order_by)
        if lock:
            query = query.with_for_update()
        return [tuple(row) for row in session.execute(query)]
    key = (tuple(columns), column, tuple(also), order_by, lock)
    sql = _SELECTS.get(key)
    if sql is None:
        dialect = connection.dialect
        quote = dialect.identifier_preparer.quote

        def any_of(c: Any) -> str:
            return f"{quote(c.name)} = ANY(%b::{ARRAY(c.type).compile(dialect=dialect)})"
        sql = _SELECTS[key] = (
            f"SELECT {', '.join(quote(c.name) for c in columns)} FROM {quote(table.name)} "
            f"WHERE {' AND '.join(any_of(c) for c in (column, *(table.c[k] for k in also)))}"
            + (f" ORDER BY {quote(order_by.name)}" if order_by is not None else "")
            + (" FOR UPDATE" if lock else ""))
    with dbapi.cursor(binary=True) as cursor:
        cursor.execute(sql, [list(values), *(list(v) for v in also.values())])
        return cursor.fetchall()


_SELECTS: dict[tuple[Any, ...], str] = {}


def insert_rows(session: Session, table: Table, rows: Sequence[Any]) -> None:
    """Insert new rows; ``rows`` are objects with an attribute per column (records or models)."""
    if not rows:
        return
    columns = [c.key for c in table.columns]
    if session.get_bind().dialect.name != "postgresql":
        values = [dict(zip(columns, r, strict=True)) for r in map(operator.attrgetter(*columns), rows)]
        for start in range(0, len(values), 1000):
            session.execute(insert(table), values[start:start + 1000])
        return
    # Binary COPY: psycopg encodes ids, instants and numbers in C, four times faster than text.
    quote = session.get_bind().dialect.identifier_preparer.quote
    names = ", ".join(quote(c.name) for c in table.columns)
    connection = session.connection()
    types = _column_types(connection, table)
    values_of = operator.attrgetter(*columns)
    dbapi = connection.connection.driver_connection
    with dbapi.cursor() as cursor, cursor.copy(
            f"COPY {quote(table.name)} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in map(values_of, rows):
            copy.write_row(row)


def insert_new_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]], key: str) -> None:
    """Insert rows (dicts with every column) except those whose unique ``key`` exists already.

    PostgreSQL gets them as one JSON document taken apart by the server (COPY has no ON
    CONFLICT); SQLite as one executemany of INSERT … ON CONFLICT DO NOTHING."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=[key])
        for start in range(0, len(rows), 1000):
            session.execute(statement, list(rows[start:start + 1000]))
        return
    quote = session.get_bind().dialect.identifier_preparer.quote
    name = quote(table.name)
    names = ", ".join(quote(c.name) for c in table.columns)
    dbapi = session.connection().connection.driver_connection
    # Values as orjson writes them (as the JSON columns' own serializer does): instants in ISO
    # 8601 with their offset, ids as text; the server casts each to its column's type.
    dbapi.execute(f"INSERT INTO {name} ({names}) SELECT {names} "
                  f"FROM json_populate_recordset(NULL::{name}, %s::json) "
                  f"ON CONFLICT ({quote(table.c[key].name)}) DO NOTHING",
                  [orjson.dumps([{c.name: row[c.key] for c in table.columns} for row in rows]).decode()])


def _column_types(connection: Any, table: Table) -> list[int]:
    """The type oids of ``table``'s columns, in order (read once per database connection)."""
    known = connection.info.setdefault("esv_column_types", {})
    if table.name not in known:
        oids = dict(connection.exec_driver_sql(
            "SELECT attname, atttypid::int FROM pg_attribute "
            "WHERE attrelid = %(table)s::regclass AND attnum > 0 AND NOT attisdropped",
            {"table": connection.dialect.identifier_preparer.quote(table.name)}).all())
        known[table.name] = [oids[c.name] for c in table.columns]
    return known[table.name]


def update_rows(session: Session, table: Table, columns: Collection[str], rows: Sequence[Any]) -> None:
    """Set ``columns`` of existing rows, matched on ``id``, to the values the objects hold."""
    if not rows or not columns:
        return
    columns = sorted(columns)
    if session.get_bind().dialect.name != "postgresql":
        statement = update(table).where(table.c.id == bindparam("_id")).values(
            {c: bindparam(c) for c in columns})
        values = [{"_id": r.id, **{c: getattr(r, c) for c in columns}} for r in rows]
        for start in range(0, len(values), 1000):
            session.execute(statement, values[start:start + 1000])
        return
    # One statement: the rows travel as one JSON document, taken apart by the server.
    quote = session.get_bind().dialect.identifier_preparer.quote
    name = quote(table.name)
    names = ["id", *(table.c[c].name for c in columns)]
    assignments = ", ".join(f"{quote(n)} = s.{quote(n)}" for n in names[1:])
    values_of = operator.attrgetter("id", *columns)
    document = orjson.dumps([dict(zip(names, values_of(r))) for r in rows]).decode()
    dbapi = session.connection().connection.driver_connection
    dbapi.execute(f"UPDATE {name} AS t SET {assignments} "
                  f"FROM json_populate_recordset(NULL::{name}, %s::json) AS s WHERE t.id = s.id",
                  [document])
