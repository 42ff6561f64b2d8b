"""FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from boxoffice.access import ensure_organization
from boxoffice.auth import Principal, Role, decode_token, refuse_operators
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False)


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request. Routes commit explicitly before answering; anything uncommitted rolls back."""
    async with request.app.state.db.sessionmaker() as session:
        yield session


async def get_temporal(request: Request) -> Client:
    return await request.app.state.temporal.get()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DbDep = Annotated[Database, Depends(get_db)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalClientDep = Annotated[Client, Depends(get_temporal)]


async def current_principal(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required", code="missing_token")
    # Issue 11: an operator's token opens /codec only; every business route answers it 403.
    who = refuse_operators(decode_token(request.app.state.settings.jwt_secret, creds.credentials))
    if who.role is Role.ORG_ADMIN and who.org_id not in request.app.state.known_orgs:
        # An organisation exists once one of its admins first calls the API.
        async with request.app.state.db.transaction() as session:
            await ensure_organization(session, who.org_id)
        request.app.state.known_orgs.add(who.org_id)
    return who


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    # async: a sync dependency would hop through the thread pool on every request
    async def _check(who: CurrentUser) -> Principal:
        if who.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}", code="wrong_role")
        return who

    return _check


BuyerUser = Annotated[Principal, Depends(require(Role.BUYER))]
AdminUser = Annotated[Principal, Depends(require(Role.ORG_ADMIN))]
ScannerOrAdmin = Annotated[Principal, Depends(require(Role.SCANNER, Role.ORG_ADMIN))]
