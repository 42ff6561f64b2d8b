"""The codec-server endpoint (``/codec``): operators decode and encode payloads; anyone else, a bad request, another
origin or a missing configuration is refused with a problem, never with a payload."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from temporalio.converter import DataConverter

from boxoffice.api import codec_server, problems
from boxoffice.auth import Role, mint_token
from boxoffice.codec import KEY_ID_METADATA, data_converter, parse_payload_keys
from tests.codec_samples import (
    EMAIL,
    HEADERS,
    NAME,
    OLD,
    ROTATED,
    SECRET,
    UI_ORIGIN,
    Person,
    as_json,
    bearer,
    codec_client,
    from_json,
    key_entry,
    mint,
    operator_token,
    seal,
)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with codec_client() as client:
        yield client


async def test_an_operator_decodes_and_encodes(http: httpx.AsyncClient) -> None:
    sealed = await seal(Person(EMAIL, NAME), OLD)
    resp = await http.post("/codec/decode", content=as_json(sealed), headers={**HEADERS, **bearer(operator_token())})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    [opened] = from_json(resp.text)
    assert opened.metadata["encoding"] == b"json/plain"
    assert json.loads(opened.data) == {"email": EMAIL, "name": NAME}

    plain = await DataConverter.default.encode([Person(EMAIL, NAME)])
    resp = await http.post("/codec/encode", content=as_json(plain), headers={**HEADERS, **bearer(operator_token())})
    assert resp.status_code == 200, resp.text
    [encoded] = from_json(resp.text)
    assert encoded.metadata[KEY_ID_METADATA] == b"k2" and EMAIL.encode() not in encoded.data
    assert await data_converter(ROTATED).decode([encoded], [Person]) == [Person(EMAIL, NAME)]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_token"),
        (bearer("not-a-jwt"), 401, "invalid_token"),
        (bearer(operator_token("another-secret-of-the-same-length-0123")), 401, "invalid_token"),
        (mint(Role.BUYER), 403, "wrong_role"),
        (mint(Role.ORG_ADMIN), 403, "wrong_role"),
        (mint(Role.SCANNER), 403, "wrong_role"),
    ],
    ids=["none", "garbage", "forged-operator", "buyer", "org_admin", "scanner"],
)
@pytest.mark.parametrize("path", ["/codec/decode", "/codec/encode"])
async def test_anyone_but_an_operator_is_refused(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], status: int, code: str
) -> None:
    sealed = await seal(Person(EMAIL, NAME), OLD)
    resp = await http.post(path, content=as_json(sealed), headers={**HEADERS, **headers})
    assert resp.status_code == status
    assert resp.headers["content-type"] == problems.PROBLEM
    assert resp.json()["code"] == code
    assert EMAIL not in resp.text and NAME not in resp.text


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        ("{not json", {}, 400, "invalid_payloads"),
        ('{"payloads": "x"}', {}, 400, "invalid_payloads"),
        ("[1]", {}, 400, "invalid_payloads"),
        ("{}", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        ("{}", {"X-Namespace": "someone-else"}, 404, "unknown_namespace"),
    ],
)
async def test_bad_requests_get_problems(
    http: httpx.AsyncClient, content: str, headers: dict[str, str], status: int, code: str
) -> None:
    resp = await http.post("/codec/decode", content=content, headers={**HEADERS, **bearer(operator_token()), **headers})
    assert (resp.status_code, resp.json()["code"]) == (status, code)
    assert "\n" not in resp.json()["detail"]


async def test_a_payload_under_an_unknown_key_is_a_400_naming_the_key(http: httpx.AsyncClient) -> None:
    stranger = parse_payload_keys(key_entry("k7", 7))
    resp = await http.post(
        "/codec/decode",
        content=as_json(await seal(Person(EMAIL, NAME), stranger)),
        headers={**HEADERS, **bearer(operator_token())},
    )
    assert resp.status_code == 400 and resp.json()["code"] == "undecodable_payload"
    assert "'k7'" in resp.json()["detail"]


PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
}


async def test_cors_preflight_from_the_ui_origin_is_answered(http: httpx.AsyncClient) -> None:
    resp = await http.options("/codec/decode", headers={"Origin": UI_ORIGIN, **PREFLIGHT})
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == UI_ORIGIN
    assert resp.headers["access-control-allow-credentials"] == "true"
    allowed = {h.strip().lower() for h in resp.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-namespace"} <= allowed
    assert "POST" in resp.headers["access-control-allow-methods"]

    sealed = await seal(Person(EMAIL, NAME), OLD)
    headers = {**HEADERS, **bearer(operator_token()), "Origin": UI_ORIGIN}
    resp = await http.post("/codec/decode", content=as_json(sealed), headers=headers)
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == UI_ORIGIN
    assert resp.headers["access-control-allow-credentials"] == "true"


async def test_cors_is_refused_to_other_origins_and_other_paths(http: httpx.AsyncClient) -> None:
    resp = await http.options("/codec/decode", headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert resp.status_code == 400
    assert "access-control-allow-origin" not in resp.headers

    sealed = await seal(Person(EMAIL, NAME), OLD)
    headers = {**HEADERS, **bearer(operator_token()), "Origin": "https://evil.example"}
    resp = await http.post("/codec/decode", content=as_json(sealed), headers=headers)
    assert "access-control-allow-origin" not in resp.headers

    # The rest of the API does not become cross-origin readable, not even for the UI's origin.
    resp = await http.options("/v1/things", headers={"Origin": UI_ORIGIN, **PREFLIGHT})
    assert "access-control-allow-origin" not in resp.headers
    resp = await http.post("/v1/things", headers={"Origin": UI_ORIGIN})
    assert resp.status_code == 200 and "access-control-allow-origin" not in resp.headers


async def test_a_browser_session_cookie_holds_only_an_operator_token(http: httpx.AsyncClient) -> None:
    page = await http.get("/codec/session")
    assert page.status_code == 200 and "<form" in page.text and "http://testserver/codec" in page.text

    refused = await http.post("/codec/session", data={"token": mint_token(SECRET, user="u", org="o")})
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    assert (await http.post("/codec/session", data={})).status_code == 401

    signed_in = await http.post("/codec/session", data={"token": operator_token()})
    assert signed_in.status_code == 200
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "path=/codec" in cookie and "samesite=strict" in cookie

    sealed = await seal(Person(EMAIL, NAME), OLD)
    resp = await http.post("/codec/decode", content=as_json(sealed), headers=HEADERS)  # the cookie only
    assert resp.status_code == 200 and EMAIL in base64.b64decode(json.loads(resp.text)["payloads"][0]["data"]).decode()

    assert (await http.delete("/codec/session")).status_code == 204
    http.cookies.clear()
    http.cookies.set(codec_server.COOKIE, mint_token(SECRET, user="u", org="o"), path="/codec")
    assert (await http.post("/codec/decode", content=as_json(sealed), headers=HEADERS)).status_code == 403


async def test_without_configuration_the_endpoint_is_absent_not_open() -> None:
    app = FastAPI()
    problems.install(app)
    app.include_router(codec_server.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        resp = await client.post("/codec/decode", content="{}", headers=HEADERS)
    assert resp.status_code == 404 and resp.json()["code"] == "codec_not_configured"
