"""Bearer tokens: HS256 JWTs with ``sub`` (user), ``org`` (organisation) and ``role``.

Roles: ``buyer``, ``org_admin`` and ``scanner`` use the business API. ``operator`` is the platform's on-call
engineer: its token opens the Temporal codec endpoint (``/codec``, decrypted workflow payloads) and nothing of the
business API (403), so an operator's token never reads a buyer's order through the API either.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import jwt

from boxoffice.errors import Forbidden, Unauthorized


class Role(StrEnum):
    BUYER = "buyer"
    ORG_ADMIN = "org_admin"
    SCANNER = "scanner"
    OPERATOR = "operator"


# Who may call the business API (``/v1``); the operator's only door is the codec endpoint.
BUSINESS_ROLES = frozenset({Role.BUYER, Role.ORG_ADMIN, Role.SCANNER})


@dataclass(frozen=True)
class Principal:
    user_id: str
    org_id: str
    role: Role


def mint_token(secret: str, *, user: str, org: str, role: Role | str = Role.BUYER, ttl: int = 3600) -> str:
    now = int(time.time())
    claims = {"sub": user, "org": org, "role": str(Role(role)), "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(secret: str, token: str) -> Principal:
    """The principal a valid token names; ``Unauthorized`` for anything else (expired, forged, malformed)."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}", code="invalid_token") from None
    try:
        sub, org, role = str(claims["sub"]), str(claims["org"]), Role(claims["role"])
    except (KeyError, ValueError):
        raise Unauthorized("token lacks a valid sub, org or role", code="invalid_token") from None
    if not sub or not org or len(org) > 64 or len(sub) > 128:
        raise Unauthorized("token has an empty or oversized sub or org", code="invalid_token")
    if "\x00" in sub or "\x00" in org:  # stored as owner ids: PostgreSQL text cannot hold NUL
        raise Unauthorized("token's sub or org contains the NUL character", code="invalid_token")
    return Principal(user_id=sub, org_id=org, role=role)


def refuse_operators(who: Principal) -> Principal:
    """``who`` unchanged when it is a business role; ``Forbidden`` (403 ``wrong_role``) for an operator."""
    if who.role not in BUSINESS_ROLES:
        raise Forbidden("an operator's token opens the codec endpoint only, not the business API", code="wrong_role")
    return who


def operator_verifier(secret: str) -> Callable[[str], bool]:
    """The codec endpoint's check: True for a valid operator token, False for another role's valid token (403), and
    ``Unauthorized`` for anything that is not a valid token (401)."""

    def verify(token: str) -> bool:
        return decode_token(secret, token).role is Role.OPERATOR

    return verify
