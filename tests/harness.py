"""What the shared fixtures are built from, for the conftest and for tests that build a stack of their own: the
test JWT secret, bearer tokens per role, and the settings an app and its workers run with in a test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from boxoffice.auth import Role, mint_token
from boxoffice.config import Settings, build_settings

JWT_SECRET = "test-secret-not-for-production-0123456789"
SANDBOX_WEBHOOK_SECRET = "sandbox-test-secret"
# Issue 11: the fixed payload key of the suite (tests/histories/ are encrypted with it), never used elsewhere.
PAYLOAD_KEYS = "test:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


@dataclass
class Tokens:
    """``Authorization`` headers for a user of an organisation in each role, signed with the test secret."""

    secret: str = JWT_SECRET

    def make(self, user: str, org: str, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.secret, user=user, org=org, role=role)}"}

    def buyer(self, user: str = "alice", org: str = "org1") -> dict[str, str]:
        return self.make(user, org, Role.BUYER)

    def admin(self, user: str = "admin", org: str = "org1") -> dict[str, str]:
        return self.make(user, org, Role.ORG_ADMIN)

    def scanner(self, user: str = "gate", org: str = "org1") -> dict[str, str]:
        return self.make(user, org, Role.SCANNER)

    def operator(self, user: str = "ops", org: str = "platform") -> dict[str, str]:
        return self.make(user, org, Role.OPERATOR)


def settings_for(data_dir: Path, database_url: str, task_queue: str, **overrides: object) -> Settings:
    """Test settings: this test's data directory, database and task queues (documents on ``{task_queue}-docs``),
    the test secrets and payload key, a 120 s payment window polled every 2 s and no late-payment grace, unless overridden."""
    values: dict[str, object] = {
        "env": "test",
        "data_dir": data_dir,
        "database_url": database_url,
        "jwt_secret": JWT_SECRET,
        "checkout_task_queue": task_queue,
        "documents_task_queue": f"{task_queue}-docs",
        "sandbox_webhook_secret": SANDBOX_WEBHOOK_SECRET,
        "payload_keys": PAYLOAD_KEYS,
        "public_url": "http://testserver",
        "payment_window_seconds": 120,
        "payment_poll_interval_seconds": 2,
        "late_payment_grace_seconds": 0,
    }
    return build_settings(**{**values, **overrides})
