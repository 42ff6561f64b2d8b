"""What every storage backend offers, and the key rules that keep objects inside their root or prefix."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Protocol
from urllib.parse import quote

#: Streaming reads hand out chunks of at most this many bytes unless asked otherwise.
CHUNK_SIZE = 64 * 1024
#: SigV4 presigned URLs cannot live longer than seven days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

# Control characters and the backslash (a path separator on Windows, and a trap in S3 consoles) never belong in a key.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")


def check_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe relative key, else raise ``ValueError``.

    A safe key is non-empty, relative (no leading ``/``), has no empty, ``.`` or ``..`` segment and no control
    character or backslash, so that joined to a directory or an S3 prefix it names a place inside it.
    """
    if not key or len(key) > 900:  # S3 allows 1024 bytes including the prefix; leave it room.
        raise ValueError(f"storage key must be 1 to 900 characters, got {len(key)}")
    if _FORBIDDEN.search(key):
        raise ValueError(f"storage key {key!r} contains a control character or a backslash")
    if key.startswith("/"):
        raise ValueError(f"storage key {key!r} must be relative")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"storage key {key!r} has an empty, '.' or '..' segment")
    return key


def check_expiry(expires_seconds: int) -> int:
    """Return ``expires_seconds`` if it is a valid presigned-URL lifetime (1 s to 7 days), else raise ``ValueError``."""
    if not 1 <= expires_seconds <= MAX_PRESIGN_SECONDS:
        raise ValueError(f"presigned URL lifetime must be 1 to {MAX_PRESIGN_SECONDS} seconds, got {expires_seconds}")
    return expires_seconds


def content_disposition(filename: str | None, disposition: str = "inline") -> str:
    """A ``Content-Disposition`` header value that is plain ASCII whatever ``filename`` holds (RFC 6266).

    The quoted ``filename`` carries an ASCII fallback with quotes, backslashes and control characters
    replaced; ``filename*`` carries the exact name, percent-encoded as UTF-8, when it is not plain ASCII.
    """
    if not filename:
        return disposition
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


class Download:
    """An opened stored object: iterate it once for its bytes, in chunks of at most the size asked for.

    The underlying file or connection is released when iteration ends, when ``aclose()`` is called, or when
    the ``async with`` block around it exits; ``aclose()`` is safe to call more than once.
    """

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        close: Callable[[], Awaitable[None]],
        *,
        size: int | None,
        content_type: str | None,
    ):
        self._chunks = chunks
        self._close = close
        self.size = size
        self.content_type = content_type

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks

    async def aclose(self) -> None:
        await self._close()

    async def read(self) -> bytes:
        """All remaining bytes (for callers that want the whole object after all); closes the download."""
        try:
            return b"".join([chunk async for chunk in self._chunks])
        finally:
            await self.aclose()

    async def __aenter__(self) -> Download:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class Storage(Protocol):
    """Where generated documents (ticket PDFs) are kept, by key such as ``orders/{order_id}/tickets.pdf``.

    Every method refuses an unsafe key (see ``check_key``) with ``ValueError`` before touching anything.
    "Not there" is ``None`` or ``False``; any other failure (permissions, a missing bucket, the network) raises.
    """

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        """Store ``data`` under ``key``, replacing what was there in one step; return a location URL for logs."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The object's bytes, or ``None`` if there is no object under ``key``."""
        ...

    async def open(self, key: str, chunk_size: int = CHUNK_SIZE) -> Download | None:
        """The object as a stream of chunks (see ``Download``), or ``None`` if there is no object under ``key``."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object under ``key``; removing a missing object is not an error."""
        ...

    async def presigned_url(self, key: str, expires_seconds: int, filename: str | None = None) -> str | None:
        """A URL that lets anyone holding it GET the object for ``expires_seconds``, shown inline under
        ``filename``; ``None`` when the backend cannot hand out such URLs (the caller streams instead).
        It does not check that the object exists."""
        ...

    async def aclose(self) -> None:
        """Release connections; the storage may be used again afterwards (it reconnects)."""
        ...
