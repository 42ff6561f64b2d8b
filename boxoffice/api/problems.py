"""RFC 9457 problem+json for every error the API returns, and its declaration in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError

from boxoffice.errors import BoxofficeError
from boxoffice.logging import get_logger

log = get_logger(__name__)
PROBLEM = "application/problem+json"
_HTTP_CODES = {
    400: "malformed_body",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
}
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_DESCRIPTIONS = {
    400: "The body could not be read (not UTF-8 JSON)",
    401: "Missing or invalid bearer token",
    403: "The token's role may not do this",
    404: "Not found, or not yours (never another user's or organisation's data)",
    409: "Conflict with the current state",
    410: "Gone",
    413: "Request body too large",
    422: "Invalid request",
    502: "The payment provider refused or failed",
    503: "A dependency (Temporal, a payment provider) is unavailable; nothing was changed",
}


class Problem(BaseModel):
    """An RFC 9457 problem: ``code`` is stable and documented; other members add context."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(examples=["https://boxoffice.dev/problems/sold_out"])
    title: str
    status: int
    detail: str
    code: str = Field(examples=["sold_out"])


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each status answered as a ``Problem`` (declared as problem+json)."""
    return {s: {"model": Problem, "description": _DESCRIPTIONS.get(s, "Error")} for s in statuses}


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://boxoffice.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **{k: v for k, v in extra.items() if v is not None},
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


_PROBLEM_CONTENT = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method the requested path answers to, across all its routes: Starlette's own 405 names only the
    methods of the first route that matched the path (``POST`` alone for ``/v1/events``). Asked of the router
    method by method, so included routers are searched as they are for a request."""
    return sorted(
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in app.router.routes)
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(BoxofficeError)
    async def _business(_req: Request, exc: BoxofficeError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"] if p != "body")
        return problem(422, "validation_error", "Invalid request", f"{where}: {first['msg']}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        response = problem(exc.status_code, code, str(exc.detail), str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(app, req))
        return response

    @app.exception_handler(RPCError)
    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def _temporal(req: Request, exc: Exception) -> JSONResponse:
        """Temporal went away mid-request (a restart, a lost connection, a call that timed out): a 503 the client
        retries, with the same Idempotency-Key where the route takes one, never a 500. A flow that can say more
        (a closed run, a missing one) catches its own RPC errors first."""
        log.warning("temporal unavailable", path=req.url.path, error=str(exc))
        response = problem(
            503,
            "temporal_unavailable",
            "Temporal is unavailable",
            "the workflow service did not answer; retry shortly (with the same Idempotency-Key, if any)",
        )
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=req.url.path)
        return problem(500, "internal_error", "Internal error", "an unexpected error occurred")

    def openapi() -> dict[str, Any]:
        """FastAPI's document, with every error response declared as problem+json (FastAPI files them all under
        application/json, and its own 422 under a schema we never send)."""
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes, description=app.description)
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            schemas.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            for path in doc.get("paths", {}).values():
                for operation in path.values():
                    for status, answer in operation.get("responses", {}).items():
                        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                        if schema.get("$ref", "").rsplit("/", 1)[-1] in ("Problem", "HTTPValidationError"):
                            answer["content"] = _PROBLEM_CONTENT
                            if status == "422":
                                answer["description"] = _DESCRIPTIONS[422]
                    if "requestBody" in operation:  # FastAPI answers 400 to a body it cannot decode
                        declared = {"description": _DESCRIPTIONS[400], "content": _PROBLEM_CONTENT}
                        operation["responses"].setdefault("400", declared)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
