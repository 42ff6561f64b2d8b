"""QR codes for ticket payloads, as SVG.

Error correction is at least M (15% of the symbol may be damaged or covered); segno picks the smallest
version that fits and then raises the level for free when the data leaves room. Ticket payloads are
``BX2:`` plus base45 (see :mod:`boxoffice.ticketing.tokens`), all within QR's alphanumeric character set,
so segno encodes them in alphanumeric mode: 148 characters, version 6 (41x41 modules), whose capacity at
level M is 154, so it stays at M. The light modules are painted white so the code scans on dark backgrounds.
"""

from __future__ import annotations

import io

import segno

_QUIET_ZONE = 4  # modules; the QR specification's minimum, which phone scanners rely on


def make_qr(payload: str) -> segno.QRCode:
    """The smallest QR (never Micro QR) for ``payload`` at error level M or better."""
    return segno.make(payload, error="m", micro=False)


def qr_version(payload: str) -> int:
    """The QR version (1-40) ``payload`` is rendered at."""
    version = make_qr(payload).version
    assert isinstance(version, int)  # a full QR code always has a numeric version
    return version


def qr_svg(payload: str, *, scale: int = 4, inline: bool = False) -> str:
    """``payload`` as an SVG image with the quiet zone included.

    ``inline=False`` gives a standalone document (``image/svg+xml``, e.g. for ``/qr.svg``) sized
    ``scale`` pixels per module. ``inline=True`` gives an element for HTML with only a ``viewBox``,
    so CSS decides its printed size.
    """
    qr = make_qr(payload)
    if inline:
        return qr.svg_inline(border=_QUIET_ZONE, omitsize=True)
    out = io.BytesIO()
    qr.save(out, kind="svg", border=_QUIET_ZONE, scale=scale, light="#fff", xmldecl=False, nl=False)
    return out.getvalue().decode("utf-8")
