"""With ``BOXOFFICE_ENV=production`` nothing implicit stands in for what production needs: the database URL, the
signing key file, the public URL, a strong JWT secret and SMTP must be set, each refusal one line naming the
variable.

Before issue 10 production silently used SQLite under ``.boxoffice/``, generated a signing key at a relative
path, kept ``http://127.0.0.1:8000``, wrote e-mail to an outbox folder and accepted 32 × ``a`` or the dev-generated
secret as the JWT secret; only a missing JWT secret was refused. These tests failed there.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from boxoffice.codec import generate_payload_key
from boxoffice.config import SettingsError, build_settings
from boxoffice.production import estimated_bits, weak_secret
from boxoffice.ticketing.keyring import KeyRing

BOXOFFICE = str(Path(sys.executable).parent / "boxoffice")
REQUIRED = [
    "BOXOFFICE_DATABASE_URL",
    "BOXOFFICE_PUBLIC_URL",
    "BOXOFFICE_SIGNING_KEY_FILE",
    "BOXOFFICE_JWT_SECRET",
    "BOXOFFICE_SMTP_URL",
    "BOXOFFICE_PAYLOAD_KEYS",  # issue 11
]


def production(tmp_path: Path, **values: object) -> dict[str, object]:
    """Every production setting made explicit, in ``tmp_path`` (a real signing key included)."""
    key = tmp_path / "signing_key.pem"
    if not key.exists():
        KeyRing.create(key)
    return {
        "env": "production",
        "data_dir": tmp_path,
        "database_url": "postgresql+psycopg://boxoffice@db.internal/boxoffice",
        "public_url": "https://tickets.example.com",
        "signing_key_file": key,
        "jwt_secret": secrets.token_urlsafe(32),
        "smtp_url": "smtps://mailer:pw@smtp.example.com:465",
        "payload_keys": generate_payload_key("prod1"),
        **values,
    }


def refusal(**values: object) -> str:
    with pytest.raises(SettingsError) as err:
        build_settings(**values)
    return str(err.value)


def test_everything_explicit_starts(tmp_path: Path) -> None:
    settings = build_settings(**production(tmp_path))
    assert settings.public_url == "https://tickets.example.com" and not settings.sandbox_on


@pytest.mark.parametrize(
    "missing", ["database_url", "public_url", "signing_key_file", "jwt_secret", "smtp_url", "payload_keys"]
)
def test_each_missing_setting_is_named(tmp_path: Path, missing: str) -> None:
    values = production(tmp_path)
    del values[missing]
    lines = refusal(**values).splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"BOXOFFICE_{missing.upper()}: required in production"), lines


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("a" * 32, "predictable"),
        ("a" * 64, "predictable"),
        ("abcd" * 8, "predictable"),
        ("password1234" * 3, "predictable"),
        ("short-but-random-Zx9", "at least 32 bytes"),
    ],
)
def test_weak_jwt_secrets_are_refused(tmp_path: Path, secret: str, why: str) -> None:
    message = refusal(**production(tmp_path, jwt_secret=secret))
    assert message.startswith("BOXOFFICE_JWT_SECRET:") and why in message and len(message.splitlines()) == 1


def test_the_dev_generated_secret_is_refused(tmp_path: Path) -> None:
    dev = build_settings(env="dev", data_dir=tmp_path).jwt_secret  # generated once under the data directory
    assert weak_secret(dev) is None  # random enough in itself …
    message = refusal(**production(tmp_path, jwt_secret=dev))
    assert message.startswith("BOXOFFICE_JWT_SECRET:") and "development secret" in message  # … but not for this


@pytest.mark.parametrize(
    "secret",
    [secrets.token_urlsafe(32), secrets.token_hex(32), secrets.token_urlsafe(24), secrets.token_bytes(48).hex()],
)
def test_random_secrets_are_accepted(tmp_path: Path, secret: str) -> None:
    assert estimated_bits(secret) >= 128
    assert build_settings(**production(tmp_path, jwt_secret=secret)).jwt_secret == secret


def test_a_signing_key_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    message = refusal(**production(tmp_path, signing_key_file=tmp_path / "nope.pem"))
    assert message.startswith("BOXOFFICE_SIGNING_KEY_FILE:") and "does not exist" in message
    assert not (tmp_path / "nope.pem").exists()  # and it was not generated in its place


def test_dev_and_test_keep_their_defaults(tmp_path: Path) -> None:
    for env in ("dev", "test"):
        settings = build_settings(env=env, data_dir=tmp_path / env)
        assert settings.resolved_database_url.startswith("sqlite") and settings.smtp_url is None


@pytest.mark.parametrize("command", ["api", "worker"])
def test_the_processes_refuse_to_start_with_one_line_per_variable(tmp_path: Path, command: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(BOXOFFICE_ENV="production", BOXOFFICE_JWT_SECRET="a" * 32)
    done = subprocess.run([BOXOFFICE, command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    assert all(line.startswith("configuration error: BOXOFFICE_") for line in lines), lines
    named = [line.split()[2].rstrip(":") for line in lines]
    assert sorted(named) == sorted(REQUIRED), lines  # the weak JWT secret is named too
    assert not (tmp_path / ".boxoffice").exists()  # refused before any dev default was written
