"""Where generated documents are kept: ``file://`` (default, under the data directory) or ``s3://``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse


class Storage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> str: ...

    async def get(self, key: str) -> bytes | None: ...


class FileStorage:
    def __init__(self, root: Path):
        self.root = root

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        path = self.root / key
        await asyncio.to_thread(self._write, path, data)
        return path.resolve().as_uri()

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    async def get(self, key: str) -> bytes | None:
        path = self.root / key
        return await asyncio.to_thread(path.read_bytes) if path.exists() else None


def storage_from_url(url: str, endpoint_url: str | None = None) -> Storage:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FileStorage(Path(parsed.path))
    raise ValueError(f"unsupported storage URL {url!r} (S3 storage is not built yet)")
