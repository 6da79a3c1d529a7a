"""Mappings: YAML data that says how a log's attributes become cases, items and actions.

A mapping is either a built-in name (a file in ``mappings/`` shipped with the package) or a path
to a user's YAML file. See ``mappings/csv-example.yaml`` for the commented format. Every key is
checked when the mapping is loaded, so a typo is refused up front with the key named, rather
than silently ignored while thousands of cases are converted.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import tzinfo
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from esupervision.importing.csvlog import CsvColumns
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.cases.report import CaseAction

# ACCEPT and COMPLETE come from the case's own start and end, never from a rule; the other
# actions would need data (applicant, reasons, step plans) that event logs do not carry.
RULE_ACTIONS = frozenset({
    CaseAction.STEP,
    CaseAction.REQUEST_SUPPLEMENT,
    CaseAction.SUPPLEMENT_RECEIVED,
    CaseAction.SUSPEND,
    CaseAction.RESUME,
    CaseAction.EXTEND,
})
FORMATS = ("xes", "csv")
BASES = ("working", "natural")


@dataclass(frozen=True)
class Condition:
    """A test on a case's attributes: one attribute check, ``any`` / ``all`` of conditions, or
    ``event``: some event of the case satisfies the inner condition (over event attributes)."""

    attribute: str | None = None
    present: bool | None = None
    equals: Any = None
    one_of: tuple[Any, ...] | None = None
    matches: re.Pattern[str] | None = None
    any_of: tuple[Condition, ...] = ()
    all_of: tuple[Condition, ...] = ()
    event: Condition | None = None

    def holds(self, attributes: dict[str, Any], events: Sequence[dict[str, Any]] = ()) -> bool:
        """Whether the attributes (and, for ``event``, the case's events) satisfy this condition
        (a missing attribute satisfies nothing but ``present: false``)."""
        if self.event is not None:
            return any(self.event.holds(e) for e in events)
        if self.any_of:
            return any(c.holds(attributes, events) for c in self.any_of)
        if self.all_of:
            return all(c.holds(attributes, events) for c in self.all_of)
        value = attributes.get(self.attribute) if self.attribute else None
        if self.present is not None:
            return (value is not None) is self.present
        if value is None:
            return False
        if self.one_of is not None:
            return value in self.one_of
        if self.matches is not None:
            return self.matches.fullmatch(str(value)) is not None
        return value == self.equals

    def attributes(self, key: str, scope: str = "trace") -> Iterator[NamedAttribute]:
        """Every attribute this condition reads, with the mapping key that names it."""
        if self.event is not None:
            yield from self.event.attributes(f"{key}.event", "event")
        for i, part in enumerate(self.any_of):
            yield from part.attributes(f"{key}.any[{i}]", scope)
        for i, part in enumerate(self.all_of):
            yield from part.attributes(f"{key}.all[{i}]", scope)
        if self.attribute is not None:
            yield NamedAttribute(key=f"{key}.attribute", attribute=self.attribute, scope=scope)


@dataclass(frozen=True)
class NamedAttribute:
    """An attribute a mapping reads: ``key`` is where the mapping names it (``case.start``),
    ``scope`` whether a case (``trace``) or its events (``event``) carry it."""

    key: str
    attribute: str
    scope: str


@dataclass(frozen=True)
class EventPoint:
    """A case's start or end taken from its events: the ``first`` or ``last`` one satisfying ``when``."""

    which: str
    when: Condition

    def find(self, events: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
        """The event this point names, or None when no event satisfies ``when``."""
        ordered = events if self.which == "first" else reversed(events)
        return next((e for e in ordered if self.when.holds(e)), None)


@dataclass(frozen=True)
class NamedCode:
    """A code and a display name, both templates over the mapping's options (``{municipality}``)."""

    code: str
    name: str


@dataclass(frozen=True)
class ItemRule:
    """An approval item (审批事项) cases are filed under; the first whose ``when`` holds wins."""

    code: str
    name: str
    legal_days: int
    committed_days: int
    extension_days: int
    basis: str
    when: Condition | None = None
    department: NamedCode | None = None  # overrides the catalogue's department for this item


@dataclass(frozen=True)
class ActionRule:
    """Turns events whose ``field`` equals ``activity`` (or fully matches ``pattern``) into ``action``."""

    action: CaseAction
    field: str
    activity: str | None = None
    pattern: re.Pattern[str] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    attributes_from: dict[str, str] = field(default_factory=dict)

    def matches(self, event: dict[str, Any]) -> bool:
        value = event.get(self.field)
        if value is None:
            return False
        if self.activity is not None:
            return str(value) == self.activity
        assert self.pattern is not None
        return self.pattern.fullmatch(str(value)) is not None


@dataclass(frozen=True)
class CsvSettings:
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    case_columns: tuple[str, ...] = ()
    timestamp_format: str | None = None


@dataclass(frozen=True)
class Mapping:
    """A loaded, checked mapping. Attribute keys are XES keys, or column names for CSV."""

    name: str
    source: str
    format: str
    timezone: tzinfo
    options: dict[str, str]
    options_from_filename: re.Pattern[str] | None
    case_number: str
    number_format: str
    case_start: str | None
    case_end: str | None
    end_event: EventPoint | None  # the end taken from an event (``end: {first_event: ...}``)
    case_deadline: str | None
    case_channel: str | None
    case_applicant: str | None
    finished: Condition
    event_activity: str
    event_timestamp: str
    event_resource: str | None
    event_step_name: str | None
    center: NamedCode
    department: NamedCode
    items: tuple[ItemRule, ...]
    rules: tuple[ActionRule, ...]
    csv: CsvSettings | None = None
    description: str = ""
    # A bare end date (midnight) earlier than the last event moves to that event; off unless asked.
    bare_end_to_last_event: bool = False

    def csv_columns(self) -> CsvColumns:
        """The columns ``read_csv`` must find and how to read them, as this mapping names them."""
        assert self.csv is not None
        case_level = tuple(dict.fromkeys(
            c for c in (self.case_start, self.case_end, self.case_deadline, self.case_channel,
                        self.case_applicant, *self.csv.case_columns) if c))
        dates = tuple(c for c in (self.case_start, self.case_end, self.case_deadline) if c)
        required = tuple(dict.fromkeys(
            c for c in (self.case_number, self.event_activity, self.event_timestamp,
                        self.event_resource, *case_level) if c))
        return CsvColumns(
            case=self.case_number, activity=self.event_activity, timestamp=self.event_timestamp,
            case_level=case_level, dates=dates, required=required, delimiter=self.csv.delimiter,
            encoding=self.csv.encoding, timezone=self.timezone,
            timestamp_format=self.csv.timestamp_format,
        )

    def named_attributes(self) -> tuple[NamedAttribute, ...]:
        """Every attribute the mapping reads, so the importer can check the file carries it."""
        named = [NamedAttribute(key, attribute, "trace") for key, attribute in (
            ("case.number", self.case_number), ("case.start", self.case_start), ("case.end", self.case_end),
            ("case.deadline", self.case_deadline), ("case.channel", self.case_channel),
            ("case.applicant", self.case_applicant)) if attribute]
        named += self.finished.attributes("case.finished")
        if self.end_event is not None:
            named += self.end_event.when.attributes(f"case.end.{self.end_event.which}_event", "event")
        for i, item in enumerate(self.items):
            if item.when is not None:
                named += item.when.attributes(f"catalogue.items[{i}].when")
        named += [NamedAttribute(key, attribute, "event") for key, attribute in (
            ("event.activity", self.event_activity), ("event.timestamp", self.event_timestamp),
            ("event.resource", self.event_resource), ("event.step_name", self.event_step_name)) if attribute]
        for i, rule in enumerate(self.rules):
            named.append(NamedAttribute(f"rules[{i}].field", rule.field, "event"))
            named += [NamedAttribute(f"rules[{i}].attributes_from.{k}", v, "event")
                      for k, v in rule.attributes_from.items()]
        return tuple(dict.fromkeys(named))

    def action_for(self, event: dict[str, Any]) -> ActionRule | None:
        """The first rule that names this event, or None (the event becomes a STEP)."""
        for rule in self.rules:
            if rule.matches(event):
                return rule
        return None


def builtin_mapping_names() -> list[str]:
    """Names of the mappings shipped with the package."""
    folder = resources.files("esupervision.importing") / "mappings"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_mapping(name_or_path: str | Path) -> Mapping:
    """Load and check a mapping: a built-in name (``bpic15``) or a path to a YAML file.

    Raises ``MAPPING_NOT_FOUND`` when neither a built-in name nor an existing file matches, and
    ``MAPPING_INVALID`` naming the key (``key=...``) when the YAML is malformed or a key is
    missing, unknown or of the wrong kind.
    """
    text, source = _find(name_or_path)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise DomainError(
            ErrorCode.MAPPING_INVALID, f"映射文件 {source} 不是合法的 YAML (第 {line} 行): {exc}",
            mapping=source, key="", line=line,
        ) from exc
    return _Checker(source).mapping(document)


def _find(name_or_path: str | Path) -> tuple[str, str]:
    candidate = Path(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or candidate.suffix in (".yaml", ".yml") \
        or "/" in str(name_or_path) or "\\" in str(name_or_path)
    if candidate.is_file():
        return candidate.read_text(encoding="utf-8"), str(candidate)
    name = str(name_or_path)
    if not looks_like_path and re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        builtin = resources.files("esupervision.importing") / "mappings" / f"{name}.yaml"
        if builtin.is_file():
            return builtin.read_text(encoding="utf-8"), name
    known = ", ".join(builtin_mapping_names())
    raise DomainError(
        ErrorCode.MAPPING_NOT_FOUND,
        f"找不到映射 {name_or_path}：既不是内置映射（{known}），也不是存在的文件 (mapping not found)",
        mapping=str(name_or_path),
    )


class _Checker:
    """Walks the YAML document, building the Mapping and naming the key of the first fault."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, reason: str) -> DomainError:
        return DomainError(
            ErrorCode.MAPPING_INVALID, f"映射 {self.source} 的 {key or '(根)'} 无效: {reason}",
            mapping=self.source, key=key,
        )

    def section(self, value: Any, key: str, allowed: AbstractSet[str],
                required: AbstractSet[str] = frozenset()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "应为键值表 (expected a mapping)")
        for k in value:
            if k not in allowed:
                raise self.fail(_join(key, str(k)), f"未知的键 (unknown key; allowed: {', '.join(sorted(allowed))})")
        for k in sorted(required):
            if value.get(k) is None:
                raise self.fail(_join(key, k), "缺少必填项 (required)")
        return value

    def text(self, value: Any, key: str, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value) == "":
            raise self.fail(key, "应为非空字符串 (expected a non-empty string)")
        return str(value)

    def days(self, value: Any, key: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(key, f"应为非负整数天数，得到 {value!r}")
        return value

    def regex(self, value: Any, key: str) -> re.Pattern[str]:
        pattern = self.text(value, key)
        assert pattern is not None
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise self.fail(key, f"正则表达式无效: {exc}") from exc

    def mapping(self, doc: Any) -> Mapping:
        doc = self.section(doc, "", {"name", "description", "format", "timezone", "options",
                                     "options_from_filename", "csv", "case", "event", "catalogue",
                                     "rules"}, {"format", "case", "event", "catalogue"})
        fmt = self.text(doc["format"], "format")
        if fmt not in FORMATS:
            raise self.fail("format", f"应为 {' / '.join(FORMATS)}，得到 {fmt!r}")
        zone_name = self.text(doc.get("timezone", "UTC"), "timezone")
        try:
            zone = ZoneInfo(str(zone_name))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise self.fail("timezone", f"未知时区 {zone_name!r}") from exc
        options_doc = doc.get("options") or {}
        if not isinstance(options_doc, dict):
            raise self.fail("options", "应为键值表 (expected a mapping)")
        options = {str(k): str(v) for k, v in options_doc.items() if v is not None}
        from_name = doc.get("options_from_filename")
        case = self.section(doc["case"], "case", {"number", "number_format", "start", "end", "deadline",
                                                  "channel", "applicant", "finished", "bare_end_to_last_event"},
                            {"number", "finished"})
        bare_end = case.get("bare_end_to_last_event", False)
        if not isinstance(bare_end, bool):
            raise self.fail("case.bare_end_to_last_event", "应为 true 或 false")
        end_value = case.get("end")
        end_event = self.event_point(end_value, "case.end") if isinstance(end_value, dict) else None
        event = self.section(doc["event"], "event", {"activity", "timestamp", "resource", "step_name"},
                             {"activity", "timestamp"})
        csv_settings = self.csv(doc.get("csv"), fmt)
        catalogue = self.section(doc["catalogue"], "catalogue", {"center", "department", "basis", "items"},
                                 {"center", "department", "items"})
        default_basis = self.text(catalogue.get("basis", "working"), "catalogue.basis")
        if default_basis not in BASES:
            raise self.fail("catalogue.basis", f"应为 {' / '.join(BASES)}，得到 {default_basis!r}")
        activity_key = str(self.text(event["activity"], "event.activity"))
        return Mapping(
            name=str(doc.get("name") or self.source),
            description=str(doc.get("description") or ""),
            source=self.source,
            format=str(fmt),
            timezone=zone,
            options=options,
            options_from_filename=self.regex(from_name, "options_from_filename") if from_name else None,
            case_number=str(self.text(case["number"], "case.number")),
            number_format=str(self.text(case.get("number_format", "{number}"), "case.number_format")),
            case_start=self.text(case.get("start"), "case.start", optional=True),
            case_end=None if end_event else self.text(end_value, "case.end", optional=True),
            end_event=end_event,
            bare_end_to_last_event=bare_end,
            case_deadline=self.text(case.get("deadline"), "case.deadline", optional=True),
            case_channel=self.text(case.get("channel"), "case.channel", optional=True),
            case_applicant=self.text(case.get("applicant"), "case.applicant", optional=True),
            finished=self.condition(case["finished"], "case.finished"),
            event_activity=activity_key,
            event_timestamp=str(self.text(event["timestamp"], "event.timestamp")),
            event_resource=self.text(event.get("resource"), "event.resource", optional=True),
            event_step_name=self.text(event.get("step_name"), "event.step_name", optional=True),
            center=self.named(catalogue["center"], "catalogue.center"),
            department=self.named(catalogue["department"], "catalogue.department"),
            items=self.items(catalogue["items"], str(default_basis)),
            rules=self.rules(doc.get("rules") or [], activity_key),
            csv=csv_settings,
        )

    def csv(self, value: Any, fmt: str | None) -> CsvSettings | None:
        if fmt != "csv":
            if value is not None:
                raise self.fail("csv", "只有 format: csv 的映射才能有 csv 段")
            return None
        section = self.section(value or {}, "csv", {"delimiter", "encoding", "case_columns", "timestamp_format"})
        delimiter = self.text(section.get("delimiter", ","), "csv.delimiter")
        if delimiter is None or len(delimiter) != 1:
            raise self.fail("csv.delimiter", "分隔符应为单个字符")
        columns = section.get("case_columns") or []
        if not isinstance(columns, list):
            raise self.fail("csv.case_columns", "应为列名列表 (expected a list)")
        encoding = str(self.text(section.get("encoding", "utf-8-sig"), "csv.encoding"))
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise self.fail("csv.encoding", f"未知编码 {encoding!r}") from exc
        return CsvSettings(
            delimiter=delimiter,
            encoding=encoding,
            case_columns=tuple(str(self.text(c, f"csv.case_columns[{i}]")) for i, c in enumerate(columns)),
            timestamp_format=self.text(section.get("timestamp_format"), "csv.timestamp_format", optional=True),
        )

    def named(self, value: Any, key: str) -> NamedCode:
        section = self.section(value, key, {"code", "name"}, {"code", "name"})
        return NamedCode(code=str(self.text(section["code"], f"{key}.code")),
                         name=str(self.text(section["name"], f"{key}.name")))

    def event_point(self, value: dict[str, Any], key: str) -> EventPoint:
        section = self.section(value, key, {"first_event", "last_event"})
        if len(section) != 1:
            raise self.fail(key, "应为属性名，或恰好一个 first_event / last_event 条件")
        which_key, condition = next(iter(section.items()))
        return EventPoint(which=which_key.split("_")[0], when=self.condition(condition, f"{key}.{which_key}"))

    def condition(self, value: Any, key: str) -> Condition:
        section = self.section(value, key, {"any", "all", "attribute", "present", "equals", "in", "matches",
                                            "event"})
        if "event" in section:
            if len(section) != 1:
                raise self.fail(_join(key, "event"), "应单独出现 (event: 对事件属性的条件)")
            return Condition(event=self.condition(section["event"], _join(key, "event")))
        for combinator, field_name in (("any", "any_of"), ("all", "all_of")):
            if combinator in section:
                parts = section[combinator]
                if len(section) != 1 or not isinstance(parts, list) or not parts:
                    raise self.fail(_join(key, combinator), "应为单独出现的非空条件列表")
                return Condition(**{field_name: tuple(self.condition(p, f"{key}.{combinator}[{i}]")
                                                      for i, p in enumerate(parts))})
        attribute = self.text(section.get("attribute"), _join(key, "attribute"))
        tests = [k for k in ("present", "equals", "in", "matches") if k in section]
        if len(tests) != 1:
            raise self.fail(key, "应恰好有 present / equals / in / matches 之一")
        test = tests[0]
        if test == "present":
            if not isinstance(section["present"], bool):
                raise self.fail(_join(key, "present"), "应为 true 或 false")
            return Condition(attribute=attribute, present=section["present"])
        if test == "in":
            if not isinstance(section["in"], list):
                raise self.fail(_join(key, "in"), "应为取值列表")
            return Condition(attribute=attribute, one_of=tuple(section["in"]))
        if test == "matches":
            return Condition(attribute=attribute, matches=self.regex(section["matches"], _join(key, "matches")))
        return Condition(attribute=attribute, equals=section["equals"])

    def items(self, value: Any, default_basis: str) -> tuple[ItemRule, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("catalogue.items", "应为非空的事项列表")
        rules = []
        for i, entry in enumerate(value):
            key = f"catalogue.items[{i}]"
            section = self.section(entry, key, {"code", "name", "legal_days", "committed_days",
                                                "extension_days", "basis", "when", "department"},
                                   {"code", "name", "legal_days"})
            legal = self.days(section["legal_days"], f"{key}.legal_days")
            committed = self.days(section.get("committed_days", legal), f"{key}.committed_days")
            if committed > legal:
                raise self.fail(f"{key}.committed_days", f"承诺时限 {committed} 天超过法定时限 {legal} 天")
            basis = self.text(section.get("basis", default_basis), f"{key}.basis")
            if basis not in BASES:
                raise self.fail(f"{key}.basis", f"应为 {' / '.join(BASES)}，得到 {basis!r}")
            rules.append(ItemRule(
                code=str(self.text(section["code"], f"{key}.code")),
                name=str(self.text(section["name"], f"{key}.name")),
                legal_days=legal,
                committed_days=committed,
                extension_days=self.days(section.get("extension_days", 0), f"{key}.extension_days"),
                basis=str(basis),
                when=self.condition(section["when"], f"{key}.when") if "when" in section else None,
                department=self.named(section["department"], f"{key}.department")
                if "department" in section else None,
            ))
        return tuple(rules)

    def rules(self, value: Any, activity_key: str) -> tuple[ActionRule, ...]:
        if not isinstance(value, list):
            raise self.fail("rules", "应为规则列表 (expected a list)")
        parsed = []
        for i, entry in enumerate(value):
            key = f"rules[{i}]"
            section = self.section(entry, key, {"activity", "pattern", "field", "action", "attributes",
                                                "attributes_from"}, {"action"})
            action_name = self.text(section["action"], f"{key}.action")
            try:
                action = CaseAction(action_name)
            except ValueError:
                allowed = ", ".join(sorted(a.value for a in RULE_ACTIONS))
                raise self.fail(f"{key}.action", f"未知的动作 {action_name!r} (unknown action; allowed: {allowed})") from None
            if action not in RULE_ACTIONS:
                raise self.fail(f"{key}.action", f"动作 {action.value} 不能由规则产生（受理/办结由办件的开始和结束生成）")
            if ("activity" in section) == ("pattern" in section):
                raise self.fail(key, "应恰好有 activity（精确名称）或 pattern（正则）之一")
            attributes = section.get("attributes") or {}
            attributes_from = section.get("attributes_from") or {}
            if not isinstance(attributes, dict):
                raise self.fail(f"{key}.attributes", "应为键值表")
            if not isinstance(attributes_from, dict):
                raise self.fail(f"{key}.attributes_from", "应为键值表（参数名: 事件属性名）")
            given = set(attributes) | set(attributes_from)
            needed = {CaseAction.SUSPEND: {"kind"}, CaseAction.EXTEND: {"days", "approved_by"}}.get(action, set())
            if needed - given:
                raise self.fail(f"{key}.attributes", f"动作 {action.value} 需要参数 {', '.join(sorted(needed - given))}")
            parsed.append(ActionRule(
                action=action,
                field=str(self.text(section.get("field", activity_key), f"{key}.field")),
                activity=self.text(section["activity"], f"{key}.activity") if "activity" in section else None,
                pattern=self.regex(section["pattern"], f"{key}.pattern") if "pattern" in section else None,
                attributes={str(k): v for k, v in attributes.items()},
                attributes_from={str(k): str(v) for k, v in attributes_from.items()},
            ))
        return tuple(parsed)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key
