"""Turn a log file into cases of reported events, as a mapping says.

Every case becomes: ACCEPT at its start, its source events in time order (STEP unless a rule
names them), and COMPLETE at its end when it is finished. The sequence is built so the core's
state machine accepts all of it: nothing before ACCEPT, nothing after COMPLETE, pauses paired.
"""
from __future__ import annotations

import string
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from esupervision.importing.csvlog import read_csv
from esupervision.importing.mapping import ItemRule, Mapping, NamedAttribute, NamedCode, load_mapping
from esupervision.importing.trace import Trace
from esupervision.importing.xes import read_xes
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.cases.report import CaseAction, ReportedEvent

# Every change the conversion may make, by the name the import summary counts it under.
ADJUSTMENTS = {
    "clamped_to_start": "事件早于办件开始，置于开始时刻（原时间见 logged_at）",
    "clamped_to_end": "事件晚于办件结束，置于结束时刻（原时间见 logged_at）",
    "end_moved_to_last_event": "结束日期无时刻且早于最后事件，移到最后事件（映射 bare_end_to_last_event；原值见 end_given）",
    "end_raised_to_start": "结束早于开始，结束置于开始（原值见 end_given）",
    "start_missing_used_first_event": "办件缺少开始属性，以第一个事件为开始",
    "end_missing_used_last_event": "已办结办件缺少结束属性或结束事件，以最后事件为结束",
    "unpaired": "暂停、恢复或延期无法配对，保留为普通环节（见 unpaired）",
}

# An opening action and the action that closes it; a case's clock holds at most one pause.
PAUSES = {
    CaseAction.REQUEST_SUPPLEMENT: CaseAction.SUPPLEMENT_RECEIVED,
    CaseAction.SUSPEND: CaseAction.RESUME,
}


@dataclass
class CatalogueSpec:
    """What the runner must make sure exists before ingesting: center, department, item."""

    center_code: str
    center_name: str
    department_code: str
    department_name: str
    item_code: str
    item_name: str
    legal_days: int
    committed_days: int
    extension_days: int
    basis: str  # "working" | "natural"


@dataclass
class ImportedCase:
    """One case ready to ingest: ``events`` start with ACCEPT and, when ``finished``, end with
    COMPLETE; ``occurred_at`` never decreases along the list.

    ``source_events`` counts the events read from the file for this case (every one of them is
    in ``events``); ``adjustments`` counts what the conversion had to change, by rule (see
    ``ADJUSTMENTS``). An adjusted event carries the rule in ``attributes["adjustment"]`` and the
    value the log gave (``logged_at``, ``end_given``), and the ledger keeps both.
    """

    number: str
    catalogue: CatalogueSpec
    events: list[ReportedEvent]
    finished: bool
    deadline: datetime | None  # the case's own deadline when the source carries one
    source_events: int = 0
    adjustments: dict[str, int] = field(default_factory=dict)


def load_cases(
    path: str | Path, mapping: Mapping | str | Path, *, options: dict[str, str] | None = None
) -> list[ImportedCase]:
    """Read the whole file and convert every case, in file order.

    ``mapping`` is a loaded ``Mapping``, a built-in name or a YAML path. ``options`` fill the
    mapping's placeholders (``{municipality}``) and win over values taken from the file name
    and over the mapping's own defaults. Returns a list, never a lazy sequence: a damaged file
    may only show its damage at the end, and nothing must be ingested from it then. Raises
    ``IMPORT_FILE_INVALID`` (file, line or row, case) or ``MAPPING_INVALID`` (key, and
    ``attribute`` when the file carries an attribute the mapping names in no case or event).
    Holds every case in memory; ``LogConversion`` streams.
    """
    conversion = LogConversion(path, mapping, options=options)
    cases = list(conversion)
    conversion.check()
    return cases


class LogConversion:
    """One pass over a log file, converting case by case, with running counts.

    Iterate it to get the ``ImportedCase`` values one at a time (memory bounded by one case for
    XES); then ``check()`` refuses what only the whole file shows (an attribute the mapping
    names that no case carries), and ``summary()`` gives the counts of everything read and
    every adjustment made. ``on_trace(bytes_read, cases)`` is called after each case, with the
    bytes of the file (compressed, for gzip) read so far.
    """

    def __init__(self, path: str | Path, mapping: Mapping | str | Path, *,
                 options: dict[str, str] | None = None,
                 on_trace: Callable[[int, int], None] | None = None) -> None:
        self.path = Path(path)
        self.mapping = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
        self.converter = _Converter(self.path, self.mapping, resolve_options(self.path, self.mapping, options))
        self.on_trace = on_trace
        self.tally = Tally()
        self.catalogue: dict[tuple[str, str, str], CatalogueSpec] = {}
        self.named = self.mapping.named_attributes()
        self.missing: Counter[NamedAttribute] = Counter()
        self.traces = 0
        self.events = 0

    def __iter__(self) -> Iterator[ImportedCase]:
        seen: dict[str, int | None] = {}
        trace_scope = [n for n in self.named if n.scope == "trace"]
        event_scope = [n for n in self.named if n.scope == "event"]
        if self.mapping.format == "csv":
            self._bytes = self.path.stat().st_size  # rows may come in any order: all read first
        for trace in _read(self.path, self.mapping, self._position):
            self.traces += 1
            self.events += len(trace.events)
            for named in trace_scope:
                if named.attribute not in trace.attributes:
                    self.missing[named] += 1
            for named in event_scope:
                lacking = sum(named.attribute not in event for event in trace.events)
                if lacking:
                    self.missing[named] += lacking
            case = self.converter.convert(trace)
            if case.number in seen:
                raise DomainError(
                    ErrorCode.IMPORT_FILE_INVALID,
                    f"文件 {self.path} 中办件编号 {case.number} 重复 (第 {seen[case.number]} 行和第 {trace.line} 行)",
                    path=str(self.path), line=trace.line, trace=case.number,
                )
            seen[case.number] = trace.line
            spec = case.catalogue
            self.catalogue.setdefault((spec.center_code, spec.department_code, spec.item_code), spec)
            self.tally.add(case)
            yield case
            if self.on_trace is not None and self._bytes is not None:
                self.on_trace(self._bytes, self.traces)

    _bytes: int | None = None

    def _position(self, bytes_read: int) -> None:
        self._bytes = bytes_read

    def check(self) -> None:
        """Refuse the file if an attribute the mapping names is carried by no case (or no event)
        of it: a misspelt key would otherwise change every result silently."""
        for named in self.named:
            total = self.traces if named.scope == "trace" else self.events
            if total and self.missing[named] >= total:
                where = "任何办件" if named.scope == "trace" else "任何事件"
                raise DomainError(
                    ErrorCode.MAPPING_INVALID,
                    f"映射 {self.mapping.source} 的 {named.key} 指定的属性 {named.attribute!r} 在文件 "
                    f"{self.path.name} 的{where}中都不存在 (attribute named by the mapping is not in the file)",
                    mapping=self.mapping.source, key=named.key, attribute=named.attribute, path=str(self.path),
                )

    def missing_attributes(self) -> dict[str, dict[str, Any]]:
        """Attributes the mapping names that some cases (or events) lack, by mapping key."""
        found: dict[str, dict[str, Any]] = {}
        for named in self.named:
            if self.missing[named]:
                per_case = named.scope == "trace"
                found[named.key] = {"attribute": named.attribute, "missing": self.missing[named],
                                    "of": self.traces if per_case else self.events,
                                    "per": "case" if per_case else "event"}
        return found

    def summary(self) -> dict[str, Any]:
        """``summary()`` of every case converted, with ``missing_attributes``."""
        return {**self.tally.summary(), "missing_attributes": self.missing_attributes()}


class Tally:
    """Running counts over converted cases (what ``summary`` returns)."""

    def __init__(self) -> None:
        self.totals = {"cases": 0, "events": 0, "source_events": 0, "finished": 0}
        self.by_action: Counter[str] = Counter()
        self.adjustments: Counter[str] = Counter()

    def add(self, case: ImportedCase) -> None:
        self.totals["cases"] += 1
        self.totals["events"] += len(case.events)
        self.totals["source_events"] += case.source_events
        self.totals["finished"] += int(case.finished)
        self.by_action.update(str(event.action) for event in case.events)
        self.adjustments.update(case.adjustments)

    def summary(self) -> dict[str, Any]:
        return {**self.totals, "by_action": dict(sorted(self.by_action.items())),
                "adjustments": dict(sorted(self.adjustments.items()))}


def summary(cases: Iterable[ImportedCase]) -> dict[str, Any]:
    """Counts for a report: cases, events (all produced), source_events (read from the file),
    finished, events per action, and the adjustments made by rule (``ADJUSTMENTS``), summed."""
    tally = Tally()
    for case in cases:
        tally.add(case)
    return tally.summary()


def resolve_options(path: Path, mapping: Mapping, given: dict[str, str] | None = None) -> dict[str, str]:
    """The mapping's option defaults, overridden by what ``options_from_filename`` captures from
    the file's name, overridden by ``given``."""
    options = dict(mapping.options)
    if mapping.options_from_filename is not None:
        found = mapping.options_from_filename.search(path.name)
        if found:
            options.update({k: v for k, v in found.groupdict().items() if v is not None})
    options.update(given or {})
    return options


def _read(path: Path, mapping: Mapping, position: Callable[[int], None]) -> Iterator[Trace]:
    if mapping.format == "csv":
        return read_csv(path, mapping.csv_columns())
    return read_xes(path, default_tz=mapping.timezone, position=position)


def is_bare_date(value: datetime) -> bool:
    """Whether a timestamp is a date written as midnight (day precision, no time of day)."""
    return (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)


class _Converter:
    def __init__(self, path: Path, mapping: Mapping, options: dict[str, str]) -> None:
        self.path = path
        self.mapping = mapping
        self.options = options
        # Fill every template now, so a missing option fails before the file is read.
        self.center = self._named(mapping.center, "catalogue.center")
        self.department = self._named(mapping.department, "catalogue.department")
        self.item_departments = {
            i: self._named(item.department, f"catalogue.items[{i}].department")
            for i, item in enumerate(mapping.items) if item.department is not None
        }
        self._fill(mapping.number_format, "case.number_format", number="")

    def _fill(self, template: str, key: str, **extra: str) -> str:
        values = {**self.options, **extra}
        for _, name, _, _ in string.Formatter().parse(template):
            if name is not None and name not in values:
                raise DomainError(
                    ErrorCode.MAPPING_INVALID,
                    f"映射 {self.mapping.source} 的 {key} 需要选项 {name}：文件名 {self.path.name} "
                    f"不符合 options_from_filename，调用时也未给出 (option {name!r} not set)",
                    mapping=self.mapping.source, key=key, option=name,
                )
        try:
            return template.format(**values)
        except (ValueError, IndexError) as exc:
            raise DomainError(ErrorCode.MAPPING_INVALID, f"映射 {self.mapping.source} 的 {key} 模板无效: {exc}",
                              mapping=self.mapping.source, key=key) from exc

    def _named(self, named: NamedCode, key: str) -> NamedCode:
        return NamedCode(code=self._fill(named.code, f"{key}.code"), name=self._fill(named.name, f"{key}.name"))

    def _fail(self, trace: Trace, case: str | None, reason: str) -> DomainError:
        label = f"办件 {case}" if case else "办件"
        return DomainError(
            ErrorCode.IMPORT_FILE_INVALID, f"文件 {self.path} 第 {trace.line} 行起的{label}无效: {reason}",
            path=str(self.path), line=trace.line, trace=case,
        )

    def _date(self, trace: Trace, number: str, key: str | None) -> datetime | None:
        if key is None:
            return None
        value = trace.attributes.get(key)
        if value is None or isinstance(value, datetime):
            return value
        raise self._fail(trace, number, f"属性 {key} 应为时间，得到 {value!r}")

    def _catalogue(self, trace: Trace, number: str) -> CatalogueSpec:
        for i, item in enumerate(self.mapping.items):
            if item.when is None or item.when.holds(trace.attributes, trace.events):
                department = self.item_departments.get(i, self.department)
                return _spec(self.center, department, item)
        raise DomainError(
            ErrorCode.MAPPING_INVALID,
            f"映射 {self.mapping.source} 中没有适用于办件 {number} 的事项 (no item matches; add one without `when`)",
            mapping=self.mapping.source, key="catalogue.items", trace=number,
        )

    def convert(self, trace: Trace) -> ImportedCase:
        m = self.mapping
        raw_number = trace.attributes.get(m.case_number)
        if raw_number is None or str(raw_number) == "":
            raise self._fail(trace, None, f"缺少办件编号属性 {m.case_number}")
        number = self._fill(m.number_format, "case.number_format", number=str(raw_number))
        for i, event in enumerate(trace.events, start=1):
            if not isinstance(event.get(m.event_timestamp), datetime):
                raise self._fail(trace, number, f"第 {i} 个事件缺少时间 {m.event_timestamp}")
            if event.get(m.event_activity) is None:
                raise self._fail(trace, number, f"第 {i} 个事件缺少活动名 {m.event_activity}")
        stamps = [event[m.event_timestamp] for event in trace.events]
        adjustments: Counter[str] = Counter()

        start_given = self._date(trace, number, m.case_start)
        start = start_given or (min(stamps) if stamps else None)
        if start is None:
            raise self._fail(trace, number, f"既没有开始时间 {m.case_start} 也没有任何事件")
        accept_attributes: dict[str, Any] = {}
        if m.case_start and start_given is None:
            adjustments["start_missing_used_first_event"] += 1
            accept_attributes["adjustment"] = "start_missing_used_first_event"
        finished = m.finished.holds(trace.attributes, trace.events)
        end: datetime | None = None
        complete_attributes: dict[str, Any] = {"result": "approved"}
        if finished:
            end_given = self._end(trace, number, stamps)
            end = end_given or (max(stamps) if stamps else start)
            if end_given is None and (m.case_end or m.end_event):
                adjustments["end_missing_used_last_event"] += 1
                complete_attributes["adjustment"] = "end_missing_used_last_event"
            if (m.bare_end_to_last_event and end_given is not None and stamps and max(stamps) > end_given
                    and is_bare_date(end_given)):
                # Asked for by the mapping: a bare date says only "that day", and the log shows
                # work after its midnight (an instant end stays; later events are clamped).
                end = max(stamps)
                adjustments["end_moved_to_last_event"] += 1
                complete_attributes.update(adjustment="end_moved_to_last_event", end_given=end_given.isoformat())
            if end < start:
                complete_attributes.update(adjustment="end_raised_to_start", end_given=end.isoformat())
                end = start  # the source's end precedes its start; the case closed when it began
                adjustments["end_raised_to_start"] += 1
        deadline = self._date(trace, number, m.case_deadline)
        catalogue = self._catalogue(trace, number)

        # The case's own start and end are what its clock runs between; an event stamped outside
        # them is kept (so counts stay whole) at the nearest boundary, its logged time recorded.
        placed: list[tuple[datetime, int, dict[str, Any], datetime | None]] = []
        for index, event in enumerate(trace.events, start=1):
            at = logged = event[m.event_timestamp]
            if at < start:
                at = start
                adjustments["clamped_to_start"] += 1
            elif end is not None and at > end:
                at = end
                adjustments["clamped_to_end"] += 1
            placed.append((at, index, event, logged if at != logged else None))
        clamp_rule = {True: "clamped_to_start", False: "clamped_to_end"}
        placed.sort(key=lambda entry: (entry[0], entry[1]))

        rules = [m.action_for(event) for _, _, event, _ in placed]
        actions = _pair([rule.action if rule else CaseAction.STEP for rule in rules])
        events = [self._accept(number, start, catalogue, trace, placed, deadline)]
        events[0].attributes.update(accept_attributes)
        for (at, index, event, logged), rule, (action, unpaired) in zip(placed, rules, actions):
            activity = str(event[m.event_activity])
            attributes: dict[str, Any] = {"activity": activity}
            if rule is not None and not unpaired:
                attributes.update(rule.attributes)
                attributes.update({k: event[v] for k, v in rule.attributes_from.items() if v in event})
            if unpaired:
                attributes["unpaired"] = str(rule.action) if rule else ""
                adjustments["unpaired"] += 1
            if logged is not None:
                attributes["adjustment"] = clamp_rule[logged < at]
                attributes["logged_at"] = logged.isoformat()
            label = event.get(m.event_step_name) if m.event_step_name else None
            events.append(ReportedEvent(
                source_event_id=f"{number}:{index}",
                case_number=number,
                action=action,
                occurred_at=at,
                staff_code=self._resource(event),
                step_name=str(label) if label is not None else activity,
                attributes=attributes,
            ))
        if finished:
            assert end is not None
            events.append(ReportedEvent(
                source_event_id=f"{number}:complete",
                case_number=number,
                action=CaseAction.COMPLETE,
                occurred_at=end,
                staff_code=self._resource(placed[-1][2]) if placed else None,
                attributes=complete_attributes,
            ))
        return ImportedCase(number=number, catalogue=catalogue, events=events, finished=finished,
                            deadline=deadline, source_events=len(trace.events),
                            adjustments=dict(adjustments))

    def _end(self, trace: Trace, number: str, stamps: list[datetime]) -> datetime | None:
        """The end the log gives: an attribute of the case, or the time of the event it names."""
        m = self.mapping
        if m.end_event is None:
            return self._date(trace, number, m.case_end)
        in_time_order = [trace.events[i] for i in sorted(range(len(stamps)), key=stamps.__getitem__)]
        found = m.end_event.find(in_time_order)
        return found[m.event_timestamp] if found is not None else None

    def _resource(self, event: dict[str, Any]) -> str | None:
        value = event.get(self.mapping.event_resource) if self.mapping.event_resource else None
        return str(value) if value not in (None, "") else None

    def _accept(self, number: str, start: datetime, catalogue: CatalogueSpec, trace: Trace,
                placed: list[tuple[datetime, int, dict[str, Any], datetime | None]],
                deadline: datetime | None) -> ReportedEvent:
        m = self.mapping
        channel = trace.attributes.get(m.case_channel) if m.case_channel else None
        applicant = trace.attributes.get(m.case_applicant) if m.case_applicant else None
        return ReportedEvent(
            source_event_id=f"{number}:accept",
            case_number=number,
            action=CaseAction.ACCEPT,
            occurred_at=start,
            item_code=catalogue.item_code,
            center_code=catalogue.center_code,
            department_code=catalogue.department_code,
            # Who accepted is not recorded; the handler of the case's first event is the best witness.
            staff_code=self._resource(placed[0][2]) if placed else None,
            channel=str(channel) if channel is not None else None,
            applicant_name=str(applicant) if applicant is not None else None,
            attributes={"due_at": deadline.isoformat()} if deadline is not None else {},
        )


def _pair(actions: list[CaseAction]) -> list[tuple[CaseAction, bool]]:
    """Keep a pause only with the resume that closes it, and one extension; the rest become STEP.

    The core refuses a resume without a pause, a second pause while paused, a second extension,
    and completion while paused, so an opening left without its closing is unpaired too.
    Returns (action, unpaired) per input, in order.
    """
    result: list[tuple[CaseAction, bool]] = []
    opened_at: int | None = None
    closing: CaseAction | None = None
    extended = False
    for action in actions:
        keep = True
        if action in PAUSES:
            keep = opened_at is None
            if keep:
                opened_at, closing = len(result), PAUSES[action]
        elif action in PAUSES.values():
            keep = action is closing
            if keep:
                opened_at, closing = None, None
        elif action is CaseAction.EXTEND:
            keep, extended = not extended, True
        result.append((action, False) if keep else (CaseAction.STEP, True))
    if opened_at is not None:
        result[opened_at] = (CaseAction.STEP, True)
    return result


def _spec(center: NamedCode, department: NamedCode, item: ItemRule) -> CatalogueSpec:
    return CatalogueSpec(
        center_code=center.code, center_name=center.name,
        department_code=department.code, department_name=department.name,
        item_code=item.code, item_name=item.name, legal_days=item.legal_days,
        committed_days=item.committed_days, extension_days=item.extension_days, basis=item.basis,
    )
