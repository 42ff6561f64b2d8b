"""Handing an order's stored PDF to its buyer: a redirect to a short-lived presigned URL where the storage has such
URLs (S3) and ``BOXOFFICE_S3_PRESIGN_SECONDS`` is not 0, else the PDF streamed through the API in chunks."""

from __future__ import annotations

from fastapi.responses import RedirectResponse, Response, StreamingResponse

from boxoffice.db import Database
from boxoffice.errors import NotFound
from boxoffice.fulfilment.documents import pdf_key, render_pdf
from boxoffice.storage import Storage, content_disposition

PDF_TYPE = "application/pdf"
# The PDF holds names and entry codes: no shared cache may keep it, and a presigned URL is for this request only.
NO_STORE = {"Cache-Control": "private, no-store"}


async def tickets_pdf(storage: Storage, db: Database, order_id: str, *, presign_seconds: int, locale: str) -> Response:
    """The order's tickets PDF as a response: 307 to a presigned URL (S3), or 200 streaming the stored PDF, or
    200 with a PDF rendered now when none is stored yet (fulfilment has not run). NotFound: no tickets."""
    key = pdf_key(order_id)
    filename = f"tickets-{order_id}.pdf"
    if presign_seconds:
        url = await storage.presigned_url(key, presign_seconds, filename)  # None: this storage has no such URLs
        if url is not None and await storage.exists(key):
            return RedirectResponse(url, status_code=307, headers=NO_STORE)
    headers = {"Content-Disposition": content_disposition(filename), **NO_STORE}
    download = await storage.open(key)
    if download is None:
        data = await render_pdf(db, order_id, locale=locale)
        if data is None:
            raise NotFound("this order has no tickets", code="no_tickets")
        return Response(data, media_type=PDF_TYPE, headers=headers)
    if download.size is not None:
        headers["Content-Length"] = str(download.size)
    return StreamingResponse(download, media_type=PDF_TYPE, headers=headers)
