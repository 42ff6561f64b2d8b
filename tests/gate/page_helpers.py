"""What the scanner page's browser tests share: the app over real HTTP, Debian's Chromium driven by Playwright with a
fake camera that films a ticket's QR code, and the page's setup as door staff do it.

The fake camera plays a YUV4MPEG2 file made here from the QR code (segno → Pillow → Y, Cb, Cr planes), looped by
Chromium (``--use-file-for-fake-video-capture``). Playwright never downloads a browser: it drives
``/usr/bin/chromium``.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import segno
import uvicorn
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright

from tests.e2e_stack import free_socket, url_of

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "gate"
FRAME = (640, 480)
PHONE: ViewportSize = {"width": 412, "height": 915}  # a common Android phone's CSS viewport


@asynccontextmanager
async def http_server(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` (its lifespan already entered, as the ``app`` fixture leaves it) over HTTP on 127.0.0.1; its
    base URL. The socket closes once the server has stopped."""
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert not task.done() and time.monotonic() < deadline, "the app did not start serving"
            await asyncio.sleep(0.01)
        yield url_of(sock)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        sock.close()


def qr_frame(text: str | None) -> Image.Image:
    """A camera frame: ``text``'s QR code (error level M, as tickets print it) on white paper, or blank paper."""
    frame = Image.new("RGB", FRAME, (236, 236, 230))
    if text is not None:
        png = io.BytesIO()
        segno.make(text, error="m", micro=False).save(png, kind="png", scale=8, border=4)
        code = Image.open(png).convert("RGB")
        side = int(FRAME[1] * 0.78)
        code = code.resize((side, side), Image.Resampling.NEAREST)
        frame.paste(code, ((FRAME[0] - side) // 2, (FRAME[1] - side) // 2))
    return frame


def write_y4m(path: Path, scenes: Sequence[tuple[Image.Image, int]], fps: int = 10) -> Path:
    """A YUV4MPEG2 (4:2:0, JPEG range) video of ``scenes``: each image shown for its number of frames."""
    width, height = FRAME
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n".encode())
        for image, count in scenes:
            y, cb, cr = image.convert("YCbCr").split()
            half = (width // 2, height // 2)
            planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
            for _ in range(count):
                out.write(b"FRAME\n" + planes)
    return path


def camera_video(tmp_path: Path, texts: Sequence[str], name: str = "camera.y4m") -> Path:
    """The camera's film: each of ``texts`` held up for 2 s, then 1 s of blank paper, in a loop."""
    scenes: list[tuple[Image.Image, int]] = []
    for text in texts:
        scenes += [(qr_frame(text), 20), (qr_frame(None), 10)]
    return write_y4m(tmp_path / name, scenes)


@asynccontextmanager
async def chromium(camera: Path | None = None) -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, its camera (if any) filming ``camera``, camera permission granted."""
    args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--no-sandbox"]
    if camera is not None:
        args.append(f"--use-file-for-fake-video-capture={camera}")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            await browser.close()


async def phone(browser: Browser, base_url: str) -> BrowserContext:
    """A phone-sized browser profile of its own (its own storage), allowed the camera on ``base_url``."""
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    await context.grant_permissions(["camera"], origin=base_url)
    return context


class Door:
    """One gate device: a page of its own, with what it logged, the requests it made and the CSP reports."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base_url = page, base_url
        self.requests: list[str] = []
        self.console: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    @classmethod
    async def open(cls, context: BrowserContext, base_url: str) -> Door:
        page = await context.new_page()
        door = cls(page, base_url)
        await page.goto(f"{base_url}/gate")
        await page.wait_for_selector("body[data-ready='yes']")
        return door

    async def set_up(self, token: str, gate: str, event_id: str) -> None:
        """Paste the token and name the gate (Save fetches the events), then choose the event."""
        page = self.page
        if not await page.evaluate("document.getElementById('setup').open"):
            await page.click("#setup summary")
        await page.fill("#token", token)
        await page.fill("#gate", gate)
        await page.click("#setup-form button[type=submit]")
        await page.wait_for_selector(f"#event option[value='{event_id}']", state="attached")
        await page.select_option("#event", event_id)
        await self.wait_for_bundle()

    async def until(self, predicate: str, arg: Any = None, timeout: float = 20) -> Any:
        """Poll ``predicate`` (a JavaScript function of ``arg``) until it returns something truthy; that value.
        (Playwright's ``wait_for_function`` evaluates strings, which the page's CSP rightly forbids.)"""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.page.evaluate(predicate, arg)
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {predicate}; page says {await self.card()}"
            await asyncio.sleep(0.1)

    async def wait_for_bundle(self) -> None:
        await self.until("() => !document.getElementById('status').textContent.includes('no bundle')")

    async def answer(self, title: str, timeout: float = 20) -> dict[str, str]:
        """Wait until the answer card says ``title`` (case-insensitive); the card's texts."""
        await self.until(
            "t => document.getElementById('answer-title').textContent.toLowerCase() === t", title.lower(), timeout
        )
        return await self.card()

    async def card(self) -> dict[str, str]:
        texts: dict[str, str] = await self.page.evaluate(
            """() => ({
                kind: document.getElementById('answer').dataset.kind,
                title: document.getElementById('answer-title').textContent,
                detail: document.getElementById('answer-detail').textContent,
                meta: document.getElementById('answer-meta').textContent,
                status: document.getElementById('status').textContent,
            })"""
        )
        return texts

    async def type_code(self, code: str) -> None:
        await self.page.fill("#code", code)
        await self.page.click("#code-form button[type=submit]")

    async def history(self) -> list[str]:
        items: list[str] = await self.page.eval_on_selector_all(
            "#history li", "items => items.map(i => i.querySelector('strong').textContent)"
        )
        return items

    async def screenshot(self, name: str, full_page: bool = False) -> Path:
        """The phone's screen (or the whole page) as ``tests/artifacts/gate/{name}.png``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def foreign_requests(self) -> list[str]:
        """Requests that left this server (a CDN, anything): there must be none."""
        return [u for u in self.requests if not u.startswith(self.base_url) and not u.startswith(("data:", "blob:"))]
