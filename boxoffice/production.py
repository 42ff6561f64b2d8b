"""Production start-up checks (issue 10): with ``BOXOFFICE_ENV=production`` no development default (a SQLite
file, a generated key or secret, 127.0.0.1, an outbox folder) may stand in for a setting unnoticed, and the JWT
secret must be strong. ``config.build_settings`` runs them; each problem is one line naming its variable."""

from __future__ import annotations

import hmac
import math
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # config imports this module when it runs the checks: no import back at run time
    from boxoffice.config import Settings

# Shannon entropy of the secret's own characters, times its length: a crude estimate that refuses repeated,
# patterned or word-like secrets (32 × "a" has 0 bits, a 43-character ``secrets.token_urlsafe(32)`` about 200).
MIN_SECRET_BITS = 128
MIN_SECRET_DISTINCT = 10


def estimated_bits(secret: str) -> float:
    """An upper bound on the secret's entropy judged from its characters alone (0 for one repeated character)."""
    n = len(secret)
    return -sum(c * math.log2(c / n) for c in Counter(secret).values()) if n else 0.0


def weak_secret(secret: str, dev_secret: str | None = None) -> str | None:
    """Why ``secret`` is not fit to sign production tokens, or None when it is."""
    if len(secret.encode()) < 32:
        return "must be at least 32 bytes"
    if dev_secret is not None and hmac.compare_digest(secret.encode(), dev_secret.encode()):
        return "is the development secret generated under the data directory; set a new random one"
    if len(set(secret)) < MIN_SECRET_DISTINCT or estimated_bits(secret) < MIN_SECRET_BITS:
        return (
            "is too predictable (repeated or patterned characters); use a random one, "
            "e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return None


def production_problems(settings: Settings) -> list[str]:
    """With ``BOXOFFICE_ENV=production``, one line per variable unless the database,
    the signing key, the public URL, a strong JWT secret, SMTP and the payload keys are set explicitly: no dev default
    (a SQLite file, a generated key or secret, 127.0.0.1, an outbox folder) may stand in for them unnoticed."""
    given = settings.model_fields_set
    problems = [
        f"BOXOFFICE_{name.upper()}: required in production ({why})"
        for name, why in (
            ("database_url", "a postgresql+psycopg:// URL; the SQLite default is for development"),
            ("public_url", "the public https origin providers redirect to and post webhooks to"),
            ("signing_key_file", "the Ed25519 ticket-signing key; make one with `boxoffice keys generate --out FILE`"),
            ("jwt_secret", "at least 32 random bytes"),
            ("smtp_url", "smtp://, smtps:// or smtp+starttls://; there is no outbox folder in production"),
            ("payload_keys", "id:base64key of 32 random bytes, from `boxoffice payload-keys generate`"),  # issue 11
        )
        if name not in given or not getattr(settings, name)
    ]
    if settings.jwt_secret and "jwt_secret" in given:
        dev_file = settings.data_dir / "jwt_secret"
        dev = dev_file.read_text().strip() if dev_file.is_file() else None
        if (why := weak_secret(settings.jwt_secret, dev)) is not None:
            problems.append(f"BOXOFFICE_JWT_SECRET: {why}")
    key = settings.signing_key_file
    if key is not None and "signing_key_file" in given and not key.is_file():
        problems.append(f"BOXOFFICE_SIGNING_KEY_FILE: {key} does not exist (`boxoffice keys generate --out {key}`)")
    return problems
