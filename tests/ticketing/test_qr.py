"""The payload as a QR symbol: the longest payload fits version 6 at ECC M, a real decoder reads it back, and the
SVG forms."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import segno
import zxingcpp
from PIL import Image

from boxoffice.ticketing.keys import SigningKey
from boxoffice.ticketing.qr import make_qr, qr_svg, qr_version
from boxoffice.ticketing.tokens import PAYLOAD_LENGTH, verify_ticket
from tests.ticketing.samples import DURING, EVENT, ORG, signed

V6_M_ALPHANUMERIC_CAPACITY = 154  # ISO/IEC 18004 table 7


def test_longest_real_payload_fits_qr_version_6_at_m(key: SigningKey) -> None:
    # Every field has a fixed width, so the longest payload is any payload; these are the extreme values,
    # and the organisation id (bound by the signature, carried as a tag) does not lengthen it.
    longest = signed(
        key,
        uuid.UUID(int=2**128 - 1),
        event=uuid.UUID(int=2**128 - 1),
        org="o" * 500,
        valid_until=datetime.fromtimestamp(2**32 - 1, UTC),
        issued=datetime.fromtimestamp(2**32 - 1, UTC),
    )
    assert len(longest) == PAYLOAD_LENGTH <= V6_M_ALPHANUMERIC_CAPACITY
    qr = segno.make(longest, error="m", micro=False, boost_error=False)
    assert (qr.version, qr.mode, qr.error) == (6, "alphanumeric", "M")
    assert qr_version(longest) == 6 and make_qr(longest).error == "M"
    assert segno.make(longest + "0" * 7, error="m", micro=False).version == 7  # the check would see growth


def test_qr_decodes_back_to_the_payload(key: SigningKey, payload: str) -> None:
    # ZXing (the engine behind most phone scanners) reads the symbol, spaces, $, % and * included.
    with_specials = next(p for p in (signed(key, uuid.uuid4()) for _ in range(500)) if set(p) & set(" $%*"))
    for text in (payload, with_specials):
        png = io.BytesIO()
        make_qr(text).save(png, kind="png", scale=4, border=4)
        png.seek(0)
        [decoded] = zxingcpp.read_barcodes(Image.open(png))
        assert decoded.text == text and decoded.format == zxingcpp.BarcodeFormat.QRCode
        assert verify_ticket(decoded.text, {key.kid: key.public_key}, now=DURING, event_id=EVENT, organization_id=ORG)


def test_qr_svg_forms(payload: str) -> None:
    standalone = qr_svg(payload, scale=4)
    assert standalone.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in standalone
    assert 'width="196"' in standalone  # (41 modules + 2 * 4 quiet zone) * 4 px
    inline = qr_svg(payload, inline=True)
    assert 'viewBox="0 0 49 49"' in inline and "width=" not in inline
