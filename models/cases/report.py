"""What a department's business system (or the importer) reports: one event of one case.

Each reported event carries the source's own id, so a repeat is recognised and ignored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class CaseAction(StrEnum):
    SUBMIT = "submit"                      # 网上申报 (online submission; starts the art. 32 clock)
    PREREVIEW_PASS = "prereview_pass"      # 预审通过
    PREREVIEW_FAIL = "prereview_fail"      # 预审不通过
    ACCEPT = "accept"                      # 受理 (starts the case clock)
    ADVANCE = "advance"                    # a department finishes its running step
    STEP = "step"                          # an activity inside a step; recorded, changes no state
    REQUEST_SUPPLEMENT = "request_supplement"  # 补正告知 (pauses the clock)
    SUPPLEMENT_RECEIVED = "supplement_received"  # 补正材料收到 (resumes it)
    SUSPEND = "suspend"                    # 特别程序 (art. 45 kinds; pauses the clock)
    RESUME = "resume"                      # 特别程序结束
    EXTEND = "extend"                      # 延期 (art. 42, approved by a named person)
    COMPLETE = "complete"                  # 办结 (approve / deny)
    REJECT = "reject"                      # 退件 / 不予受理
    WITHDRAW = "withdraw"                  # 撤回


@dataclass(frozen=True)
class ReportedEvent:
    """One event as a department system reports it.

    ``item_code`` (and optionally department/window/staff codes, applicant, channel) are needed on
    the event that creates the case (submit or accept). ``attributes`` holds the action's own
    arguments: ``missing_materials`` (every one, 一次性告知) and ``reason`` for request_supplement,
    ``kind`` for suspend, ``days`` and ``approved_by`` for extend, ``result``
    (approved / denied) for complete, ``reason`` for reject, ``due_at`` for a case whose source
    fixes its own deadline, ``activity`` for step events.
    """

    source_event_id: str
    case_number: str
    action: CaseAction
    occurred_at: datetime
    item_code: str | None = None
    center_code: str | None = None
    department_code: str | None = None
    window_code: str | None = None
    staff_code: str | None = None
    applicant_name: str | None = None
    channel: str | None = None
    step_name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
