"""``boxoffice keys generate`` and ``boxoffice gate verify``, added to the main CLI by :func:`register`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from boxoffice.ticketing.keys import generate_signing_key, public_jwk, save_private_key
from boxoffice.ticketing.tokens import verify_with_bundle


def _default_key_file() -> Path:
    # Imported here: only this default needs the settings, and the rest of ticketing stays free of them.
    from boxoffice.config import settings_or_exit

    path = settings_or_exit().signing_key_file
    assert path is not None  # build_settings always fills the dev default
    return path


def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Write a new private key; print its kid and public key. Exit 1 rather than overwrite without --force."""
    out = Path(args.out) if args.out is not None else _default_key_file()
    key = generate_signing_key()
    try:
        save_private_key(key.private_key, out, overwrite=args.force)
    except FileExistsError:
        print(f"{out} exists; refusing to replace a key that may have signed tickets (use --force)", file=sys.stderr)
        return 1
    jwk = public_jwk(key.public_key)
    print(f"kid: {key.kid}")
    print(f"public_key: {jwk['x']}")
    print(f"private_key_file: {out}")
    print(f"jwk: {json.dumps(jwk, separators=(',', ':'))}")
    return 0


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_gate_verify(args: argparse.Namespace) -> int:
    """Print ``valid <ticket_id>`` and exit 0, or ``invalid: <reason>`` and exit 1; exit 2 for an unusable bundle."""
    try:
        bundle = json.loads(Path(args.bundle).read_text())
        now = _parse_now(args.now)
        verdict = verify_with_bundle(args.payload, bundle, now)
    except (OSError, ValueError) as exc:  # JSONDecodeError and a malformed bundle are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if verdict.valid:
        print(f"valid {verdict.ticket_id}")
        return 0
    print(f"invalid: {verdict.reason}")
    return 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``keys generate`` and ``gate verify`` to the ``boxoffice`` command's subparsers."""
    keys = sub.add_parser("keys", help="ticket-signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    generate = keys_sub.add_parser("generate", help="make a new ticket-signing key pair")
    generate.add_argument("--out", default=None, help="private key PEM to write (default: BOXOFFICE_SIGNING_KEY_FILE)")
    generate.add_argument("--force", action="store_true", help="replace an existing key file")
    generate.set_defaults(func=cmd_keys_generate)

    gate = sub.add_parser("gate", help="offline gate tools")
    gate_sub = gate.add_subparsers(dest="gate_command", required=True)
    verify = gate_sub.add_parser("verify", help="verify a scanned QR payload against a gate bundle")
    verify.add_argument("--bundle", required=True, help="gate bundle JSON (GET /v1/events/{id}/gate-bundle)")
    verify.add_argument("--now", default=None, help="verify as of this ISO 8601 time (default: now; UTC if naive)")
    verify.add_argument("payload")
    verify.set_defaults(func=cmd_gate_verify)
