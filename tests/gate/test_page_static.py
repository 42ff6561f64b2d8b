"""What ``GET /gate`` serves: a strict Content-Security-Policy (no inline script or style, no eval, this origin only),
markup that needs nothing the policy forbids, only the listed files (each with its type and an ETag), no URL of
another origin in any of our files, every file shipped as package data, and the vendored QR decoder intact."""

from __future__ import annotations

import hashlib
import re
import tomllib
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path

import httpx
from fastapi import FastAPI

from boxoffice.api import problems
from boxoffice.gate import page

ROOT = Path(__file__).resolve().parents[2]


class Markup(HTMLParser):
    """Every tag's attributes, and whether any script or style element has content of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in ("script", "style") else None

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.inline.append(f"<{self._open}>{data.strip()[:40]}")

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def client() -> httpx.AsyncClient:
    app = FastAPI()
    problems.install(app)
    app.include_router(page.router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate.test")


async def test_page_under_a_strict_policy() -> None:
    async with client() as http:
        r = await http.get("/gate")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    policy = dict(d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self' 'wasm-unsafe-eval'"  # WebAssembly may compile; JavaScript eval may not
    assert policy["style-src"] == policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert all("unsafe-inline" not in v and "*" not in v and "http" not in v for v in policy.values()), policy
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "camera=(self)" in r.headers["permissions-policy"]

    markup = Markup()
    markup.feed(r.text)
    assert markup.inline == []  # no inline script or style element
    for tag, attrs in markup.tags:
        assert not [a for a in attrs if a.startswith("on") or a == "style"], (tag, attrs)  # no handler, no style=
        if tag == "script":
            assert attrs["src"] and attrs["src"].startswith("/gate/static/"), attrs
    assert "{{version}}" not in r.text and f"?v={page.version()}" in r.text


async def test_only_listed_files_with_their_type_and_etag() -> None:
    async with client() as http:
        for name, media_type in page.ASSETS.items():
            r = await http.get(f"/gate/static/{name}")
            assert r.status_code == 200, name
            assert r.headers["content-type"] == media_type and r.headers["content-security-policy"], name
            again = await http.get(f"/gate/static/{name}", headers={"If-None-Match": r.headers["etag"]})
            assert again.status_code == 304 and again.content == b""
        for name in ("../page.py", "index.html", "js/nope.js", "vendor/zxing-wasm/../../../page.py"):
            missing = await http.get(f"/gate/static/{name}")
            assert (missing.status_code, missing.json()["code"]) == (404, "not_found"), name
        worker = await http.get("/gate/sw.js")
        assert worker.headers["service-worker-allowed"] == "/gate"
        assert f'"{page.version()}"' in worker.text


def test_files_listed_shipped_and_of_this_origin() -> None:
    static = page.STATIC
    on_disk = {p.relative_to(static).as_posix() for p in static.rglob("*") if p.is_file()}
    assert on_disk == set(page.ASSETS) | {"index.html", "sw.js"}  # nothing unlisted, nothing missing

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["boxoffice"]
    unshipped = [n for n in on_disk if not any(fnmatch(f"gate/static/{n}", p) for p in patterns)]
    assert unshipped == []

    ours = [n for n in on_disk if not n.startswith("vendor/") and n.endswith((".js", ".css", ".html", ".webmanifest"))]
    for name in ours:
        text = (static / name).read_text()
        assert not re.search(r"https?://", text), f"{name} names another origin"
        for imported in re.findall(r'from "\./([\w.]+)"', text):
            assert f"js/{imported}" in page.ASSETS, (name, imported)
    cached = re.findall(r'"((?:js|vendor)/[^"]+)"', (static / "sw.js").read_text())
    assert cached and all(f in page.ASSETS for f in cached)


def test_vendored_decoder_is_the_published_one() -> None:
    vendor = page.STATIC / "vendor" / "zxing-wasm"
    script = (vendor / "zxing-reader.js").read_text()
    [expected] = re.findall(r"ZXING_WASM_SHA256=`([0-9a-f]{64})`", script)
    assert hashlib.sha256((vendor / "zxing_reader.wasm").read_bytes()).hexdigest() == expected
    assert "MIT License" in (vendor / "LICENSE").read_text()
    assert "Apache License" in (vendor / "LICENSE.zxing-cpp").read_text()
