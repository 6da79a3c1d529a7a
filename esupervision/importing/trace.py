"""What a reader yields: one case of a log with its events, values already typed."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Trace:
    """One case as the source file has it, before any mapping is applied.

    ``attributes`` are the case-level attributes and ``events`` the events in file order, each a
    dict of attribute key to a typed value (aware ``datetime``, ``int``, ``float``, ``bool`` or
    ``str``). ``line`` is where the case starts in the file, for messages that point at it.
    """

    attributes: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    line: int | None = None
