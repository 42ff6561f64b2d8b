"""The door staff's scanner page, ``GET /gate``, and its files: everything it runs is served from here (no CDN).

The page (``static/``; what it does and what it trusts is in ``static/README.md``) scans QR codes with the camera or
takes typed codes, asks ``POST /v1/scans`` while the API answers, and otherwise decides from the last signed gate
bundle it fetched, uploading what it let through to ``POST /v1/scans/batch`` once back online.

Guarantees of what is served:
- every response carries :data:`SECURITY_HEADERS`: a Content-Security-Policy with no inline script or style, no
  ``eval`` (WebAssembly compilation alone is allowed, for the QR decoder) and no origin but this one, the camera
  for this origin only, no framing;
- only the files listed in :data:`ASSETS` are served, with their declared type and an ETag (304 when unchanged);
- asset URLs in the page carry :data:`version` (a hash of every asset), so a deploy reaches phones at their next
  load, and the service worker (``/gate/sw.js``, scope ``/gate``) keeps the page working when it is reloaded
  offline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response

from boxoffice.errors import NotFound

router = APIRouter(tags=["gate"])
STATIC = Path(__file__).parent / "static"

_JS, _CSS = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
# Every file the page may load, and its type; anything else under static/ is not served.
ASSETS: dict[str, str] = {
    "gate.css": _CSS,
    "js/main.js": _JS,
    "js/api.js": _JS,
    "js/camera.js": _JS,
    "js/feedback.js": _JS,
    "js/journal.js": _JS,
    "js/offline.js": _JS,
    "js/store.js": _JS,
    "js/trust.js": _JS,
    "js/ui.js": _JS,
    "icon.svg": "image/svg+xml",
    "manifest.webmanifest": "application/manifest+json",
    "vendor/zxing-wasm/zxing-reader.js": _JS,
    "vendor/zxing-wasm/zxing_reader.wasm": "application/wasm",
    "vendor/zxing-wasm/LICENSE": "text/plain; charset=utf-8",
    "vendor/zxing-wasm/LICENSE.zxing-cpp": "text/plain; charset=utf-8",
    "vendor/zxing-wasm/README.md": "text/markdown; charset=utf-8",
    "README.md": "text/markdown; charset=utf-8",
}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",  # our files only; WebAssembly may compile (the QR decoder)
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@cache
def assets() -> dict[str, Asset]:
    """Every servable file, read once per process."""
    out = {}
    for name, media_type in ASSETS.items():
        body = (STATIC / name).read_bytes()
        out[name] = Asset(body, media_type, _etag(body))
    return out


@cache
def version() -> str:
    """A hash of every asset: the page's asset URLs and the service worker's cache name carry it."""
    digest = hashlib.sha256()
    for name, asset in sorted(assets().items()):
        digest.update(name.encode() + b"\0" + asset.etag.encode())
    return digest.hexdigest()[:16]


@cache
def _page(name: str) -> Asset:
    """``index.html`` or ``sw.js`` with the current :func:`version` filled in."""
    body = (STATIC / name).read_text("utf-8").replace("{{version}}", version()).encode()
    return Asset(body, "text/html; charset=utf-8" if name.endswith(".html") else _JS, _etag(body))


def _answer(request: Request, asset: Asset, **headers: str) -> Response:
    common = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache", **headers}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=common)
    return Response(asset.body, media_type=asset.media_type, headers=common)


@router.get("/gate", include_in_schema=False)
async def gate_page(request: Request) -> Response:
    """The scanner page."""
    return _answer(request, _page("index.html"))


@router.get("/gate/sw.js", include_in_schema=False)
async def service_worker(request: Request) -> Response:
    """The page's service worker; served under ``/gate`` and allowed the scope ``/gate`` (the page itself)."""
    return _answer(request, _page("sw.js"), **{"Service-Worker-Allowed": "/gate"})


@router.get("/gate/static/{name:path}", include_in_schema=False)
async def gate_asset(name: str, request: Request) -> Response:
    """One of the page's files (:data:`ASSETS`); 404 ``not_found`` for anything else."""
    asset = assets().get(name)
    if asset is None:
        raise NotFound("no such file of the gate page", code="not_found")
    return _answer(request, asset)
