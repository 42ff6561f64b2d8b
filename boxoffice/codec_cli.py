"""``boxoffice payload-keys generate|rotate|list``: the keys that encrypt Temporal payloads (``BOXOFFICE_PAYLOAD_KEYS``).

``generate`` and ``rotate`` print a new value of the setting on stdout (and nothing else there), so it can be piped
into a secret store; ``list`` prints the key ids in use, newest first, never a key. Rotation: set the printed value
everywhere (API, workers, CLI), then drop the old key only once no history you still need to read uses it.
Exit codes: 0 done, 2 a malformed current value.
"""

from __future__ import annotations

import argparse
import os
import sys

from boxoffice.codec import generate_payload_key, parse_payload_keys, rotate_payload_keys

SETTING = "BOXOFFICE_PAYLOAD_KEYS"


def cmd_generate(args: argparse.Namespace) -> int:
    """Print one fresh ``id:base64key`` entry."""
    print(generate_payload_key(args.id))
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    """Print the current value with a fresh key in front (new payloads use it; the older keys still decrypt)."""
    current = args.current if args.current is not None else os.environ.get(SETTING, "")
    try:
        if current.strip():
            parse_payload_keys(current)  # its own entries' positions in the message, not shifted by the new key
        value = rotate_payload_keys(current, args.id)
    except ValueError as exc:
        print(f"error: {SETTING}: {exc}", file=sys.stderr)
        return 2
    print(value)
    print(f"set {SETTING} to this value in every process, newest key first", file=sys.stderr)
    return 0


def cmd_list(_args: argparse.Namespace) -> int:
    """Print the ids of the keys in use (the settings' value, or the dev key under the data directory)."""
    from boxoffice.config import settings_or_exit

    try:
        keys = parse_payload_keys(settings_or_exit().payload_keys)
    except ValueError as exc:
        print(f"error: {SETTING}: {exc}", file=sys.stderr)
        return 2
    for position, key_id in enumerate(keys.ids):
        print(f"{key_id}\t{'encrypts and decrypts' if position == 0 else 'decrypts'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``payload-keys`` and its subcommands to the ``boxoffice`` parser."""
    keys = sub.add_parser("payload-keys", help="the keys that encrypt Temporal payloads (BOXOFFICE_PAYLOAD_KEYS)")
    keys_sub = keys.add_subparsers(dest="payload_keys_command", required=True)
    generate = keys_sub.add_parser("generate", help="print a new key entry (id:base64key)")
    generate.add_argument("--id", default=None, help="the key id (default: pkYYYYMMDD-xxxxxx)")
    generate.set_defaults(func=cmd_generate)
    rotate = keys_sub.add_parser("rotate", help="print the setting with a new key in front")
    rotate.add_argument("--current", default=None, help=f"the current value (default: ${SETTING})")
    rotate.add_argument("--id", default=None, help="the new key's id")
    rotate.set_defaults(func=cmd_rotate)
    keys_sub.add_parser("list", help="print the key ids in use, newest first").set_defaults(func=cmd_list)
