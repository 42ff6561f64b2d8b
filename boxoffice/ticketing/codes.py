"""Human-readable ticket codes, e.g. ``K7QM-3XHD-9PAC-W24R``.

A code is 16 characters from a 31-character alphabet: the digits 2-9 and the letters A-Z without
``I``, ``L`` and ``O`` (so neither ``0``/``O`` nor ``1``/``I``/``L`` can be confused; none of them ever
appears in a code). The first 15 characters carry the value (31**15, about 2**74); the 16th is a check
character.

Check character: with values ``v1..v16`` (positions weighted 1..16), a code is valid when
``sum(i * v_i) % 31 == 0``. Because 31 is prime and every weight is non-zero and distinct modulo 31,
this catches **every** single-character substitution and **every** transposition of two different
characters (adjacent or not); a random typo passes with probability 1/31.

Normalisation accepts what people type: lower case, spaces, missing or extra dashes, Unicode dashes and
full-width characters. It deliberately does *not* guess for ``0``, ``O``, ``1``, ``I`` or ``L``: since
codes never contain them, a typed one could stand for several characters (``0`` for ``D`` or ``Q``,
``1`` for ``7`` or ``J``), and a guess would spend the check character's protection; such input is
simply invalid and the caller asks again.

Codes for issued tickets come from :func:`code_from_seed`: derived with HMAC-SHA256 from a server
secret and the ticket's business key (order id, line, index), so a retried issuing step derives the
same code (idempotent) while nobody without the secret can predict or enumerate codes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
import uuid

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""The 31 code characters. Its size must stay prime for the check character's guarantees."""

CODE_LENGTH = 16
_BODY_LENGTH = CODE_LENGTH - 1
_BASE = len(ALPHABET)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
# 16 * 2 = 32 = 1 (mod 31): multiplying by 2 divides by the check position's weight.
_INV_CHECK_WEIGHT = pow(CODE_LENGTH, -1, _BASE)
# Characters people type as separators or by accident; removed before validation.
_SEPARATORS = {" ", "-", "_", ".", "\t", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212"}


def _check_char(body: str) -> str:
    """The character that makes ``body + check`` satisfy the weighted checksum."""
    total = sum((i + 1) * _VALUE[c] for i, c in enumerate(body))
    return ALPHABET[(-total * _INV_CHECK_WEIGHT) % _BASE]


def _with_check(body: str) -> str:
    return body + _check_char(body)


def generate_code() -> str:
    """A fresh random code (unformatted, 16 characters) from the OS CSPRNG."""
    return _with_check("".join(secrets.choice(ALPHABET) for _ in range(_BODY_LENGTH)))


def code_from_seed(seed: bytes, secret: bytes | None = None) -> str:
    """The code derived from ``seed``: the same seed (and secret) always gives the same valid code.

    With ``secret``, the code is HMAC-SHA256(secret, seed), unpredictable to anyone without the secret even
    when the seed (e.g. :func:`ticket_seed`) is known. Without it, ``seed`` itself must be secret and
    high-entropy; never pass a bare business key without a secret.
    """
    digest = hmac.new(secret, seed, hashlib.sha256).digest() if secret is not None else hashlib.sha256(seed).digest()
    # 256 bits reduced to 15 base-31 digits (~74 bits): the modulo bias is below 2**-180.
    n = int.from_bytes(digest, "big")
    chars = []
    for _ in range(_BODY_LENGTH):
        n, r = divmod(n, _BASE)
        chars.append(ALPHABET[r])
    return _with_check("".join(chars))


def ticket_seed(order_id: uuid.UUID, line: int, index: int) -> bytes:
    """The business key of the ``index``-th ticket of order line ``line``, as a seed for :func:`code_from_seed`."""
    return b"boxoffice-ticket-code:v1:" + order_id.bytes + line.to_bytes(4, "big") + index.to_bytes(4, "big")


def normalize_code(text: str) -> str:
    """``text`` upper-cased, with separators, whitespace and width variants removed; not validated.

    ``normalize_code(format_code(c)) == c`` for every valid code ``c``.
    """
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(c for c in folded if c not in _SEPARATORS and not c.isspace())


def is_valid_code(text: str) -> bool:
    """Whether ``text``, once normalised, is a well-formed code whose check character matches."""
    code = normalize_code(text)
    if len(code) != CODE_LENGTH or any(c not in _VALUE for c in code):
        return False
    return sum((i + 1) * _VALUE[c] for i, c in enumerate(code)) % _BASE == 0


def format_code(code: str) -> str:
    """``code`` normalised and grouped as ``XXXX-XXXX-XXXX-XXXX``.

    Raises ``ValueError`` when it is not a valid code, so a bad code is never printed on a ticket.
    """
    normal = normalize_code(code)
    if not is_valid_code(normal):
        raise ValueError(f"not a valid ticket code: {code!r}")
    return "-".join(normal[i : i + 4] for i in range(0, CODE_LENGTH, 4))
