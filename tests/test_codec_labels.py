"""Operators' labels (issue 11): summaries and details stay readable in an encrypted history, with e-mail addresses
masked, while everything else is sealed; every step a workflow starts carries a summary (``RunLabels``); the payload
keys are a setting with a shared dev default, required in production, rotated with ``boxoffice payload-keys``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from boxoffice.auth import Role, decode_token
    from boxoffice.codec import ENCODING, EncryptionCodec, clear_text, is_clear, mask_email, parse_payload_keys
    from boxoffice.config import SettingsError, build_settings
    from boxoffice.temporal import RunLabels, converter_for
    from tests.codec_samples import OLD, ROTATED, key_entry

BOXOFFICE = str(Path(sys.executable).parent / "boxoffice")
EMAIL = "grace.hopper.labels@example.org"


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("ada.lovelace@example.org", "a***@e***.org"),
        ("b@x.co", "b***@x***.co"),
        ("User.Name+tag@mail.example.co.za", "U***@m***.za"),
        ("not an address", "***"),
        ("@example.org", "***"),
    ],
)
def test_mask_email(address: str, masked: str) -> None:
    assert mask_email(address) == masked


def test_clear_text_masks_every_address_and_is_left_clear_by_the_codec() -> None:
    label = clear_text(f"mail Grace <{EMAIL}> and ada@example.org")
    assert label == "mail Grace <g***@e***.org> and a***@e***.org"
    converter = converter_for(ROTATED.to_setting())
    [payload] = converter.payload_converter.to_payloads([label])
    assert is_clear(payload)
    # A plain string with the same text is sealed, and so is a forged clear mark on anything but a JSON string.
    [plain] = converter.payload_converter.to_payloads([str(label)])
    assert not is_clear(plain)
    assert not is_clear(Payload(metadata={"encoding": b"binary/plain", "boxoffice-clear": b"1"}, data=b"x"))


async def test_labels_and_workflow_metadata_pass_the_codec_and_everything_else_is_sealed() -> None:
    converter = converter_for(ROTATED.to_setting())
    meta = WorkflowMetadata(current_details="Waiting for the buyer to pay until 2030-01-01T00:00:00+00:00.")
    values = [clear_text("open_order: claim 2 hold(s)"), meta, "open_order: claim 2 hold(s)", {"email": EMAIL}]
    sealed = await converter.encode(values)
    assert [p.metadata["encoding"] == ENCODING for p in sealed] == [False, False, True, True]
    assert EMAIL.encode() not in b"".join(p.SerializeToString() for p in sealed)
    decoded = await converter.decode(sealed, [str, WorkflowMetadata, str, dict])
    assert decoded[0] == values[0] and decoded[1].current_details == meta.current_details and decoded[3] == values[3]


def test_converter_for_is_built_once_per_value_and_refuses_a_malformed_one() -> None:
    assert converter_for(OLD.to_setting()) is converter_for(OLD.to_setting())
    assert converter_for(OLD.to_setting()) is not converter_for(ROTATED.to_setting())
    assert isinstance(converter_for(OLD.to_setting()).payload_codec, EncryptionCodec)
    with pytest.raises(ValueError, match="not id:base64key"):
        converter_for("nonsense")


# --- every step named -------------------------------------------------------------------------------------------


@activity.defn
async def unnamed_step(text: str) -> str:
    return text.upper()


@workflow.defn
class LabelledWorkflow:
    @workflow.run
    async def run(self, who: str) -> str:
        timeout = timedelta(seconds=10)
        a = await workflow.execute_local_activity(unnamed_step, who, start_to_close_timeout=timeout)
        b = await workflow.execute_activity(
            unnamed_step, who, start_to_close_timeout=timeout, summary=f"unnamed_step: greet {who}"
        )
        return a + b


async def test_every_step_carries_a_clear_summary(temporal_env: WorkflowEnvironment, task_queue: str) -> None:
    config = temporal_env.client.config()
    config["data_converter"] = converter_for(ROTATED.to_setting())
    sealed = Client(**config)
    workflow_id = f"labels-{uuid.uuid4().hex[:8]}"
    async with Worker(
        sealed,
        task_queue=task_queue,
        workflows=[LabelledWorkflow],
        activities=[unnamed_step],
        interceptors=[RunLabels()],
    ):
        result = await sealed.execute_workflow(LabelledWorkflow.run, EMAIL, id=workflow_id, task_queue=task_queue)
    assert result == EMAIL.upper() * 2
    history = await temporal_env.client.get_workflow_handle(workflow_id).fetch_history()
    labels = [e.user_metadata.summary for e in history.events if e.HasField("user_metadata")]
    texts = [json.loads(p.data) for p in labels]
    # The local activity without a summary is named after its activity; the given summary has its address masked.
    assert texts == ["unnamed_step", "unnamed_step: greet g***@e***.org"], texts
    assert all(is_clear(p) for p in labels)
    assert EMAIL.encode() not in b"".join(e.SerializeToString() for e in history.events)


# --- the setting --------------------------------------------------------------------------------------------------


def test_the_dev_key_is_generated_once_private_and_shared(tmp_path: Path) -> None:
    first = build_settings(env="dev", data_dir=tmp_path)
    second = build_settings(env="dev", data_dir=tmp_path)
    assert first.payload_keys == second.payload_keys and parse_payload_keys(first.payload_keys).ids == ("dev",)
    assert (tmp_path / "payload_keys").stat().st_mode & 0o777 == 0o600
    given = build_settings(env="dev", data_dir=tmp_path / "other", payload_keys=ROTATED.to_setting())
    assert given.payload_keys == ROTATED.to_setting() and not (tmp_path / "other" / "payload_keys").exists()


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("k1", "entry 1 is not id:base64key"),
        ("k1:abc", "k1 (entry 1) is 2 bytes"),
        (f"{key_entry('k1', 1)},{key_entry('k1', 2)}", "unique"),
        ("k 1:" + key_entry("x", 1).split(":")[1], "key id"),
    ],
)
def test_a_malformed_key_setting_is_one_line_naming_it(tmp_path: Path, value: str, why: str) -> None:
    with pytest.raises(SettingsError) as err:
        build_settings(data_dir=tmp_path, payload_keys=value)
    message = str(err.value)
    assert message.startswith("BOXOFFICE_PAYLOAD_KEYS:") and why in message and "\n" not in message
    assert value.split(":")[-1] not in message or len(value.split(":")[-1]) < 8  # never the key itself


def test_ui_origins_are_origins(tmp_path: Path) -> None:
    ok = build_settings(data_dir=tmp_path, temporal_ui_origins="https://temporal.example.com, http://127.0.0.1:8233")
    assert ok.ui_origins == ["https://temporal.example.com", "http://127.0.0.1:8233"]
    for bad in ("ftp://x", "https://temporal.example.com/ui", "temporal.example.com"):
        with pytest.raises(SettingsError, match=r"^BOXOFFICE_TEMPORAL_UI_ORIGINS:"):
            build_settings(data_dir=tmp_path, temporal_ui_origins=bad)


def test_production_requires_the_keys(tmp_path: Path) -> None:
    from tests.hardening.test_production_config import production

    with pytest.raises(SettingsError) as err:
        build_settings(**{**production(tmp_path), "payload_keys": ""})
    assert str(err.value).startswith("BOXOFFICE_PAYLOAD_KEYS: required in production")


# --- the commands ---------------------------------------------------------------------------------------------------


def boxoffice(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    return subprocess.run(
        [BOXOFFICE, *args], env={**clean, **(env or {})}, cwd=cwd, capture_output=True, text=True, timeout=60
    )


async def test_payload_keys_rotate_keeps_old_payloads_readable(tmp_path: Path) -> None:
    first = boxoffice("payload-keys", "generate", "--id", "k1")
    assert first.returncode == 0 and parse_payload_keys(first.stdout).ids == ("k1",)
    rotated = boxoffice("payload-keys", "rotate", "--id", "k2", env={"BOXOFFICE_PAYLOAD_KEYS": first.stdout.strip()})
    assert rotated.returncode == 0, rotated.stderr
    assert parse_payload_keys(rotated.stdout).ids == ("k2", "k1") and rotated.stdout.count("\n") == 1
    old: DataConverter = converter_for(first.stdout.strip())
    new: DataConverter = converter_for(rotated.stdout.strip())
    sealed = await old.encode([{"email": EMAIL}])
    assert await new.decode(sealed, [dict]) == [{"email": EMAIL}]
    assert (await new.encode(["x"]))[0].metadata["encryption-key-id"] == b"k2"
    listed = boxoffice("payload-keys", "list", env={"BOXOFFICE_PAYLOAD_KEYS": rotated.stdout.strip()}, cwd=tmp_path)
    assert listed.stdout.split() == ["k2", "encrypts", "and", "decrypts", "k1", "decrypts"]
    assert rotated.stdout.split(",")[0].split(":")[1] not in listed.stdout  # ids only, never a key
    bad = boxoffice("payload-keys", "rotate", "--current", "k1:short")
    assert bad.returncode == 2 and bad.stderr.startswith("error: BOXOFFICE_PAYLOAD_KEYS:")


def test_an_operator_token_from_the_command_line(tmp_path: Path) -> None:
    secret = "operator-test-secret-0123456789abcdefghij"
    made = boxoffice(
        "token",
        "--user",
        "oncall",
        "--org",
        "platform",
        "--role",
        "operator",
        env={"BOXOFFICE_JWT_SECRET": secret, "BOXOFFICE_DATA_DIR": str(tmp_path)},
    )
    assert made.returncode == 0, made.stderr
    assert decode_token(secret, made.stdout.strip()).role is Role.OPERATOR
