"""Access tokens: short-lived HS256 JWTs naming the account and its role and scope."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt

from esupervision.models.access.scope import Role, Viewer
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.settings import get_settings

ISSUER = "esupervision"


def issue_access_token(viewer: Viewer, *, now: datetime) -> str:
    settings = get_settings()
    claims: dict[str, Any] = {
        "iss": ISSUER, "sub": viewer.username or viewer.applicant_phone or "", "role": viewer.role.value,
        "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=settings.access_token_minutes)).timestamp()),
    }
    for key in ("account_id", "staff_id", "center_id", "department_id", "window_id"):
        value = getattr(viewer, key)
        if value is not None:
            claims[key] = str(value)
    if viewer.applicant_phone:
        claims["phone"] = viewer.applicant_phone
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


@lru_cache(maxsize=4096)
def _verified_claims(token: str, secret: str) -> dict[str, Any]:
    """The claims of a token whose signature checks out. A dashboard sends the same token with
    every request; its signature is checked once (PyJWT spends ~0.3 ms preparing the key), and
    the time is still checked on every request. A forged token is never cached (it raises)."""
    return jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER,
                      options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                               "require": ["exp", "sub", "role"]})  # time checked on our clock


def viewer_from_token(token: str, *, now: datetime) -> Viewer:
    """The viewer a token speaks for; expired or forged tokens are refused with their own code."""
    settings = get_settings()
    try:
        claims = _verified_claims(token, settings.jwt_secret)
    except jwt.PyJWTError as exc:
        raise DomainError(ErrorCode.TOKEN_INVALID, "访问令牌无效 invalid access token") from exc
    if claims["exp"] <= now.timestamp():
        raise DomainError(ErrorCode.TOKEN_EXPIRED, "访问令牌已过期，请刷新 access token expired")
    try:
        role = Role(claims["role"])
    except ValueError as exc:
        raise DomainError(ErrorCode.TOKEN_INVALID, "访问令牌无效 invalid access token") from exc

    def ident(key: str) -> uuid.UUID | None:
        return uuid.UUID(claims[key]) if claims.get(key) else None

    return Viewer(role=role, username=claims["sub"] if role is not Role.APPLICANT else None,
                  account_id=ident("account_id"), staff_id=ident("staff_id"), center_id=ident("center_id"),
                  department_id=ident("department_id"), window_id=ident("window_id"),
                  applicant_phone=claims.get("phone"))
