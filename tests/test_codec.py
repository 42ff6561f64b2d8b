"""The payload codec (keys, encryption, rotation) and the codec-server endpoint, down to a real Temporal history."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The workflow sandbox re-imports this module to run PiiWorkflow; the web and test libraries are not its business.
with workflow.unsafe.imports_passed_through():
    import httpx
    import jwt
    import pytest
    from fastapi import FastAPI
    from google.protobuf import json_format

    from boxoffice.api import codec_server, problems
    from boxoffice.auth import Role, mint_token
    from boxoffice.codec import (
        ENCODING,
        KEY_ID_METADATA,
        EncryptionCodec,
        PayloadDecryptionError,
        PayloadKeyError,
        PayloadKeys,
        data_converter,
        generate_payload_key,
        parse_payload_keys,
        rotate_payload_keys,
    )
    from boxoffice.errors import Unauthorized

SECRET = "codec-test-secret-0123456789-abcdefghij"
UI_ORIGIN = "http://127.0.0.1:8233"
EMAIL, NAME = "ada.lovelace@example.org", "Ada Lovelace"


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


# --- keys -------------------------------------------------------------------------------------------------


def test_keys_parse_newest_first_in_either_base64_alphabet() -> None:
    urlsafe = base64.urlsafe_b64encode(b"\xfb" * 32).decode().rstrip("=")
    keys = parse_payload_keys(f" k2:{urlsafe} , {key_entry('k1', 1)} ")
    assert keys.current_id == "k2"
    assert keys.ids == ("k2", "k1")
    assert dict(keys.keys)["k2"] == b"\xfb" * 32
    assert parse_payload_keys(keys.to_setting()) == keys
    assert "\\xfb" not in repr(keys) and urlsafe not in repr(keys)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "no keys"),
        (" , ", "no keys"),
        ("k1", "entry 1 is not id:base64key"),
        (f"{key_entry('k2', 2)},k1:", "entry 2 is not id:base64key"),
        ("k1:not*base64", "k1 (entry 1) is not valid base64"),
        (f"k1:{base64.b64encode(b'x' * 16).decode()}", "is 16 bytes; expected 32"),
        (f"{key_entry('k1', 1)},{key_entry('k1', 2)}", "unique"),
        (key_entry("k 1", 1), "must be 1-64"),
    ],
)
def test_malformed_keys_are_refused_in_one_line_without_key_material(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=re.escape(needle)) as err:
        parse_payload_keys(text)
    message = str(err.value)
    assert "\n" not in message
    assert base64.b64encode(bytes([1]) * 32).decode() not in message


def test_generated_and_rotated_keys() -> None:
    first, second = generate_payload_key(), generate_payload_key("next")
    assert parse_payload_keys(first).current_id != parse_payload_keys(second).current_id
    assert dict(parse_payload_keys(first).keys) != dict(parse_payload_keys(second).keys)
    rotated = parse_payload_keys(rotate_payload_keys(first, "k9"))
    assert rotated.ids == ("k9", parse_payload_keys(first).current_id)
    assert rotated.keys[1] == parse_payload_keys(first).keys[0]
    assert parse_payload_keys(rotate_payload_keys("")).current_id.startswith("pk")
    with pytest.raises(ValueError, match="unique"):
        rotate_payload_keys(rotated.to_setting(), "k9")


# --- the codec through a real DataConverter ---------------------------------------------------------------


async def test_round_trip_hides_the_buyer_and_uses_a_fresh_nonce() -> None:
    buyer = Person(EMAIL, NAME)
    first, second = await seal(buyer, OLD), await seal(buyer, OLD)
    for payload in (*first, *second):
        raw = payload.SerializeToString()
        assert EMAIL.encode() not in raw and NAME.encode() not in raw
        assert payload.metadata["encoding"] == ENCODING
        assert payload.metadata[KEY_ID_METADATA] == b"k1"
    assert first[0].data != second[0].data
    assert await data_converter(OLD).decode(first, [Person]) == [buyer]


async def test_rotation_keeps_old_payloads_readable_and_seals_new_ones_with_the_newest_key() -> None:
    old_payloads = await seal(Person(EMAIL, NAME), OLD)
    assert await data_converter(ROTATED).decode(old_payloads, [Person]) == [Person(EMAIL, NAME)]
    new_payloads = await seal(Person(EMAIL, NAME), ROTATED)
    assert new_payloads[0].metadata[KEY_ID_METADATA] == b"k2"
    with pytest.raises(PayloadKeyError, match=r"'k2'.*not in BOXOFFICE_PAYLOAD_KEYS"):
        await data_converter(OLD).decode(new_payloads, [Person])


async def test_tampered_or_relabelled_ciphertext_is_refused() -> None:
    payload = (await seal(Person(EMAIL, NAME), OLD))[0]
    flipped = Payload()
    flipped.CopyFrom(payload)
    flipped.data = payload.data[:-1] + bytes([payload.data[-1] ^ 1])
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await EncryptionCodec(OLD).decode([flipped])
    # Same key bytes under two ids: the key id is bound into the ciphertext, so relabelling fails too.
    twins = parse_payload_keys(f"{key_entry('k1', 1)},{key_entry('alias', 1)}")
    relabelled = Payload()
    relabelled.CopyFrom(payload)
    relabelled.metadata[KEY_ID_METADATA] = b"alias"
    assert await EncryptionCodec(twins).decode([payload]) == await EncryptionCodec(OLD).decode([payload])
    with pytest.raises(PayloadDecryptionError):
        await EncryptionCodec(twins).decode([relabelled])
    truncated = Payload(metadata=dict(payload.metadata), data=payload.data[:5])
    with pytest.raises(PayloadDecryptionError):
        await EncryptionCodec(OLD).decode([truncated])


async def test_payloads_from_before_encryption_pass_through() -> None:
    plain = await DataConverter.default.encode([Person(EMAIL, NAME)])
    assert EMAIL.encode() in plain[0].data
    assert await data_converter(ROTATED).decode(plain, [Person]) == [Person(EMAIL, NAME)]


async def test_an_encrypted_payload_without_a_key_id_is_an_error() -> None:
    payload = (await seal("x", OLD))[0]
    del payload.metadata[KEY_ID_METADATA]
    with pytest.raises(PayloadKeyError, match="no encryption-key-id"):
        await EncryptionCodec(OLD).decode([payload])


async def test_failure_messages_are_encrypted_too() -> None:
    converter = data_converter(OLD)
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"no seat left for {EMAIL}", type="SoldOut"), failure)
    assert EMAIL.encode() not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and EMAIL in decoded.message


def test_without_keys_the_plain_default_converter_is_used() -> None:
    assert data_converter(None) is DataConverter.default


# --- the codec-server endpoint ----------------------------------------------------------------------------


def verify_operator(token: str) -> bool:
    """What the lead's check will do once ``Role.OPERATOR`` exists: a valid token, and the operator role."""
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}", code="invalid_token") from None
    return claims.get("role") == "operator"


def operator_token(secret: str = SECRET) -> str:
    return jwt.encode({"sub": "ops", "org": "platform", "role": "operator", "exp": 4102444800}, secret, "HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def build_app() -> FastAPI:
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


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def as_json(payloads: list[Payload]) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def from_json(text: str) -> list[Payload]:
    return list(json_format.Parse(text, Payloads()).payloads)


HEADERS = {"Content-Type": "application/json", "X-Namespace": "default"}


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


def mint(role: Role) -> dict[str, str]:
    return bearer(mint_token(SECRET, user="u1", org="org1", role=role))


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


# --- a real history on a real Temporal server -------------------------------------------------------------

ATTENDEE = Person("charles.babbage@example.org", "Charles Babbage")
CLOSER = "Grace Hopper"


@activity.defn
async def greet(person: Person) -> str:
    return f"Dear {person.name} <{person.email}>"


@activity.defn
async def refuse(person: Person) -> None:
    raise ApplicationError(f"no seat left for {person.name} <{person.email}>", type="SoldOut", non_retryable=True)


@workflow.defn
class PiiWorkflow:
    def __init__(self) -> None:
        self.people: list[Person] = []
        self.closed_by: str | None = None

    @workflow.run
    async def run(self, buyer: Person) -> list[str]:
        self.people.append(buyer)
        timeout = timedelta(seconds=30)
        lines = [await workflow.execute_activity(greet, buyer, start_to_close_timeout=timeout)]
        try:
            await workflow.execute_activity(refuse, buyer, start_to_close_timeout=timeout)
        except ActivityError as err:
            lines.append(str(err.cause))
        await workflow.wait_condition(lambda: self.closed_by is not None)
        return [*lines, *(p.email for p in self.people), f"closed by {self.closed_by}"]

    @workflow.signal
    def attendee(self, person: Person) -> None:
        self.people.append(person)

    @workflow.update
    def close(self, name: str) -> str:
        self.closed_by = name
        return f"closed by {name}"

    @workflow.query
    def names(self) -> list[str]:
        return [p.name for p in self.people]


async def test_a_workflow_history_holds_no_pii_and_the_codec_endpoint_opens_it(
    temporal_env: WorkflowEnvironment, task_queue: str, http: httpx.AsyncClient
) -> None:
    plain: Client = temporal_env.client
    config = plain.config()
    config["data_converter"] = data_converter(ROTATED)
    sealed = Client(**config)
    workflow_id = f"pii-{uuid.uuid4().hex[:8]}"
    async with Worker(sealed, task_queue=task_queue, workflows=[PiiWorkflow], activities=[greet, refuse]):
        handle = await sealed.start_workflow(
            PiiWorkflow.run, Person(EMAIL, NAME), id=workflow_id, task_queue=task_queue
        )
        await handle.signal(PiiWorkflow.attendee, ATTENDEE)
        assert await handle.execute_update(PiiWorkflow.close, CLOSER) == f"closed by {CLOSER}"
        result = await handle.result()
        assert sorted(await handle.query(PiiWorkflow.names)) == sorted([NAME, ATTENDEE.name])
    assert result[0] == f"Dear {NAME} <{EMAIL}>" and EMAIL in result[1] and ATTENDEE.email in result
    assert result[-1] == f"closed by {CLOSER}"

    history = await plain.get_workflow_handle(workflow_id).fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)
    for secret in (EMAIL, NAME, ATTENDEE.email, ATTENDEE.name, CLOSER):
        assert secret.encode() not in raw, secret
    assert raw.count(ENCODING) >= 8  # input, activity inputs and results, failure, signal, update, result

    started = history.events[0].workflow_execution_started_event_attributes.input
    resp = await http.post(
        "/codec/decode", content=json_format.MessageToJson(started), headers={**HEADERS, **bearer(operator_token())}
    )
    assert resp.status_code == 200
    assert json.loads(from_json(resp.text)[0].data) == {"email": EMAIL, "name": NAME}
    resp = await http.post(
        "/codec/decode", content=json_format.MessageToJson(started), headers={**HEADERS, **mint(Role.ORG_ADMIN)}
    )
    assert resp.status_code == 403 and EMAIL not in resp.text
