"""The role × operation matrix (``models/access/duties.py``, decision 9) enforced in one place: a
permission on every field of ``Mutation``, checked before its resolver does any work.

A role the matrix does not name for a mutation is refused with FORBIDDEN (the public, with no
credentials, with UNAUTHENTICATED: it may log in); a mutation with no row is refused to everyone.
"""
from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from esupervision.api.schema.common import viewer
from esupervision.models.access.duties import EVERYONE, roles_for
from esupervision.models.access.scope import Role
from esupervision.models.errors import DomainError, ErrorCode


def refusal(role: Role) -> DomainError:
    """What a role the matrix does not admit is answered."""
    if role is Role.PUBLIC:
        return DomainError(ErrorCode.UNAUTHENTICATED, "请先登录 authentication required")
    return DomainError(ErrorCode.FORBIDDEN, "无权进行此操作 not allowed for your role")


class MayCall(BasePermission):
    """The matrix's row for this mutation admits the viewer's role."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        roles = roles_for(info.field_name)
        if roles == EVERYONE:
            return True   # signing in: a stale token in the header must not stop a login or a refresh
        who = viewer(info)   # a bad or expired token answers its own code
        if roles is not None and who.role in roles:
            return True
        raise refusal(who.role)


def enforce_duties(mutation: type) -> type:
    """Put ``MayCall`` in front of every field of the ``Mutation`` type (once)."""
    for field in mutation.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        if not any(isinstance(extension, PermissionExtension)
                   and any(isinstance(p, MayCall) for p in extension.permissions)
                   for extension in field.extensions):
            field.extensions.insert(0, PermissionExtension([MayCall()], use_directives=False))
    return mutation
