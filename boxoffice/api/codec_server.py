"""The Temporal codec-server endpoint: the Temporal UI and CLI show decrypted payloads to operators, and only them.

Protocol (Temporal's remote codec): ``POST /codec/decode`` and ``POST /codec/encode`` take and return a
``temporal.api.common.v1.Payloads`` message as proto3 JSON, ``{"payloads": [{"metadata": {k: base64},
"data": base64}]}``. The UI adds ``X-Namespace`` and, with "pass access token", ``Authorization: Bearer …``
(and sometimes ``Authorization-Extras``); with "include cross-origin credentials" it sends cookies. Set the
UI's codec endpoint to ``<public API URL>/codec`` (the CLI: ``--codec-endpoint <URL>/codec --codec-auth
"Bearer <token>"``).

Who may call it: ``verify_operator(token)`` (held in ``app.state.codec_server``) returns True for an operator,
False for anyone else's valid token (403) and raises ``Unauthorized`` for an invalid one (401). The token comes
from the ``Authorization`` header or, for browsers whose UI has no login of its own, from the HttpOnly cookie
that ``/codec/session`` sets after checking the same token.

CORS is allowed for the configured UI origins on ``/codec`` only (``CodecCORS``), with credentials: the rest of
the API stays unreadable cross-origin. ``install`` wires all of it into an app.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf import json_format
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from boxoffice.api import problems
from boxoffice.codec import PayloadDecryptionError, PayloadKeyError
from boxoffice.errors import BoxofficeError, Forbidden, NotFound, Unauthorized

PREFIX = "/codec"
COOKIE = "boxoffice_codec"
# A decode request carries one event's payloads; Temporal itself refuses a payload over 2 MiB.
MAX_BODY_BYTES = 8 * 1024 * 1024
ALLOWED_HEADERS = ("Authorization", "Authorization-Extras", "Content-Type", "X-Namespace")

router = APIRouter(prefix=PREFIX, tags=["codec"])
_bearer = HTTPBearer(auto_error=False)


class UnsupportedMediaType(BoxofficeError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class PayloadTooLarge(BoxofficeError):
    status, code, title = 413, "payload_too_large", "Payload too large"


@dataclass(frozen=True)
class CodecServer:
    """What the endpoint needs, kept in ``app.state.codec_server``.

    ``namespace``: when set, a request naming another namespace in ``X-Namespace`` is refused (404).
    """

    codec: PayloadCodec
    verify_operator: Callable[[str], bool]
    namespace: str | None = None


class CodecCORS:
    """Starlette's CORS middleware for paths under ``/codec`` only; every other path passes through untouched."""

    def __init__(self, app: ASGIApp, *, allow_origins: Sequence[str], prefix: str = PREFIX) -> None:
        self.app, self.prefix = app, prefix
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(allow_origins),
            allow_methods=["POST"],
            allow_headers=list(ALLOWED_HEADERS),
            allow_credentials=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == self.prefix or path.startswith(self.prefix + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install(
    app: FastAPI,
    *,
    codec: PayloadCodec,
    verify_operator: Callable[[str], bool],
    allowed_origins: Sequence[str],
    namespace: str | None = None,
) -> None:
    """Serve the codec endpoint under ``/codec`` with CORS for ``allowed_origins`` (call before the app starts)."""
    app.state.codec_server = CodecServer(codec, verify_operator, namespace)
    app.include_router(router)
    app.add_middleware(CodecCORS, allow_origins=allowed_origins)


def _server(request: Request) -> CodecServer:
    server = getattr(request.app.state, "codec_server", None)
    if server is None:
        raise NotFound("the codec endpoint is not configured", code="codec_not_configured")
    return server


def _check_operator(server: CodecServer, token: str | None) -> None:
    if not token:
        raise Unauthorized("an operator's bearer token is required", code="missing_token")
    if not server.verify_operator(token):
        raise Forbidden("decoding payloads needs the operator role", code="wrong_role")


async def require_operator(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Passes only a request carrying an operator's token (the header if present, else the session cookie)
    and naming no other namespace than the configured one."""
    server = _server(request)
    _check_operator(server, creds.credentials if creds is not None else request.cookies.get(COOKIE))
    namespace = request.headers.get("x-namespace")
    if server.namespace is not None and namespace is not None and namespace != server.namespace:
        raise NotFound(f"no codec for namespace {namespace!r}", code="unknown_namespace")


Operator = Depends(require_operator)


async def _read_payloads(request: Request) -> Payloads:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType("send the payloads as application/json")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"at most {MAX_BODY_BYTES} bytes per request")
    try:
        # Unknown fields are skipped: a newer UI or CLI may send fields these protobufs do not know yet.
        return json_format.Parse(bytes(body), Payloads(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        reason = " ".join(str(exc).split())[:300]
        raise BoxofficeError(f"not a Payloads JSON message: {reason}", code="invalid_payloads") from None


async def _apply(request: Request, encode: bool) -> Response:
    server = _server(request)
    payloads = await _read_payloads(request)
    try:
        if encode:
            out = await server.codec.encode(payloads.payloads)
        else:
            out = await server.codec.decode(payloads.payloads)
    except (PayloadKeyError, PayloadDecryptionError) as exc:
        raise BoxofficeError(str(exc), code="undecodable_payload") from None
    body = json_format.MessageToJson(Payloads(payloads=out), indent=None)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


class PayloadJSON(BaseModel):
    """One ``temporal.api.common.v1.Payload`` in proto3 JSON."""

    metadata: dict[str, str] = Field(default_factory=dict, description="metadata values, base64")
    data: str = Field(default="", description="the payload's bytes, base64")


class PayloadsJSON(BaseModel):
    """``temporal.api.common.v1.Payloads`` in proto3 JSON: the body and the answer of ``/codec/decode|encode``."""

    payloads: list[PayloadJSON] = Field(default_factory=list)


_REFUSALS = problems.responses(400, 401, 403, 404, 413, 415)
# The answer is written from the protobuf message itself; the model only documents its shape.
_ANSWERS: dict[int | str, dict[str, Any]] = {200: {"model": PayloadsJSON, "description": "The payloads, converted"}}


@router.post(
    "/decode",
    dependencies=[Operator],
    responses={**_ANSWERS, **_REFUSALS},
    summary="Decode Temporal payloads (operators only)",
)
async def decode(request: Request) -> Response:
    return await _apply(request, encode=False)


@router.post(
    "/encode",
    dependencies=[Operator],
    responses={**_ANSWERS, **_REFUSALS},
    summary="Encode Temporal payloads (operators only)",
)
async def encode(request: Request) -> Response:
    return await _apply(request, encode=True)


# --- a cookie for browsers: the Temporal UI without a login of its own sends no Authorization header -------

_SESSION_PAGE = """<!doctype html><meta charset="utf-8"><title>Boxoffice codec sign-in</title>
<h1>Temporal codec sign-in</h1><p>{message}</p>
<form method="post"><label>Operator token <input name="token" type="password" size="60" required></label>
<button>Sign in</button></form>
<p>Then, in the Temporal UI's codec server settings, use the endpoint <code>{endpoint}</code> and turn on
“Include cross-origin credentials”. Open the UI on the same host name as this page.</p>"""


def _session_page(request: Request, message: str) -> HTMLResponse:
    endpoint = str(request.base_url).rstrip("/") + PREFIX
    return HTMLResponse(_SESSION_PAGE.format(message=escape(message), endpoint=escape(endpoint)))


@router.get("/session", response_class=HTMLResponse, summary="The operator's sign-in page for /codec")
async def session_page(request: Request) -> HTMLResponse:
    """A form that posts an operator token to ``POST /codec/session`` (no credential needed to see it)."""
    return _session_page(request, "Paste a token with the operator role.")


# An HTML route's errors are still problem+json: declared as such (FastAPI would file them under text/html).
_SESSION_REFUSALS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": answer["description"],
        "content": {problems.PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, answer in problems.responses(401, 403, 404).items()
}


@router.post(
    "/session",
    response_class=HTMLResponse,
    responses=_SESSION_REFUSALS,
    summary="Keep an operator's token in a cookie for /codec",
)
async def open_session(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> HTMLResponse:
    """Checks the token (the header, or the form's ``token`` field) exactly as the codec endpoint does, then
    keeps it in an HttpOnly, SameSite=Strict cookie sent only to ``/codec``; a refused token sets nothing.
    The token's own expiry still applies on every request."""
    token = creds.credentials if creds is not None else await _form_token(request)
    _check_operator(_server(request), token)
    response = _session_page(request, "Signed in: the Temporal UI may now decode payloads.")
    response.set_cookie(
        COOKIE, token, path=PREFIX, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.delete("/session", status_code=204, summary="Forget the codec cookie")
async def close_session() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response


async def _form_token(request: Request) -> str:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return ""
    form: Any = await request.form()
    value = form.get("token")
    return value.strip() if isinstance(value, str) else ""
