"""Case pages written by PostgreSQL: each case's JSON comes from one SELECT.

The compiled plan (``api.schema.compiled``) knows every field a page asks for. On PostgreSQL it
is turned into ``json_build_object`` expressions, as Hasura and PostGraphile do: the page query
becomes a subquery, the relations are joined to its rows, the steps are a correlated ``json_agg``,
and each node arrives as JSON text that is passed on without being decoded. Python writes only
the connection around the nodes (cursors, page info).

Every value is written as the schema's serializer would write it:

- instants as ``datetime.isoformat()`` of the UTC value (``…T01:02:03[.ffffff]+00:00``);
- enums by name (a CASE over the enum's values), ``ID`` as text, ``JSON`` as stored;
- a case's light, ``overLegalLimit`` (its legal-limit clock red) and a clock's ``paused`` /
  ``finished`` by ``models.light.light_at``'s rules;
- ``statusLabel`` from ``models.case.STATUS_LABELS``.

A field it has no rule for makes the plan decline (``Unsupported``) and the Python writer answers.
Tests compare both writers and the stock executor field by field on PostgreSQL.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from graphql import GraphQLEnumType
from sqlalchemy import Boolean, Float, Integer, String, and_, case, cast, func, literal, literal_column, \
    or_, select
from sqlalchemy.dialects.postgresql import JSON as PG_JSON
from sqlalchemy.sql import ColumnElement

from esupervision.models.cases import case as domain
from esupervision.models.catalogue import catalogue
from esupervision.models.base import UTCDateTime
from esupervision.models.clocks.clock import Clock, ClockState

# json_build_object takes at most 100 arguments: 50 keys and their values.
MAX_FIELDS = 50

_TABLES = {"Center": catalogue.Center, "Department": catalogue.Department, "Window": catalogue.Window,
           "Staff": catalogue.Staff, "Item": catalogue.Item, "ClockInfo": Clock}
_CATALOGUE = {"center": catalogue.Center, "department": catalogue.Department, "window": catalogue.Window,
              "staff": catalogue.Staff, "item": catalogue.Item}
_FINISHED = (ClockState.FINISHED.value, ClockState.CANCELLED.value)


class Unsupported(Exception):
    """The plan asks for something this writer has no rule for."""


# The request's instant: a placeholder in the statement compiled once per plan, a parameter of
# each execution.
NOW = literal_column("__PAGE_NOW__", UTCDateTime())


def iso(column: Any) -> ColumnElement[Any]:
    """``datetime.isoformat()`` of the UTC instant: microseconds only when there are any."""
    utc = func.timezone("UTC", column)
    micro = func.extract("microseconds", column).cast(Integer) % 1_000_000
    return func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS') + case(
        (micro != 0, func.to_char(utc, ".US")), else_="") + "+00:00"


def enum_names(leaf: GraphQLEnumType, column: Any) -> ColumnElement[Any]:
    """The GraphQL name of the enum value stored in ``column`` (its Python enum's value)."""
    whens = [(column == getattr(v.value, "value", v.value), literal(name, String)) for name, v in leaf.values.items()]
    return case(*whens, else_=None)


def leaf_value(leaf: Any, column: Any) -> ColumnElement[Any]:
    """``column`` as the scalar or enum ``leaf`` serializes it."""
    if isinstance(leaf, GraphQLEnumType):
        return enum_names(leaf, column)
    name = leaf.name
    if name == "DateTime":
        return case((column.is_(None), None), else_=iso(column))
    if name in ("ID", "String"):
        return column if isinstance(column.type, String) else cast(column, String)
    if name == "JSON":
        return cast(column, PG_JSON)
    if name in ("Int", "Boolean", "Float"):
        wanted = {"Int": Integer, "Boolean": Boolean, "Float": Float}[name]
        if not isinstance(column.type, wanted):
            raise Unsupported(f"{name} from {column.type!r}")
        return column
    raise Unsupported(name)


def moment(clock: Any) -> ColumnElement[Any]:
    """The instant ``light_at`` reads a clock at: now, or when it finished or paused if earlier."""
    return case(
        (clock.c.state.in_(_FINISHED), func.least(NOW, func.coalesce(clock.c.finished_at, NOW))),
        (and_(clock.c.state == ClockState.PAUSED.value, clock.c.paused_at.is_not(None)),
         func.least(NOW, clock.c.paused_at)),
        else_=NOW)


def light(leaf: GraphQLEnumType, clock: Any) -> ColumnElement[Any]:
    """The clock's light as ``light_name_at`` reads it at ``moment``, by its GraphQL name."""
    names = {getattr(v.value, "value", v.value): name for name, v in leaf.values.items()}
    at = moment(clock)
    return case((and_(clock.c.red_at.is_not(None), at >= clock.c.red_at), literal(names["red"], String)),
                (clock.c.state.in_(_FINISHED), literal(names["white"], String)),   # done in time: no warning
                (and_(clock.c.yellow_at.is_not(None), at >= clock.c.yellow_at), literal(names["yellow"], String)),
                else_=literal(names["white"], String))


def over(clock: Any) -> ColumnElement[Any]:
    """Whether the clock shows red (``light``'s rule), false when there is no clock."""
    return case((and_(clock.c.id.is_not(None), clock.c.red_at.is_not(None), moment(clock) >= clock.c.red_at),
                 literal(True, Boolean)), else_=literal(False, Boolean))


def build(pairs: list[tuple[str, Any]]) -> ColumnElement[Any]:
    if len(pairs) > MAX_FIELDS:
        raise Unsupported("too many fields for one json_build_object")
    arguments: list[Any] = []
    for key, value in pairs:
        arguments += [literal_column("'" + key + "'"), value]   # keys are GraphQL names: [_A-Za-z0-9]
    return func.json_build_object(*arguments)


class NodeWriter:
    """The JSON of the plan's node selections over the page subquery ``page`` (case columns)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.joins: dict[str, Any] = {}         # relation -> alias joined to the page rows

    def relation(self, name: str) -> Any:
        if name not in self.joins:
            model = Clock if name in ("clock", "legal_clock") else _CATALOGUE[name]
            self.joins[name] = model.__table__.alias(f"page_{name}")  # type: ignore[attr-defined]
        return self.joins[name]

    def from_clause(self) -> Any:
        clause = self.page
        for name, table in self.joins.items():
            key = (func.coalesce(self.page.c.clock_id, self.page.c.acceptance_clock_id) if name == "clock"
                   else self.page.c[f"{name}_id"])
            clause = clause.outerjoin(table, table.c.id == key)
        return clause

    def missing(self) -> ColumnElement[Any]:
        """True for a row whose non-null relation did not load (the stock path reports that)."""
        checks = [self.joins[name].c.id.is_(None) for name in ("center", "department", "item") if name in self.joins]
        return or_(*checks) if checks else literal(False)

    # ------------------------------------------------------------------ objects

    def case(self, selections: list[Any], plain: Callable[[str], dict[str, str]]) -> ColumnElement[Any]:
        page = self.page
        pairs: list[tuple[str, Any]] = []
        for s in selections:
            if s.name == "__typename":
                pairs.append((s.key, literal("Case", String)))
            elif s.name == "statusLabel":
                labels = [(page.c.status == status.value, literal(label, String))
                          for status, label in domain.STATUS_LABELS.items()]
                pairs.append((s.key, case(*labels, else_=None)))
            elif s.name in plain("Case"):
                pairs.append((s.key, leaf_value(s.leaf, self._column(page, plain("Case")[s.name]))))
            elif s.name in _CATALOGUE:
                table = self.relation(s.name)
                pairs.append((s.key, self.record(s, table, plain)))
            elif s.name == "clock":
                pairs.append((s.key, self.clock(s, self.relation("clock"), plain)))
            elif s.name == "light":
                clock = self.relation("clock")
                pairs.append((s.key, case((clock.c.id.is_(None), None), else_=light(s.leaf, clock))))
            elif s.name == "dueAt":
                pairs.append((s.key, leaf_value(s.leaf, self.relation("clock").c.due_at)))
            elif s.name == "legalClock":
                pairs.append((s.key, self.clock(s, self.relation("legal_clock"), plain)))
            elif s.name == "legalDueAt":
                pairs.append((s.key, leaf_value(s.leaf, self.relation("legal_clock").c.due_at)))
            elif s.name == "overLegalLimit":
                pairs.append((s.key, over(self.relation("legal_clock"))))
            elif s.name in ("steps", "runningSteps"):
                pairs.append((s.key, self.steps(s, running=s.name == "runningSteps", plain=plain)))
            else:
                raise Unsupported(f"Case.{s.name}")
        return build(pairs)

    def record(self, s: Any, table: Any, plain: Callable[[str], dict[str, str]]) -> ColumnElement[Any]:
        """A catalogue object from ``table``'s row; null when there is none."""
        pairs: list[tuple[str, Any]] = []
        fields = plain(s.type_name)
        for child in s.children:
            if child.name == "__typename":
                pairs.append((child.key, literal(s.type_name, String)))
            elif child.name in fields:
                pairs.append((child.key, leaf_value(child.leaf, self._column(table, fields[child.name]))))
            else:
                raise Unsupported(f"{s.type_name}.{child.name}")
        return case((table.c.id.is_(None), None), else_=build(pairs))

    def clock(self, s: Any, clock: Any, plain: Callable[[str], dict[str, str]]) -> ColumnElement[Any]:
        pairs: list[tuple[str, Any]] = []
        fields = plain("ClockInfo")
        for child in s.children:
            name = child.name
            if name == "__typename":
                pairs.append((child.key, literal("ClockInfo", String)))
            elif name == "light":
                pairs.append((child.key, light(child.leaf, clock)))
            elif name == "paused":
                pairs.append((child.key, clock.c.state == ClockState.PAUSED.value))
            elif name == "finished":
                pairs.append((child.key, clock.c.state.in_(_FINISHED)))
            elif name in fields:
                pairs.append((child.key, leaf_value(child.leaf, self._column(clock, fields[name]))))
            else:
                raise Unsupported(f"ClockInfo.{name}")
        return case((clock.c.id.is_(None), None), else_=build(pairs))

    def steps(self, s: Any, *, running: bool, plain: Callable[[str], dict[str, str]]) -> ColumnElement[Any]:
        """The case's steps in seq order (ties by id, as the loaders list them), as a JSON array."""
        step = domain.Step.__table__.alias("page_step")  # type: ignore[attr-defined]
        joins: dict[str, Any] = {}

        def joined(name: str) -> Any:
            if name not in joins:
                model = Clock if name == "clock" else _CATALOGUE[name]
                joins[name] = model.__table__.alias(f"page_step_{name}")  # type: ignore[attr-defined]
            return joins[name]

        pairs: list[tuple[str, Any]] = []
        fields = plain("Step")
        for child in s.children:
            if child.name == "__typename":
                pairs.append((child.key, literal("Step", String)))
            elif child.name in fields:
                pairs.append((child.key, leaf_value(child.leaf, self._column(step, fields[child.name]))))
            elif child.name in ("department", "staff"):
                pairs.append((child.key, self.record(child, joined(child.name), plain)))
            elif child.name == "clock":
                pairs.append((child.key, self.clock(child, joined("clock"), plain)))
            else:
                raise Unsupported(f"Step.{child.name}")
        source = step
        for name, table in joins.items():
            source = source.outerjoin(table, table.c.id == step.c[f"{name}_id"])
        condition = step.c.case_id == self.page.c.id
        if running:
            condition = and_(condition, step.c.status == domain.StepStatus.RUNNING.value)
        aggregate = func.json_agg(aggregate_order_by(build(pairs), step.c.seq, step.c.id))
        return (select(func.coalesce(aggregate, literal_column("'[]'::json")))
                .select_from(source).where(condition).scalar_subquery())

    @staticmethod
    def _column(table: Any, attribute: str) -> Any:
        column = table.c.get(attribute)
        if column is None:
            raise Unsupported(f"no column {attribute} in {table.name}")
        return column


def aggregate_order_by(target: Any, *order: Any) -> Any:
    from sqlalchemy.dialects.postgresql import aggregate_order_by as ordered
    return ordered(target, *order)


class PageTemplate:
    """A plan's statement, compiled once: ``WITH page AS (<the page query>) SELECT id, missing,
    node_0 …`` with the page query spliced in per request (its shape depends on the viewer and the
    filter; its SQL text repeats, so PostgreSQL keeps it prepared)."""

    def __init__(self, node_selections: list[Any], plain: Callable[[str], dict[str, str]]) -> None:
        from sqlalchemy import column, table
        from sqlalchemy.dialects import postgresql
        case_table = domain.Case.__table__  # type: ignore[attr-defined]
        page = table("page", *[column(c.name, c.type) for c in case_table.c])
        writer = NodeWriter(page)
        nodes = [cast(writer.case(s.children, plain), String).label(f"node_{i}")
                 for i, s in enumerate(node_selections)]
        statement = (select(page.c.id, writer.missing().label("missing"), *nodes)
                     .select_from(writer.from_clause()).order_by(page.c.id.desc()))
        compiled = statement.compile(dialect=postgresql.psycopg.dialect(),
                                     compile_kwargs={"literal_binds": True})
        self.sql = str(compiled).replace("__PAGE_NOW__", "%(page_now)s")

    def execute(self, session: Any, rows: Any, now: datetime) -> list[Any]:
        """The page's rows with their nodes' JSON text, in one statement."""
        compiled = rows.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
        params = dict(compiled.params)
        # The DBAPI gets values as SQLAlchemy would send them (UTC instants, say).
        for name, process in compiled._bind_processors.items():
            if name in params and process is not None:
                params[name] = process(params[name])
        params["page_now"] = now
        sql = f"WITH page AS ({compiled}) {self.sql}"
        return list(session.connection().exec_driver_sql(sql, params))
