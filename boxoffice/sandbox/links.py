"""Signed links: only the buyer's own link opens the sandbox's payment page or the page buyers return to.

A reference (``bo-{order_id}``) or an order id is easy to learn: it shows in URLs, e-mails and logs. Knowing one
must not be enough to pay or decline someone else's order, or to read its status. So each link carries an HMAC
of what it names, under a secret the server keeps:
- the sandbox's payment page, ``/sandbox/pay/{reference}?sig=…`` (the contract's path, signed in the query), under
  the sandbox provider's secret
  (``BOXOFFICE_SANDBOX_WEBHOOK_SECRET``), because the sandbox's API hands the link out as a provider would;
- the return page, ``/checkout/complete?order_id=…&sig=…``, under the JWT secret, because the worker builds it
  for every provider and the API checks it, and that secret is the one both must share (production requires it).

A wrong or missing signature is answered exactly like an unknown reference, so a guess learns nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote, urlencode

PAY_PAGE = "sandbox-pay"
RETURN_PAGE = "checkout-complete"


def signature(secret: str, purpose: str, subject: str) -> str:
    """A URL-safe HMAC-SHA256 of ``subject`` for ``purpose`` (144 bits, 24 characters); each purpose is its own
    domain, so a signature made for one page opens no other."""
    mac = hmac.new(secret.encode(), f"boxoffice/{purpose}\x00{subject}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def verified(secret: str, purpose: str, subject: str, given: str | None) -> bool:
    """Whether ``given`` is the signature of ``subject`` for ``purpose`` (compared in constant time)."""
    return given is not None and hmac.compare_digest(signature(secret, purpose, subject).encode(), given.encode())


def pay_page_path(secret: str, reference: str) -> str:
    """The path of the sandbox's payment page for ``reference``, signed."""
    return f"/sandbox/pay/{quote(reference, safe='')}?{urlencode({'sig': signature(secret, PAY_PAGE, reference)})}"


def checkout_complete_url(public_url: str, secret: str, order_id: str) -> str:
    """The page a buyer returns to after paying for ``order_id``, signed."""
    query = urlencode({"order_id": order_id, "sig": signature(secret, RETURN_PAGE, order_id)})
    return f"{public_url}/checkout/complete?{query}"
