"""Who may see what (decision 11): roles, the viewer of a request, and the data scope of each role.

The scope is a SQL condition on cases, so a list, a count and a lookup by number all answer the
same: a case outside the viewer's scope is indistinguishable from a case that does not exist.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import false, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from esupervision.models.cases.case import Case
from esupervision.models.errors import DomainError, ErrorCode


class Role(StrEnum):
    SUPERVISOR = "supervisor"                # 监察部门: sees everything
    CENTER_ADMIN = "center_admin"            # 中心管理: their center
    DEPARTMENT_LEADER = "department_leader"  # 部门领导: their department
    WINDOW_STAFF = "window_staff"            # 窗口工作人员: their window
    DEPARTMENT_SYSTEM = "department_system"  # 部门业务系统 (API key): their department
    APPLICANT = "applicant"                  # 申请人: their own cases
    PUBLIC = "public"                        # 公众: aggregates only
    # 市级监察 at a county's deployment (a service key the county issues to the city): urges and
    # orders on the county's cases, reads nothing (issue 17, item 5).
    CITY_SUPERVISION = "city_supervision"


ROLE_LABELS = {
    Role.SUPERVISOR: "监察人员", Role.CENTER_ADMIN: "中心管理员", Role.DEPARTMENT_LEADER: "部门领导",
    Role.WINDOW_STAFF: "窗口工作人员", Role.DEPARTMENT_SYSTEM: "部门业务系统", Role.APPLICANT: "申请人",
    Role.PUBLIC: "公众", Role.CITY_SUPERVISION: "市级监察（服务密钥）",
}

# Roles that read personal data (ID and phone numbers) unmasked; each such read is recorded.
SEES_PERSONAL_DATA = frozenset({Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.WINDOW_STAFF})
STAFF_ROLES = frozenset({Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.WINDOW_STAFF})


@dataclass(frozen=True)
class Viewer:
    """The authenticated party of one request."""

    role: Role = Role.PUBLIC
    username: str | None = None
    account_id: uuid.UUID | None = None
    staff_id: uuid.UUID | None = None
    center_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    window_id: uuid.UUID | None = None
    applicant_phone: str | None = None
    api_key_id: uuid.UUID | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def actor(self) -> str:
        """How the ledger names this viewer."""
        if self.api_key_id:
            return f"apikey:{self.api_key_id}"
        return f"{self.role.value}:{self.username or self.applicant_phone or 'anonymous'}"


PUBLIC = Viewer()


def scope_unit(viewer: Viewer) -> tuple[str, uuid.UUID | None] | None:
    """The unit a staff viewer reads within, as (column name, id): a center admin their center, a
    department (leader or system) theirs, window staff their window; ``None`` for supervisors
    (everything) and for applicants and the public (no unit). The id is ``None`` when the account
    lacks it, which confines the viewer to nothing."""
    role = viewer.role
    if role is Role.CENTER_ADMIN:
        return "center_id", viewer.center_id
    if role in (Role.DEPARTMENT_LEADER, Role.DEPARTMENT_SYSTEM):
        return "department_id", viewer.department_id
    if role is Role.WINDOW_STAFF:
        return "window_id", viewer.window_id
    return None


def unit_scope(viewer: Viewer, model: Any, applicant_phone: Any = None) -> ColumnElement[bool]:
    """The rows of ``model`` (any table with ``center_id``, ``department_id`` and ``window_id``)
    ``viewer`` may read: supervisors all, staff their ``scope_unit``, and, when the rows name an
    applicant's phone (``applicant_phone``, a column), an applicant their own; anyone else nothing."""
    if viewer.role is Role.SUPERVISOR:
        return true()
    unit = scope_unit(viewer)
    if unit is not None:
        name, value = unit
        return getattr(model, name) == value if value else false()
    if viewer.role is Role.APPLICANT and viewer.applicant_phone and applicant_phone is not None:
        return applicant_phone == viewer.applicant_phone
    return false()


def case_scope(viewer: Viewer) -> ColumnElement[bool]:
    """The cases ``viewer`` may read, as a condition on the case table."""
    return unit_scope(viewer, Case, Case.applicant_phone)


def may_change_case(session: Session, viewer: Viewer, number: str, *, creates: bool = False) -> bool:
    """Whether ``viewer`` may change the case ``number`` (decisions 9 and 11): read and write scope
    are one condition, ``case_scope``. A case outside it may not be changed; with ``creates`` (an
    event that makes a new case) a number no case has yet may be used, and the caller checks the
    new case against ``case_scope`` before it commits. Callers answer every refusal as
    ``case_not_found``, so a refusal never tells whether the case exists."""
    if session.scalar(select(Case.id).where(Case.number == number, case_scope(viewer))) is not None:
        return True
    return creates and session.scalar(select(Case.id).where(Case.number == number)) is None


def case_not_found(number: str, **details: object) -> DomainError:
    """The one answer for a case that does not exist and for one the viewer may not read or change
    (the core's own words for an unknown case); ``details`` as the core adds them (``event``)."""
    return DomainError(ErrorCode.CASE_NOT_FOUND, f"办件 {number} 不存在 (no such case)", case=number, **details)


def mask_phone(phone: str | None) -> str | None:
    """138****5678"""
    if not phone:
        return phone
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def mask_id_number(number: str | None) -> str | None:
    """110101********1234"""
    if not number:
        return number
    return number[:6] + "*" * max(0, len(number) - 10) + number[-4:] if len(number) > 10 else "*" * len(number)
