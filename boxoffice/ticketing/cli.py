"""``boxoffice keys generate|rotate|list|withdraw`` and ``boxoffice gate verify``, added by :func:`register`.

Exit codes: 0 done, 1 refused (with the reason on stderr, or ``invalid: <reason>`` on stdout for a payload),
2 unusable input (a missing or malformed ring or bundle).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from boxoffice.ticketing.bundle import bundle_trust
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.keys import public_jwk
from boxoffice.ticketing.tokens import verify_with_bundle


def _ring_file(arg: str | None) -> Path:
    if arg is not None:
        return Path(arg)
    # Imported here: only this default needs the settings, and the rest of ticketing stays free of them.
    from boxoffice.config import settings_or_exit

    path = settings_or_exit().signing_key_file
    assert path is not None  # build_settings always fills the dev default
    return path


def _load(arg: str | None) -> KeyRing | None:
    path = _ring_file(arg)
    try:
        return KeyRing.load(path)
    except FileNotFoundError:
        print(f"error: no key ring at {path} (create one with `boxoffice keys generate`)", file=sys.stderr)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
    return None


def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Write a new key ring holding one active key; print its kid and public key. Exit 1 rather than replace
    an existing ring without --force."""
    out = _ring_file(args.out)
    try:
        ring = KeyRing.create(out, overwrite=args.force)
    except FileExistsError:
        print(f"{out} exists; refusing to replace keys that may have signed tickets (use --force)", file=sys.stderr)
        return 1
    key = ring.signing_key
    jwk = public_jwk(key.public_key)
    print(f"kid: {key.kid}")
    print(f"public_key: {jwk['x']}")
    print(f"private_key_file: {out}")
    print(f"jwk: {json.dumps(jwk, separators=(',', ':'))}")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Add a new active key; the previous one is retired and keeps verifying. Print the new kid."""
    ring = _load(args.file)
    if ring is None:
        return 2
    previous = ring.signing_key.kid
    key = ring.rotate()
    print(f"kid: {key.kid}")
    print(f"retired: {previous}")
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    """Print one line per key, oldest first: kid, state, created (ISO 8601, UTC)."""
    ring = _load(args.file)
    if ring is None:
        return 2
    print(f"{'kid':<6} {'state':<10} created")
    for key in ring.keys:
        print(f"{key.kid:<6} {key.state:<10} {key.created_at.isoformat()}")
    return 0


def cmd_keys_withdraw(args: argparse.Namespace) -> int:
    """Withdraw a retired key: every ticket it signed is refused from now on. Exit 1 for the active or an
    unknown key."""
    ring = _load(args.file)
    if ring is None:
        return 2
    try:
        key = ring.withdraw(args.kid)
    except (LookupError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"withdrawn: {key.kid}")
    return 0


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_gate_verify(args: argparse.Namespace) -> int:
    """Print ``valid <ticket_id>`` and exit 0, or ``invalid: <reason>`` and exit 1; exit 2 for an unusable bundle
    (malformed, or its signature does not hold: see :func:`boxoffice.ticketing.bundle.bundle_trust`). What the
    bundle's signature check established goes to stderr."""
    try:
        bundle = json.loads(Path(args.bundle).read_text())
        pinned = json.loads(Path(args.keys).read_text()) if args.keys else None
        print(bundle_trust(bundle, pinned), file=sys.stderr)
        now = _parse_now(args.now)
        verdict = verify_with_bundle(args.payload, bundle, now)
    except (OSError, ValueError) as exc:  # JSONDecodeError, a malformed bundle and a bad signature are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if verdict.valid:
        print(f"valid {verdict.ticket_id}")
        return 0
    print(f"invalid: {verdict.reason}")
    return 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``keys generate|rotate|list|withdraw`` and ``gate verify`` to the ``boxoffice`` command's subparsers."""
    ring_help = "key ring file (default: BOXOFFICE_SIGNING_KEY_FILE)"
    keys = sub.add_parser("keys", help="ticket-signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    generate = keys_sub.add_parser("generate", help="make a new key ring with one ticket-signing key pair")
    generate.add_argument("--out", default=None, help=ring_help)
    generate.add_argument("--force", action="store_true", help="replace an existing key ring (its keys are lost)")
    generate.set_defaults(func=cmd_keys_generate)
    rotate = keys_sub.add_parser("rotate", help="add a new signing key; tickets signed by older keys keep verifying")
    rotate.add_argument("--file", default=None, help=ring_help)
    rotate.set_defaults(func=cmd_keys_rotate)
    listing = keys_sub.add_parser("list", help="list the keys: kid, state (active, retired, withdrawn), created")
    listing.add_argument("--file", default=None, help=ring_help)
    listing.set_defaults(func=cmd_keys_list)
    withdraw = keys_sub.add_parser(
        "withdraw", help="withdraw a retired key: the tickets it signed are refused (rotate first for the active key)"
    )
    withdraw.add_argument("--file", default=None, help=ring_help)
    withdraw.add_argument("kid", help="the key id, as `boxoffice keys list` shows it")
    withdraw.set_defaults(func=cmd_keys_withdraw)

    gate = sub.add_parser("gate", help="offline gate tools")
    gate_sub = gate.add_subparsers(dest="gate_command", required=True)
    verify = gate_sub.add_parser("verify", help="verify a scanned QR payload against a gate bundle")
    verify.add_argument("--bundle", required=True, help="gate bundle JSON (GET /v1/events/{id}/gate-bundle)")
    verify.add_argument("--now", default=None, help="verify as of this ISO 8601 time (default: now; UTC if naive)")
    verify.add_argument(
        "--keys",
        default=None,
        help="a pinned keys.json (/.well-known/boxoffice/keys.json): the bundle must be signed by one of its keys "
        "(without it, a signed bundle is only checked against its own keys, and an unsigned one is taken as given)",
    )
    verify.add_argument("payload", help="the scanned text; quote it (payloads may contain spaces, $, % and *)")
    verify.set_defaults(func=cmd_gate_verify)
