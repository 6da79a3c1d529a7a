"""The compiled path of case pages.

graphql-core spends ~10 µs on every resolved field, so a page of 50 cases costs ~20 ms of CPU
in the stock executor. The case list is the query dashboards and screens poll, so it has a
compiled path: the operation is checked once against the fields it knows (plain attributes of
the same Strawberry objects, and the loader-backed relations below), then each request loads
its batches and writes the answer with the schema's own serializers, without graphql-core's
per-field machinery. Anything it does not know — another root field, history, personal data,
directives, an argument or variable it cannot coerce, any error — runs through the stock
executor instead, so errors and personal-data records come from one place.
"""
from __future__ import annotations

import logging
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Iterator
from functools import cache
from operator import attrgetter
from datetime import datetime
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from esupervision.api.schema.cases.case import READERS, CaseConnection, CaseFilter, CaseNode, CaseQuery, Step, _step
from esupervision.api.schema.clocks import ClockInfo
from esupervision.api.schema.catalogue.catalogue import Center, Department, Item, Staff, Window
from esupervision.api.schema.common import Edge, Light, page_size
from esupervision.models.cases import case as domain
from esupervision.models.catalogue import catalogue
from esupervision.models.cases.query import encode_cursor, page_statements
from esupervision.models.clocks.clock import Clock
from esupervision.models.errors import DomainError
from esupervision.models.clocks.light import light_at

log = logging.getLogger(__name__)


class Fallback(Exception):
    """This request is for the stock executor."""


# Relations the compiled path resolves in batches; every other field it writes must be a plain
# attribute of the Strawberry object (no resolver).
_CASE_RELATIONS = frozenset({"center", "department", "window", "staff", "item", "clock", "light", "dueAt",
                             "legalClock", "legalDueAt", "overLegalLimit", "steps", "runningSteps"})
_STEP_RELATIONS = frozenset({"department", "clock", "staff"})
_OBJECT_TYPES = {"CaseConnection", "CaseEdge", "PageInfo", "Case", "Step", "ClockInfo", "Center", "Department",
                 "Window", "Staff", "Item"}
_RELATIONS = {"Case": _CASE_RELATIONS, "Step": _STEP_RELATIONS}


class _Selection:
    """The merged selections of one response key (GraphQL's CollectFields, without directives)."""

    __slots__ = ("key", "name", "nodes", "children", "type_name", "leaf")

    def __init__(self, key: str, name: str) -> None:
        self.key = key
        self.name = name
        self.nodes: list[Any] = []
        self.children: list[_Selection] = []
        self.type_name = ""
        self.leaf: Any = None


def _collect(selection_set: Any, type_name: str, fragments: dict[str, Any], into: dict[str, _Selection]) -> None:
    from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode
    for node in selection_set.selections:
        if node.directives:
            raise Fallback
        if isinstance(node, FieldNode):
            key = node.alias.value if node.alias else node.name.value
            selection = into.setdefault(key, _Selection(key, node.name.value))
            if selection.name != node.name.value:
                raise Fallback
            selection.nodes.append(node)
        elif isinstance(node, (InlineFragmentNode, FragmentSpreadNode)):
            fragment = node if isinstance(node, InlineFragmentNode) else fragments.get(node.name.value)
            if fragment is None:
                raise Fallback
            condition = fragment.type_condition.name.value if fragment.type_condition else type_name
            if condition != type_name or fragment.directives:
                raise Fallback
            _collect(fragment.selection_set, type_name, fragments, into)
        else:
            raise Fallback


def _compile_selections(schema: Any, selection_sets: list[Any], type_name: str,
                        fragments: dict[str, Any]) -> list[_Selection]:
    from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, is_leaf_type
    if type_name not in _OBJECT_TYPES:
        raise Fallback
    collected: dict[str, _Selection] = {}
    for selection_set in selection_sets:
        _collect(selection_set, type_name, fragments, collected)
    graphql_type = schema.type_map[type_name]
    relations = _RELATIONS.get(type_name, frozenset())
    plain = _plain_fields(schema, type_name)
    for selection in collected.values():
        if selection.name == "__typename":
            continue
        if any(n.arguments for n in selection.nodes):
            raise Fallback
        if selection.name not in relations and selection.name not in plain:
            raise Fallback          # a resolver the compiled path does not know
        field_type = graphql_type.fields[selection.name].type
        while isinstance(field_type, (GraphQLNonNull, GraphQLList)):
            field_type = field_type.of_type
        if is_leaf_type(field_type):
            if any(n.selection_set for n in selection.nodes):
                raise Fallback
            selection.leaf = field_type
        elif isinstance(field_type, GraphQLObjectType):
            selection.type_name = field_type.name
            selection.children = _compile_selections(
                schema, [n.selection_set for n in selection.nodes], field_type.name, fragments)
        else:
            raise Fallback
    return list(collected.values())


_PLAIN_FIELDS: dict[str, dict[str, str]] = {}


def _plain_fields(schema: Any, type_name: str) -> dict[str, str]:
    """GraphQL name -> Python attribute of the fields of ``type_name`` that have no resolver."""
    if type_name not in _PLAIN_FIELDS:
        plain = {}
        for name, field in schema.type_map[type_name].fields.items():
            definition = (field.extensions or {}).get("strawberry-definition")
            if definition is not None and getattr(definition, "base_resolver", None) is None:
                plain[name] = definition.python_name
        _PLAIN_FIELDS[type_name] = plain
    return _PLAIN_FIELDS[type_name]


class _CompiledPage:
    """One operation's plan: the ``cases`` field and every selection below it."""

    def __init__(self, schema: Any, document: Any, operation: Any) -> None:
        from graphql import FragmentDefinitionNode
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.operation = operation
        root: dict[str, _Selection] = {}
        _collect(operation.selection_set, "Query", fragments, root)
        if len(root) != 1:
            raise Fallback
        (self.root,) = root.values()
        if self.root.name != "cases" or len(self.root.nodes) != 1:
            raise Fallback
        self.field_def = schema.query_type.fields["cases"]
        self.root.type_name = "CaseConnection"
        self.root.children = _compile_selections(schema, [self.root.nodes[0].selection_set],
                                                 "CaseConnection", fragments)
        nodes = _find(self.root.children, "edges", "node")
        self.case_fields = {c.name for n in nodes for c in n.children}
        steps = [c for n in nodes for c in n.children if c.name in ("steps", "runningSteps")]
        self.step_fields = {g.name for c in steps for g in c.children}
        self.counts = any(s.name == "totalCount" for s in self.root.children)
        self.document = document
        self.first_variables = _first_variables(document)
        _joins(self)
        self.write = _object(self.root.children, "CaseConnection")
        # On PostgreSQL the nodes' JSON is written by the database (api.schema.compiled_sql).
        self.node_selections = nodes
        self.write_sql = _object(self.root.children, "CaseConnection", sql_nodes=True)
        self.sql_nodes = _sql_ready(self)


def _sql_ready(plan: "_CompiledPage") -> bool:
    """Whether PostgreSQL can write this plan's nodes (every field has a rule there)."""
    from esupervision.api.schema.cases.compiled_sql import PageTemplate, Unsupported
    try:
        plan.template = PageTemplate(plan.node_selections, _PLAIN_FIELDS.__getitem__)
    except Unsupported:
        return False
    return True


def _first_variables(document: Any) -> tuple[str, ...]:
    """The variables given as a ``first`` argument anywhere in the document: all the query cost
    rule reads of the variables."""
    from graphql import ArgumentNode, VariableNode, visit
    from graphql.language import Visitor

    names: list[str] = []

    class Firsts(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            if node.name.value == "first" and isinstance(node.value, VariableNode):
                names.append(node.value.name.value)
    visit(document, Firsts())
    return tuple(sorted(set(names)))


def _find(selections: list[_Selection], *path: str) -> list[_Selection]:
    found = [s for s in selections if s.name == path[0]]
    for name in path[1:]:
        found = [c for s in found for c in s.children if c.name == name]
    return found


_PLANS: dict[tuple[str, str | None], _CompiledPage | None] = {}
_PLAN_CACHE_SIZE = 512
# Plans whose document a schema's full validation accepted (every rule, depth and alias limits
# included), by schema and query text: what ``api.fastpath`` may answer without Strawberry.
_VETTED: dict[tuple[int, str, str | None], _CompiledPage] = {}


def vetted_plan(schema: Any, query: str, operation_name: str | None) -> _CompiledPage | None:
    return _VETTED.get((id(schema), query, operation_name))


def _plan(execution_context: Any) -> _CompiledPage | None:
    from graphql import OperationDefinitionNode, OperationType
    query = execution_context.query
    key = (query or "", execution_context.operation_name)
    if key in _PLANS:
        return _PLANS[key]
    document = execution_context.graphql_document
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    name = execution_context.operation_name
    chosen = [o for o in operations if name is None or (o.name and o.name.value == name)]
    plan = None
    if len(chosen) == 1 and chosen[0].operation is OperationType.QUERY and not chosen[0].directives:
        try:
            plan = _CompiledPage(execution_context.schema._schema, document, chosen[0])
        except (Fallback, KeyError, AttributeError):
            plan = None
    if len(_PLANS) >= _PLAN_CACHE_SIZE:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


def plan_arguments(plan: _CompiledPage, strawberry_schema: Any, variables: dict[str, Any] | None) -> dict[str, Any]:
    """The ``cases`` arguments of this request, coerced as the stock executor would; Fallback
    for any variable it would refuse (so that it refuses it, with its own words)."""
    from graphql.execution.values import get_argument_values, get_variable_values
    from strawberry.types.arguments import convert_arguments

    coerced = get_variable_values(strawberry_schema._schema, plan.operation.variable_definitions or [],
                                  variables or {})
    if isinstance(coerced, list):
        raise Fallback
    raw = get_argument_values(plan.field_def, plan.root.nodes[0], coerced)
    definition = CaseQuery.__strawberry_definition__  # type: ignore[attr-defined]
    field = next(f for f in definition.fields if f.python_name == "cases")
    return convert_arguments(raw, field.arguments, scalar_registry=strawberry_schema.schema_converter.scalar_registry,
                             config=strawberry_schema.config)


def answer_page(plan: _CompiledPage, session: Any, who: Any, args: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The ``data`` of the answer: the page's rows (at most three statements) written by the plan."""
    if who.role not in READERS:
        raise Fallback
    try:
        size = page_size(args.get("first"))
        flt = (args.get("filter") or CaseFilter()).to_domain()
        statements = page_statements(viewer=who, flt=flt, first=size, after=args.get("after"), now=now)
    except DomainError:
        raise Fallback from None
    if _in_sql(plan, session):
        return _answer_in_sql(plan, session, statements, size, now)
    found: dict[str, dict[Any, Any]] = {name: {} for name in _MODELS}
    rows = [_split(row, plan.case_columns, found) for row in session.execute(plan.joined(statements.rows))]
    cases = rows[:size]
    total = (session.scalar(statements.count) or 0) if plan.counts else 0
    steps: dict[Any, list[Any]] = {}
    if plan.step_statement is not None and cases:
        for row in session.execute(plan.step_statement, {"case_ids": [c.id for c in cases]}):
            step = _split(row, plan.step_columns, found)
            steps.setdefault(step.case_id, []).append(step)
    edges = [Edge(cursor=encode_cursor(c.id), node=CaseNode.from_row(c)) for c in cases]
    connection = CaseConnection.of(edges, total=total, has_next=len(rows) > size,
                                   has_previous=statements.has_previous)
    page = _Page(now, found, steps)
    return {plan.root.key: plan.write(connection, page)}


def _in_sql(plan: _CompiledPage, session: Any) -> bool:
    """Whether PostgreSQL writes this plan's nodes for this session."""
    return plan.sql_nodes and session.get_bind().dialect.name == "postgresql"


class _SqlEdge:
    """An edge whose node selections PostgreSQL wrote (JSON text, passed on undecoded)."""

    __slots__ = ("cursor", "nodes")

    def __init__(self, cursor: str, nodes: dict[int, Any]) -> None:
        self.cursor = cursor
        self.nodes = nodes


def _answer_in_sql(plan: _CompiledPage, session: Any, statements: Any, size: int, now: datetime) -> dict[str, Any]:
    import orjson

    rows = plan.template.execute(session, statements.rows, now)
    cases = rows[:size]
    if any(r.missing for r in cases):
        raise Fallback          # a non-null relation that did not load: let the stock path say so
    total = (session.scalar(statements.count) or 0) if plan.counts else 0
    keys = [id(s) for s in plan.node_selections]
    edges = [_SqlEdge(encode_cursor(r.id), {key: orjson.Fragment(r[2 + i]) for i, key in enumerate(keys)})
             for r in cases]
    connection = CaseConnection.of(edges, total=total, has_next=len(rows) > size,
                                   has_previous=statements.has_previous)
    return {plan.root.key: plan.write_sql(connection, _Page(now, {}, {}))}


async def _run_compiled(plan: _CompiledPage, execution_context: Any) -> dict[str, Any]:
    context = execution_context.context
    if context.auth_error is not None or context.viewer.role not in READERS:
        raise Fallback
    args = plan_arguments(plan, execution_context.schema, execution_context.variables)
    who, now = context.viewer, context.now

    def answer(session: Any) -> dict[str, Any]:
        import orjson
        data = answer_page(plan, session, who, args, now)
        # Nodes PostgreSQL wrote are JSON text: decoded here, where Strawberry wants values.
        return orjson.loads(orjson.dumps(data)) if _in_sql(plan, session) else data
    return await context.run(answer)


# ----------------------------------------------------------------------------- reading

_MODELS = {"center": catalogue.Center, "department": catalogue.Department, "window": catalogue.Window,
           "staff": catalogue.Staff, "item": catalogue.Item, "clock": Clock, "legal_clock": Clock}
# The case fields read off its legal-limit clock (法定时限).
_LEGAL_FIELDS = frozenset({"legalClock", "legalDueAt", "overLegalLimit"})


@cache
def _row_class(table: Any) -> Any:
    """A named tuple of ``table``'s columns: what the Strawberry objects' ``from_row`` read."""
    return namedtuple(f"{table.name.title()}Row", [c.name for c in table.c])  # type: ignore[misc]


class _Columns:
    """Where a row of a joined statement keeps each table's columns: the base table first, then
    every joined one (None when the outer join found nothing)."""

    def __init__(self, base: Any) -> None:
        self.base = _row_class(base)
        self.width = len(base.c)
        self.joined: list[tuple[str, Any, int, int]] = []     # relation, row class, start, end

    def join(self, name: str, table: Any) -> None:
        start = self.width + sum(end - begin for _, _, begin, end in self.joined)
        self.joined.append((name, _row_class(table), start, start + len(table.c)))


def _split(row: Any, columns: _Columns, found: dict[str, dict[Any, Any]]) -> Any:
    """The base table's record, each joined record put in ``found`` by its id."""
    for name, record, start, end in columns.joined:
        key = row[start]                        # the id column comes first in every table
        if key is not None and key not in found[name]:
            found[name][key] = record._make(row[start:end])
    return columns.base._make(row[:columns.width])


def _joins(plan: _CompiledPage) -> None:
    """The statements the plan reads with: the page joined to the relations its cases show, and
    the steps of the page's cases joined to theirs (one statement each, whatever the page size)."""
    from sqlalchemy import bindparam, func, select
    case_t = domain.Case.__table__  # type: ignore[attr-defined]
    plan.case_columns = _Columns(case_t)
    joins: list[tuple[Any, Any]] = []
    for name in ("center", "department", "window", "staff", "item", "clock", "legal_clock"):
        wanted = name in plan.case_fields or (name == "clock" and plan.case_fields & {"light", "dueAt"}) or (
            name == "legal_clock" and plan.case_fields & _LEGAL_FIELDS)
        if wanted:
            table = _MODELS[name].__table__.alias(f"case_{name}")  # type: ignore[attr-defined]
            key = (func.coalesce(case_t.c.clock_id, case_t.c.acceptance_clock_id) if name == "clock"
                   else case_t.c[f"{name}_id"])
            joins.append((table, table.c.id == key))
            plan.case_columns.join(name, _MODELS[name].__table__)  # type: ignore[attr-defined]

    def joined(rows: Any) -> Any:
        for table, on in joins:
            rows = rows.outerjoin(table, on).add_columns(*table.c)
        return rows
    plan.joined = joined

    plan.step_statement = None
    kinds = plan.case_fields & {"steps", "runningSteps"}
    if kinds:
        step_t = domain.Step.__table__  # type: ignore[attr-defined]
        plan.step_columns = _Columns(step_t)
        statement = select(step_t).where(step_t.c.case_id.in_(bindparam("case_ids", expanding=True)))
        if kinds == {"runningSteps"}:
            statement = statement.where(step_t.c.status == domain.StepStatus.RUNNING.value)
        for name in ("department", "staff", "clock"):
            if name in plan.step_fields:
                table = _MODELS[name].__table__.alias(f"step_{name}")  # type: ignore[attr-defined]
                statement = statement.outerjoin(table, table.c.id == step_t.c[f"{name}_id"]).add_columns(*table.c)
                plan.step_columns.join(name, _MODELS[name].__table__)  # type: ignore[attr-defined]
        plan.step_statement = statement.order_by(step_t.c.case_id, step_t.c.seq, step_t.c.id)


# ----------------------------------------------------------------------------- writing
#
# The plan is compiled once into nested functions, one per selection, that write a source
# object's answer with the schema's own serializers (fast equivalents for the built-in scalars
# and enums). A catalogue object (item, department, window …) is written once per page and
# shared by every case that shows it.

class _Page:
    __slots__ = ("now", "found", "steps", "written")

    def __init__(self, now: datetime, found: dict[str, dict[Any, Any]], steps: dict[Any, list[Any]]) -> None:
        self.now = now
        self.found = found
        self.steps = steps
        self.written: dict[tuple[int, Any], Any] = {}


Write = Callable[[Any, _Page], Any]


def _serializer(leaf: Any) -> Callable[[Any], Any]:
    """``leaf.serialize``, without its cost where the value's type settles the answer."""
    from graphql import GraphQLEnumType
    serialize = leaf.serialize
    if isinstance(leaf, GraphQLEnumType):
        known: dict[Any, Any] = {}

        def enum(value: Any) -> Any:
            answer = known.get(value)
            if answer is None:
                answer = known[value] = serialize(value)
            return answer
        return enum
    if leaf.name == "DateTime":      # strawberry's DateTime is isoformat() itself
        return lambda value: value.isoformat() if type(value) is datetime else serialize(value)
    native = {"String": str, "ID": str, "Boolean": bool, "Float": float}.get(leaf.name)
    if native is not None:
        return lambda value: value if type(value) is native else serialize(value)
    if leaf.name == "Int":
        return lambda value: value if type(value) is int and -2**31 <= value < 2**31 else serialize(value)
    return serialize


def _values(s: _Selection, sql_nodes: bool = False) -> Write:
    """Writes a field's value: null, a list of them, a leaf or an object."""
    if s.leaf is not None:
        serialize = _serializer(s.leaf)

        def one(value: Any, page: _Page) -> Any:
            return serialize(value)
    else:
        one = _object(s.children, s.type_name, sql_nodes)

    def write(value: Any, page: _Page) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [write(v, page) for v in value]
        return one(value, page)
    return write


def _object(selections: list[_Selection], type_name: str, sql_nodes: bool = False) -> Write:
    """``sql_nodes``: the edges' nodes are JSON that PostgreSQL wrote (``_SqlEdge``)."""
    plain = _PLAIN_FIELDS[type_name]
    fields: list[tuple[str, Write]] = []
    for s in selections:
        if s.name == "__typename":
            fields.append((s.key, lambda source, page, name=type_name: name))
        elif sql_nodes and type_name == "CaseEdge" and s.name == "node":
            fields.append((s.key, lambda edge, page, key=id(s): edge.nodes[key]))
        elif s.name in plain:
            fields.append((s.key, _attribute(plain[s.name], _values(s, sql_nodes))))
        elif type_name == "Case":
            fields.append((s.key, _case_relation(s)))
        else:
            fields.append((s.key, _step_relation(s)))

    def write(source: Any, page: _Page) -> dict[str, Any]:
        return {key: field(source, page) for key, field in fields}
    return write


def _attribute(name: str, values: Write) -> Write:
    def write(source: Any, page: _Page) -> Any:
        return values(getattr(source, name), page)
    return write


_STRAWBERRY = {"center": Center, "department": Department, "window": Window, "staff": Staff, "item": Item}


def _catalogue(s: _Selection, name: str, *, nullable: bool) -> Write:
    """A catalogue relation of a case or step, written once per page for all that show it."""
    values = _values(s)
    from_row = _STRAWBERRY[name].from_row
    key_of = attrgetter(f"row.{name}_id")
    memo = id(s)

    def write(source: Any, page: _Page) -> Any:
        key = key_of(source)
        if key is None:
            return None
        done = page.written.get((memo, key))
        if done is None:
            loaded = page.found[name].get(key)
            if loaded is None:
                if nullable:
                    return None
                raise Fallback      # a non-null relation that did not load: let the stock path say so
            done = page.written[(memo, key)] = values(from_row(loaded), page)
        return done
    return write


def _case_clock(node: CaseNode, page: _Page) -> Any:
    clock_id = node.row.clock_id or node.row.acceptance_clock_id
    return page.found["clock"].get(clock_id) if clock_id else None


def _case_relation(s: _Selection) -> Write:
    name, values = s.name, _values(s)
    if name in _STRAWBERRY:
        return _catalogue(s, name, nullable=name in ("window", "staff"))
    if name == "clock":
        return lambda node, page: values(_clock_info(_case_clock(node, page), page), page)
    if name == "light":
        def light(node: CaseNode, page: _Page) -> Any:
            clock = _case_clock(node, page)
            return values(Light(light_at(clock, page.now).light.value), page) if clock is not None else None
        return light
    if name == "dueAt":
        def due(node: CaseNode, page: _Page) -> Any:
            clock = _case_clock(node, page)
            return values(clock.due_at, page) if clock is not None else None
        return due
    if name in _LEGAL_FIELDS:
        return _legal_relation(name, values)
    running = name == "runningSteps"

    def steps(node: CaseNode, page: _Page) -> Any:
        rows = page.steps.get(node.row.id, ())
        return values([_step(r) for r in rows if not running or r.status == domain.StepStatus.RUNNING.value], page)
    return steps


def _legal_relation(name: str, values: Write) -> Write:
    """``legalClock``, ``legalDueAt`` and ``overLegalLimit``, as ``CaseNode`` resolves them."""
    def legal(node: CaseNode, page: _Page) -> Any:
        clock_id = node.row.legal_clock_id
        clock = page.found["legal_clock"].get(clock_id) if clock_id else None
        if name == "overLegalLimit":
            return values(clock is not None and light_at(clock, page.now).light.value == "red", page)
        if clock is None:
            return None
        return values(clock.due_at if name == "legalDueAt" else _clock_info(clock, page), page)
    return legal


def _clock_info(clock: Any, page: _Page) -> ClockInfo | None:
    return ClockInfo.from_row(clock, page.now) if clock is not None else None


def _step_relation(s: _Selection) -> Write:
    if s.name == "clock":
        values = _values(s)

        def clock(step: Step, page: _Page) -> Any:
            clock_id = step.row.clock_id
            return values(_clock_info(page.found["clock"].get(clock_id) if clock_id else None, page), page)
        return clock
    return _catalogue(s, s.name, nullable=s.name == "staff")


# GraphQL's own rules (graphql.specified_rules) judge the document alone: for a compiled
# document their verdict is kept, by query text. Every other rule (cost and NUL checks over the
# variables, depth, aliases, introspection by role) runs on every request.
_STATIC_VALIDATION: dict[tuple[Any, ...], bool] = {}


def _validate_compiled(execution_context: Any) -> None:
    from graphql import specified_rules, validate
    rules = execution_context.validation_rules
    standard = frozenset(specified_rules)
    static = tuple(r for r in rules if r in standard)
    per_request = [r for r in rules if r not in standard]
    schema = execution_context.schema._schema
    document = execution_context.graphql_document
    key = (id(schema), execution_context.query, execution_context.operation_name, static)
    valid = _STATIC_VALIDATION.get(key)
    if valid is None:
        valid = not validate(schema, document, static)
        if len(_STATIC_VALIDATION) >= _PLAN_CACHE_SIZE:
            _STATIC_VALIDATION.clear()
        _STATIC_VALIDATION[key] = valid
    if valid:   # otherwise the stock validation runs every rule and reports as it always does
        execution_context.pre_execution_errors = validate(schema, document, per_request) if per_request else []


class CompiledCasePages(SchemaExtension):
    """Answers ``cases`` queries through the compiled path when it can; the stock executor
    answers everything else (and this query too, whenever the compiled path declines)."""

    def on_validate(self) -> Iterator[None]:  # type: ignore[override]
        # A known page query is validated once against GraphQL's own rules, not per request.
        execution_context = self.execution_context
        if execution_context.graphql_document is not None and execution_context.pre_execution_errors is None:
            try:   # not validated yet: a fragment cycle, say, must reach the stock validation
                plan = _plan(execution_context)
            except Exception:  # noqa: BLE001 - whatever it is, the stock validation reports it
                plan = None
            if plan is not None:
                _validate_compiled(execution_context)
        else:
            plan = None
        yield
        if plan is not None and execution_context.pre_execution_errors == []:
            if len(_VETTED) >= _PLAN_CACHE_SIZE:
                _VETTED.clear()
            # Strawberry names the one operation of a document when the request did not.
            names = {execution_context.operation_name}
            if sum(isinstance(d, OperationDefinitionNode) for d in execution_context.graphql_document.definitions) == 1:
                names.add(None)
            for name in names:
                _VETTED[(id(execution_context.schema), execution_context.query or "", name)] = plan

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        execution_context = self.execution_context
        plan = _plan(execution_context) if execution_context.graphql_document is not None else None
        if plan is not None:
            try:
                data = await _run_compiled(plan, execution_context)
            except Fallback:
                data = None
            except Exception:  # a bug here must not cost an answer: the stock path still gives it
                log.exception("compiled case page failed; answering with the stock executor")
                data = None
            if data is not None:
                execution_context.result = GraphQLExecutionResult(data=data, errors=None)
        yield
