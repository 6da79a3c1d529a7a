"""Domain errors: a stable code the user can act on, a Chinese message, and the record at fault.

The API maps ``DomainError.code`` to the GraphQL ``extensions.code`` once; the CLI prints it.
"""
from __future__ import annotations

import math
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
    SUPPLEMENT_INCOMPLETE = "SUPPLEMENT_INCOMPLETE"  # a 补正 naming no material or no reason (art. 32)
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
    LEDGER_PROOF_UNAVAILABLE = "LEDGER_PROOF_UNAVAILABLE"  # no such event, size or head to prove
    # county deployments replicated at the city (models/counties)
    COUNTY_READ_ONLY = "COUNTY_READ_ONLY"            # a replicated county's records change at the county only
    COUNTY_NOT_FOUND = "COUNTY_NOT_FOUND"
    COUNTY_CODE_IN_USE = "COUNTY_CODE_IN_USE"        # the city has a center of its own with that code
    COUNTY_KEY_INVALID = "COUNTY_KEY_INVALID"        # the public key file holds no Ed25519 verifier key
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
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"
    WEAK_PASSWORD = "WEAK_PASSWORD"                # shorter than 10, one kind of character, common or the username
    ALREADY_INITIALIZED = "ALREADY_INITIALIZED"    # esv init on a database that has centers or accounts
    CATALOGUE_FILE_INVALID = "CATALOGUE_FILE_INVALID"  # a catalogue spreadsheet row that is no good
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"            # the key came before with another request
    IDEMPOTENCY_KEY_IN_PROGRESS = "IDEMPOTENCY_KEY_IN_PROGRESS"  # its first request is still running
    IDEMPOTENCY_ANSWER_LOST = "IDEMPOTENCY_ANSWER_LOST"          # its first request took effect, answer lost
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    # API input
    BAD_CURSOR = "BAD_CURSOR"
    PAGE_TOO_LARGE = "PAGE_TOO_LARGE"
    BAD_INPUT = "BAD_INPUT"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"        # estimated cost over the limit
    QUERY_TOO_LARGE = "QUERY_TOO_LARGE"            # too many tokens to parse
    VARIABLES_TOO_DEEP = "VARIABLES_TOO_DEEP"      # variables nested deeper than allowed
    VARIABLES_TOO_LONG = "VARIABLES_TOO_LONG"      # a list in the variables longer than allowed
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"        # a request body over the size limit (HTTP 413)
    # efficiency statistics
    INVALID_PERIOD = "INVALID_PERIOD"                # a statistics period that ends before it starts
    STATISTICS_FILTER_UNSUPPORTED = "STATISTICS_FILTER_UNSUPPORTED"  # staff and item together
    # publication of efficiency reports
    REPORT_PERIOD_INVALID = "REPORT_PERIOD_INVALID"  # ends before it starts, or has not ended yet
    REPORT_NOT_FOUND = "REPORT_NOT_FOUND"
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
    # complaints, consultations, evaluations and their follow-ups
    COMPLAINT_NOT_FOUND = "COMPLAINT_NOT_FOUND"
    COMPLAINT_ANSWERED = "COMPLAINT_ANSWERED"        # answered already: no second answer or reassignment
    EVALUATION_EXISTS = "EVALUATION_EXISTS"          # the case is rated (or deemed) already
    EVALUATION_NOT_OPEN = "EVALUATION_NOT_OPEN"      # the case has not completed
    EVALUATION_CLOSED = "EVALUATION_CLOSED"          # the rating window has passed
    INVALID_SCORE = "INVALID_SCORE"
    FOLLOW_UP_NOT_FOUND = "FOLLOW_UP_NOT_FOUND"
    FOLLOW_UP_STAGE_ORDER = "FOLLOW_UP_STAGE_ORDER"  # 核实 → 整改 → 回访, each once
    # supervision: urges, orders, automatic rules
    URGE_TARGET_FINISHED = "URGE_TARGET_FINISHED"    # the step or stage urged is no longer running
    URGE_NOT_FOUND = "URGE_NOT_FOUND"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    ORDER_NOT_ADDRESSEE = "ORDER_NOT_ADDRESSEE"      # a reply from someone the order is not addressed to
    ORDER_ALREADY_REPLIED = "ORDER_ALREADY_REPLIED"
    NO_ADDRESSEE = "NO_ADDRESSEE"                    # nobody to tell: no staff, window or leader on record
    RULE_NOT_FOUND = "RULE_NOT_FOUND"
    RULE_UNKNOWN_TRIGGER = "RULE_UNKNOWN_TRIGGER"
    RULE_UNKNOWN_ACTION = "RULE_UNKNOWN_ACTION"
    # supervision across deployments: urges and orders from the city to a county's own deployment
    COUNTY_CASE_READ_ONLY = "COUNTY_CASE_READ_ONLY"          # a replicated county case: use superviseCountyCase
    COMMAND_COUNTY_UNKNOWN = "COMMAND_COUNTY_UNKNOWN"        # no county deployment of that code or center
    COMMAND_CREDENTIAL_MISSING = "COMMAND_CREDENTIAL_MISSING"  # no service key of the county at the city
    COMMAND_CREDENTIAL_REFUSED = "COMMAND_CREDENTIAL_REFUSED"  # the county refused the city's key
    # faults and accountability (差错、效能责任追究、申诉)
    UNKNOWN_FAULT_KIND = "UNKNOWN_FAULT_KIND"        # a rule or a record naming a fault kind that does not exist
    FAULT_NOT_FOUND = "FAULT_NOT_FOUND"
    FAULT_REVOKED = "FAULT_REVOKED"                  # revoked on appeal: nothing more to do with it
    EVIDENCE_NOT_FOUND = "EVIDENCE_NOT_FOUND"        # a cited ledger event that does not exist
    ACCOUNTABILITY_RULE_NOT_FOUND = "ACCOUNTABILITY_RULE_NOT_FOUND"
    ACCOUNTABILITY_RULE_INVALID = "ACCOUNTABILITY_RULE_INVALID"  # threshold, level, period or sanction
    SANCTION_ORDER = "SANCTION_ORDER"                # more faults would get a lighter measure than fewer
    SUGGESTION_NOT_FOUND = "SUGGESTION_NOT_FOUND"
    SUGGESTION_DECIDED = "SUGGESTION_DECIDED"        # decided already: a decision is taken once
    REASON_REQUIRED = "REASON_REQUIRED"
    APPEAL_NOT_FOUND = "APPEAL_NOT_FOUND"
    APPEAL_PENDING = "APPEAL_PENDING"                # one open appeal per fault or suggestion
    APPEAL_DECIDED = "APPEAL_DECIDED"
    NOT_APPEALABLE = "NOT_APPEALABLE"                # e.g. a dismissed suggestion, or another department's fault
    # import
    IMPORT_FILE_INVALID = "IMPORT_FILE_INVALID"
    MAPPING_NOT_FOUND = "MAPPING_NOT_FOUND"
    MAPPING_INVALID = "MAPPING_INVALID"
    # video supervision (电子眼)
    CAMERA_NOT_FOUND = "CAMERA_NOT_FOUND"
    CAMERA_INVALID = "CAMERA_INVALID"
    VIDEO_NOT_RECORDED = "VIDEO_NOT_RECORDED"         # no footage of that instant (future, or past retention)


class DomainError(Exception):
    """A refusal the user can act on; raising it must leave the database unchanged."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message,
                **{k: detail_value(v) for k, v in self.details.items()}}


def detail_value(value: Any) -> Any:
    """A detail as JSON carries it: numbers, booleans and text as they are (``retryAfter`` stays a
    number), anything else (ids, instants) as its text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return str(value)
