"""What the payload-codec tests share: a buyer to seal, key rings before and after a rotation, and the codec-server
endpoint mounted on a small app with an operator check, with the tokens and JSON bodies its callers send."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import jwt
from fastapi import FastAPI
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from boxoffice.api import codec_server, problems
from boxoffice.auth import Role, mint_token, operator_verifier
from boxoffice.codec import EncryptionCodec, PayloadKeys, data_converter, parse_payload_keys

SECRET = "codec-test-secret-0123456789-abcdefghij"
UI_ORIGIN = "http://127.0.0.1:8233"
EMAIL, NAME = "ada.lovelace@example.org", "Ada Lovelace"
HEADERS = {"Content-Type": "application/json", "X-Namespace": "default"}


@dataclass
class Person:
    email: str
    name: str


def key_entry(key_id: str, fill: int) -> str:
    return f"{key_id}:{base64.b64encode(bytes([fill]) * 32).decode()}"


OLD = parse_payload_keys(key_entry("k1", 1))
ROTATED = parse_payload_keys(f"{key_entry('k2', 2)},{key_entry('k1', 1)}")


async def seal(value: object, keys: PayloadKeys) -> list[Payload]:
    return await data_converter(keys).encode([value])


# --- the codec-server endpoint and its callers ---------------------------------------------------------------


# The codec server's check as the app installs it: a valid token with the operator role.
verify_operator = operator_verifier(SECRET)


def operator_token(secret: str = SECRET) -> str:
    return jwt.encode({"sub": "ops", "org": "platform", "role": "operator", "exp": 4102444800}, secret, "HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mint(role: Role) -> dict[str, str]:
    return bearer(mint_token(SECRET, user="u1", org="org1", role=role))


def build_app() -> FastAPI:
    """An app with one ordinary route and the codec server (keys ``ROTATED``, CORS for ``UI_ORIGIN``) installed."""
    app = FastAPI()
    problems.install(app)

    @app.post("/v1/things")
    async def things() -> dict[str, str]:
        return {"ok": "yes"}

    codec_server.install(
        app,
        codec=EncryptionCodec(ROTATED),
        verify_operator=verify_operator,
        allowed_origins=[UI_ORIGIN],
        namespace="default",
    )
    return app


@asynccontextmanager
async def codec_client() -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``build_app()``, in process."""
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def as_json(payloads: list[Payload]) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def from_json(text: str) -> list[Payload]:
    return list(json_format.Parse(text, Payloads()).payloads)
