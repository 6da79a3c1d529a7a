"""Separation of duties (decision 9) as data: for every GraphQL mutation, the roles that may call it.

The API enforces this table in one place (``api/schema/duties.py``, a permission on every field of
``Mutation``), the README shows it (``markdown_table``), and a test walks the schema so a mutation
without a row cannot be added. A row only says which roles may try: what each may touch is its data
scope (``scope.case_scope`` and the other scopes), checked by the operation inside its transaction.

Business work on cases and tenders belongs to the departments, their windows and their systems;
the supervision office and the center's management urge, order, record and decide faults and
appeals, manage the catalogue and the accounts, and publish: they never change what they supervise.
"""
from __future__ import annotations

from dataclasses import dataclass

from esupervision.models.access.scope import ROLE_LABELS, Role

SUPERVISOR, CENTER, LEADER, WINDOW, SYSTEM, APPLICANT, PUBLIC, CITY = (
    Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.WINDOW_STAFF, Role.DEPARTMENT_SYSTEM,
    Role.APPLICANT, Role.PUBLIC, Role.CITY_SUPERVISION)

EVERYONE = frozenset(Role)
SUPERVISION = frozenset({SUPERVISOR, CENTER})
# Departments' own people and systems: the only roles that change a case.
CASEWORK = frozenset({LEADER, WINDOW, SYSTEM})


@dataclass(frozen=True)
class Duties:
    """One group of operations of the README's table."""

    title: str
    business: bool          # business work on cases or tenders: never supervision's (decision 9)
    operations: dict[str, frozenset[Role]]


MATRIX: tuple[Duties, ...] = (
    Duties("登录与账号 sign-in and accounts", business=False, operations={
        # Signing in is open to anyone (a client with an expired token refreshes through it).
        "login": EVERYONE,
        "requestLoginCode": EVERYONE,
        "loginWithCode": EVERYONE,
        "refresh": EVERYONE,
        "createApiKey": SUPERVISION,
        "revokeApiKey": SUPERVISION,
        # A center admin only within their center, never a supervisor's account (account.py).
        "createAccount": SUPERVISION,
        "disableAccount": SUPERVISION,
        "enableAccount": SUPERVISION,
        "setAccountPassword": SUPERVISION,
    }),
    Duties("事项目录 catalogue", business=False, operations={
        "createCenter": frozenset({SUPERVISOR}),
        "createDepartment": SUPERVISION,
        "createItem": SUPERVISION,
    }),
    Duties("办件 case work (departments)", business=True, operations={
        # An online submission, and its pre-review, belong to no window yet (window staff read
        # only their window's cases).
        "submitCase": frozenset({LEADER, SYSTEM}),
        "prereviewCase": frozenset({LEADER, SYSTEM}),
        "acceptCase": CASEWORK,
        "advanceCase": CASEWORK,
        "requestSupplement": CASEWORK,
        "receiveSupplement": CASEWORK,
        "suspendCase": CASEWORK,
        "resumeCase": CASEWORK,
        "extendCase": CASEWORK,
        "completeCase": CASEWORK,
        "rejectCase": CASEWORK,
        "withdrawCase": CASEWORK,
        "reportCaseEvents": frozenset({SYSTEM}),
    }),
    Duties("招投标 tenders (the trading center's system)", business=True, operations={
        "publishTender": frozenset({SYSTEM}),
        "prequalifyTender": frozenset({SYSTEM}),
        "amendTender": frozenset({SYSTEM}),
        "objectToTender": frozenset({SYSTEM}),
        "answerObjection": frozenset({SYSTEM}),
        "submitBid": frozenset({SYSTEM}),
        "withdrawBid": frozenset({SYSTEM}),
        "formCommittee": frozenset({SYSTEM}),
        "openBids": frozenset({SYSTEM}),
        "failTender": frozenset({SYSTEM}),
        "reportEvaluation": frozenset({SYSTEM}),
        "publishCandidates": frozenset({SYSTEM}),
        "awardTender": frozenset({SYSTEM}),
        "signContract": frozenset({SYSTEM}),
        "returnBonds": frozenset({SYSTEM}),
        "fileTenderReport": frozenset({SYSTEM}),
        "fileComplaint": frozenset({SYSTEM}),
        # 投诉 are decided by the tender's administrative authority (条例 61): its department's
        # leader, on the tenders it supervises, or the trading system recording the decision.
        "acceptComplaint": frozenset({LEADER, SYSTEM}),
        "decideComplaint": frozenset({LEADER, SYSTEM}),
        "tenderEvent": frozenset({SYSTEM}),
        "reportTenderEvents": frozenset({SYSTEM}),
    }),
    Duties("催办督办 urges and orders", business=False, operations={
        # The city's supervision office at a county's deployment (its service key) urges and
        # orders there, on that county's cases only (orders._check_issuer), and does nothing else.
        "urge": SUPERVISION | {CITY},
        "issueSupervisionOrder": SUPERVISION | {CITY},
        # At the city, on a county deployment's case: recorded and delivered to the county's API.
        "superviseCountyCase": SUPERVISION,
        "createSupervisionRule": SUPERVISION,
        "updateSupervisionRule": SUPERVISION,
        "disableSupervisionRule": SUPERVISION,
        # Answered by whom they were sent to (an order escalated to the center: its management).
        "replyToUrge": frozenset({CENTER, LEADER, WINDOW}),
        "replyToOrder": frozenset({CENTER, LEADER, WINDOW}),
    }),
    Duties("效能责任追究 faults and accountability", business=False, operations={
        "recordFault": SUPERVISION,
        "createAccountabilityRule": frozenset({SUPERVISOR}),
        "updateAccountabilityRule": frozenset({SUPERVISOR}),
        "setAccountabilityRuleActive": frozenset({SUPERVISOR}),
        "decideSuggestion": frozenset({SUPERVISOR}),
        "deriveFaults": frozenset({SUPERVISOR}),
        "appeal": frozenset({CENTER, LEADER}),
        "decideAppeal": frozenset({SUPERVISOR}),
    }),
    Duties("投诉咨询与好差评 complaints and ratings", business=False, operations={
        "submitComplaint": frozenset({SUPERVISOR, CENTER, APPLICANT, PUBLIC}),
        "assignComplaint": SUPERVISION,
        "answerComplaint": frozenset({SUPERVISOR, CENTER, LEADER, WINDOW, SYSTEM}),
        "rateCase": frozenset({APPLICANT}),
        "recordFollowUp": frozenset({SUPERVISOR, CENTER, LEADER, WINDOW, SYSTEM}),
    }),
    Duties("效能公开 publication", business=False, operations={
        "publishReport": SUPERVISION,
    }),
    Duties("电子眼 video supervision", business=False, operations={
        # Cameras are catalogue data: a center's management keeps its own, supervisors any.
        "createCamera": SUPERVISION,
        "updateCamera": SUPERVISION,
        # Evidence serves faults, which supervision records (window staff never mark their own).
        "markVideoEvidence": SUPERVISION,
    }),
)

ROLES: dict[str, frozenset[Role]] = {name: roles for group in MATRIX for name, roles in group.operations.items()}


def roles_for(operation: str) -> frozenset[Role] | None:
    """The roles that may call the mutation ``operation`` (its GraphQL name); ``None`` when the
    matrix has no row for it, which the API refuses to everyone."""
    return ROLES.get(operation)


def may_call(role: Role, operation: str) -> bool:
    """Whether ``role`` may call the mutation ``operation`` at all (its data scope decides the rest)."""
    return role in ROLES.get(operation, frozenset())


COLUMNS = (SUPERVISOR, CENTER, LEADER, WINDOW, SYSTEM, APPLICANT, PUBLIC, CITY)


def markdown_table() -> str:
    """The matrix as the README shows it: one row per mutation, one column per role."""
    header = "| mutation | " + " | ".join(f"{ROLE_LABELS[role]} `{role.value}`" for role in COLUMNS) + " |"
    lines = [header, "|---|" + "---|" * len(COLUMNS)]
    for group in MATRIX:
        lines.append(f"| **{group.title}** |" + " |" * len(COLUMNS))
        for name, roles in group.operations.items():
            lines.append(f"| `{name}` | " + " | ".join("✓" if role in roles else "·" for role in COLUMNS) + " |")
    return "\n".join(lines) + "\n"
