"""Stream an XES event log (plain or gzipped) into ``Trace`` values.

Only scalar attributes directly under a trace or an event are kept; log-level attributes,
globals, classifiers and nested attributes are skipped, since no mapping needs them.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any

from lxml import etree

from esupervision.importing.source import open_counted
from esupervision.importing.trace import Trace
from esupervision.models.errors import DomainError, ErrorCode

TRACE_ID_KEY = "concept:name"


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def parse_xes_date(text: str, default_tz: tzinfo = timezone.utc) -> datetime:
    """Parse an XES (xs:dateTime) value into an aware datetime; a naive value gets ``default_tz``."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_tz)
    return value


def _local(tag: Any) -> str:
    # Comments and processing instructions have a callable tag; they never match an XES name.
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def read_xes(path: str | Path, *, default_tz: tzinfo = timezone.utc,
             position: Callable[[int], None] | None = None) -> Iterator[Trace]:
    """Yield the traces of an XES file one at a time, in file order, with typed attribute values.

    Memory stays bounded by one trace: parsed elements are cleared as soon as they are read.
    A truncated or malformed file (XML error, damaged gzip stream, a value that does not fit its
    declared type) raises ``DomainError(IMPORT_FILE_INVALID)`` with ``path``, ``line`` and
    ``trace`` (the id of the last trace seen) — possibly only after earlier traces were yielded,
    so a caller that must be all-or-nothing has to read to the end before acting. A well-formed
    XML file whose root is not an XES ``<log>`` is refused the same way, at its first line.
    ``position(bytes_read)`` is told, before each trace is yielded, how many bytes of the file
    itself (compressed, for gzip) have been read.
    """
    file_path = Path(path)
    converters: dict[str, Callable[[str], Any]] = {
        "string": str,
        "id": str,
        "int": int,
        "float": float,
        "boolean": _parse_bool,
        "date": lambda text: parse_xes_date(text, default_tz),
    }
    last_trace_id: str | None = None
    line: int | None = None
    trace: Trace | None = None
    event: dict[str, Any] | None = None
    stream, bytes_read = open_counted(file_path)
    root_seen = False
    try:
        # Imported files are not trusted: no entity expansion, no network access.
        parser = etree.iterparse(
            stream, events=("start", "end"), remove_comments=True, resolve_entities=False, no_network=True
        )
        for action, element in parser:
            name = _local(element.tag)
            line = element.sourceline
            if action == "start":
                if not root_seen:
                    root_seen = True
                    if name != "log":
                        raise _invalid(file_path, line, None,
                                       f"根元素是 <{name}>，不是 XES 日志的 <log> (not an XES log)")
                if name == "trace":
                    trace = Trace(attributes={}, events=[], line=element.sourceline)
                elif name == "event" and trace is not None:
                    event = {}
                continue
            convert = converters.get(name)
            if convert is not None:
                parent_name = _local(element.getparent().tag)
                if parent_name == "event" and event is not None:
                    target = event
                elif parent_name == "trace" and trace is not None:
                    target = trace.attributes
                else:
                    continue  # log-level, global or nested attribute
                key = element.get("key")
                raw = element.get("value")
                if key is None or raw is None:
                    raise _invalid(file_path, line, last_trace_id, f"<{name}> 缺少 key 或 value 属性")
                try:
                    target[key] = convert(raw)
                except ValueError as exc:
                    raise _invalid(
                        file_path, line, last_trace_id,
                        f"属性 {key} 的值 {raw!r} 不是合法的 {name} ({exc})",
                    ) from exc
                if target is not event and key == TRACE_ID_KEY:
                    last_trace_id = str(target[key])
            elif name == "event" and trace is not None and event is not None:
                trace.events.append(event)
                event = None
                element.clear()
            elif name == "trace" and trace is not None:
                finished, trace = trace, None
                element.clear()
                # Drop earlier siblings (header, earlier traces) so memory stays flat.
                while element.getprevious() is not None:
                    del element.getparent()[0]
                if position is not None:
                    position(bytes_read())
                yield finished
    except etree.XMLSyntaxError as exc:
        raise _invalid(
            file_path, exc.lineno or line, last_trace_id, f"XML 格式错误或文件被截断: {exc.msg}"
        ) from exc
    except (EOFError, OSError, zlib.error) as exc:
        raise _invalid(
            file_path, line, last_trace_id, f"压缩文件损坏或被截断 (damaged/truncated gzip): {exc}"
        ) from exc
    finally:
        stream.close()
    if trace is not None:
        raise _invalid(file_path, line, last_trace_id, "文件在办件中途结束 (trace not closed)")


def _invalid(path: Path, line: int | None, trace_id: str | None, reason: str) -> DomainError:
    where = f"第 {line} 行" if line else "未知位置"
    after = f"，最后读到的办件 {trace_id}" if trace_id else ""
    return DomainError(
        ErrorCode.IMPORT_FILE_INVALID,
        f"XES 文件 {path} 无效 ({where}{after}): {reason}",
        path=str(path),
        line=line,
        trace=trace_id,
    )
