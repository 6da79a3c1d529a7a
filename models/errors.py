"""Domain errors: a stable code the user can act on, a Chinese message, and the record at fault.

The API maps ``DomainError.code`` to the GraphQL ``extensions.code`` once; the CLI prints it.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # catalogue
    CENTER_NOT_FOUND = "CENTER_NOT_FOUND"
    DEPARTMENT_NOT_FOUND = "DEPARTMENT_NOT_FOUND"
    WINDOW_NOT_FOUND = "WINDOW_NOT_FOUND"
    STAFF_NOT_FOUND = "STAFF_NOT_FOUND"
    ITEM_NOT_FOUND = "ITEM_NOT_FOUND"
    INVALID_DAY_LIMIT = "INVALID_DAY_LIMIT"
    COMMITTED_EXCEEDS_LEGAL = "COMMITTED_EXCEEDS_LEGAL"
    INVALID_WARNING_RULE = "INVALID_WARNING_RULE"
    DUPLICATE_CODE = "DUPLICATE_CODE"
    # cases and clocks
    CASE_NOT_FOUND = "CASE_NOT_FOUND"
    CASE_EXISTS = "CASE_EXISTS"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    CASE_NOT_RUNNING = "CASE_NOT_RUNNING"
    CASE_FINISHED = "CASE_FINISHED"
    STEP_NOT_RUNNING = "STEP_NOT_RUNNING"
    CLOCK_NOT_PAUSED = "CLOCK_NOT_PAUSED"
    CLOCK_ALREADY_PAUSED = "CLOCK_ALREADY_PAUSED"
    INVALID_SUSPEND_KIND = "INVALID_SUSPEND_KIND"
    EXTENSION_ALREADY_GRANTED = "EXTENSION_ALREADY_GRANTED"
    EXTENSION_EXCEEDS_LIMIT = "EXTENSION_EXCEEDS_LIMIT"
    EXTENSION_NOT_APPROVED = "EXTENSION_NOT_APPROVED"
    INVALID_EVENT = "INVALID_EVENT"
    EVENT_BEFORE_CASE = "EVENT_BEFORE_CASE"
    EVENT_IN_FUTURE = "EVENT_IN_FUTURE"
    EVENT_OUT_OF_ORDER = "EVENT_OUT_OF_ORDER"
    # calendar
    DEADLINE_CALENDAR_MISSING = "DEADLINE_CALENDAR_MISSING"
    CALENDAR_FILE_INVALID = "CALENDAR_FILE_INVALID"
    # ledger
    LEDGER_BROKEN = "LEDGER_BROKEN"
    # access
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    TOKEN_INVALID = "TOKEN_INVALID"
    RATE_LIMITED = "RATE_LIMITED"
    INVALID_PHONE = "INVALID_PHONE"
    LOGIN_CODE_INVALID = "LOGIN_CODE_INVALID"      # wrong code; the code stays alive for a few more tries
    LOGIN_CODE_EXPIRED = "LOGIN_CODE_EXPIRED"      # no live code: expired, used, or killed by wrong tries
    API_KEY_NOT_FOUND = "API_KEY_NOT_FOUND"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    # API input
    BAD_CURSOR = "BAD_CURSOR"
    PAGE_TOO_LARGE = "PAGE_TOO_LARGE"
    BAD_INPUT = "BAD_INPUT"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"        # estimated cost over the limit
    QUERY_TOO_LARGE = "QUERY_TOO_LARGE"            # too many tokens to parse
    # tenders (each refusal also names its rule and article in the details)
    TENDER_NOT_FOUND = "TENDER_NOT_FOUND"
    TENDER_EXISTS = "TENDER_EXISTS"
    TENDER_STAGE_ORDER = "TENDER_STAGE_ORDER"
    TENDER_SUSPENDED = "TENDER_SUSPENDED"
    LOT_NOT_FOUND = "LOT_NOT_FOUND"
    PERIOD_TOO_SHORT = "PERIOD_TOO_SHORT"
    OBJECTION_TOO_LATE = "OBJECTION_TOO_LATE"
    OBJECTION_NOT_FOUND = "OBJECTION_NOT_FOUND"
    COMPLAINT_TOO_LATE = "COMPLAINT_TOO_LATE"
    BID_AFTER_DEADLINE = "BID_AFTER_DEADLINE"
    BID_NOT_FOUND = "BID_NOT_FOUND"
    BIDDER_NOT_INVITED = "BIDDER_NOT_INVITED"
    BOND_EXCEEDS_LIMIT = "BOND_EXCEEDS_LIMIT"
    OPENING_BEFORE_DEADLINE = "OPENING_BEFORE_DEADLINE"
    TOO_FEW_BIDS = "TOO_FEW_BIDS"
    COMMITTEE_INVALID = "COMMITTEE_INVALID"
    NOT_FIRST_CANDIDATE = "NOT_FIRST_CANDIDATE"
    BID_SEALED = "BID_SEALED"
    OCDS_INVALID = "OCDS_INVALID"
    # import
    IMPORT_FILE_INVALID = "IMPORT_FILE_INVALID"
    MAPPING_NOT_FOUND = "MAPPING_NOT_FOUND"
    MAPPING_INVALID = "MAPPING_INVALID"


class DomainError(Exception):
    """A refusal the user can act on; raising it must leave the database unchanged."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, **{k: str(v) for k, v in self.details.items()}}
