"""Bearer tokens: HS256 JWTs with ``sub`` (user), ``org`` (organisation) and ``role``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import jwt

from boxoffice.errors import Unauthorized


class Role(StrEnum):
    BUYER = "buyer"
    ORG_ADMIN = "org_admin"
    SCANNER = "scanner"


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
