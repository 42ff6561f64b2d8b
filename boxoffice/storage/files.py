"""Documents kept as files under one directory (the default: ``<data dir>/storage``).

Files hold buyers' data (names, ticket codes), so they are written 0600 and new directories 0700, whatever the
umask. Writes go to a temporary file in the same directory that then replaces the target, so a reader sees the
old document or the new one, never half of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from boxoffice.storage.base import CHUNK_SIZE, Download, check_expiry, check_key

FILE_MODE = 0o600
DIR_MODE = 0o700


class FileStorage:
    """The ``Storage`` protocol over a local directory; see ``boxoffice.storage.base.Storage`` for the contract."""

    def __init__(self, root: Path | str):
        self.root = Path(root).absolute()

    def _path(self, key: str) -> Path:
        """The file for ``key``, refusing keys that are unsafe or that reach outside the root through a symlink."""
        path = self.root / check_key(key)
        # check_key already rules out "..", but a symlink inside the root could still lead out of it.
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key {key!r} leads outside the storage directory")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        check_key(key)
        return await asyncio.to_thread(self._write, key, data)

    def _write(self, key: str, data: bytes) -> str:
        path = self._path(key)  # before creating anything, so no directory is made through an outward symlink
        self._make_dirs(key)
        # mkstemp creates the file 0600 and with a unique name, so concurrent writers never share a temporary file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return path.as_uri()

    def _make_dirs(self, key: str) -> None:
        """Create the root and the key's parent directories that are missing, each 0700 despite the umask."""
        if not self.root.is_dir():
            self.root.mkdir(parents=True, mode=DIR_MODE, exist_ok=True)
            self.root.chmod(DIR_MODE)
        directory = self.root
        for part in key.split("/")[:-1]:
            directory = directory / part
            try:
                directory.mkdir(mode=DIR_MODE)
            except FileExistsError:
                continue
            directory.chmod(DIR_MODE)

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    async def open(self, key: str, chunk_size: int = CHUNK_SIZE) -> Download | None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        path = self._path(key)
        try:
            fh = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        size = os.fstat(fh.fileno()).st_size

        async def close() -> None:
            fh.close()

        return Download(_read_chunks(fh, chunk_size), close, size=size, content_type=mimetypes.guess_type(path.name)[0])

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
            await asyncio.to_thread(path.unlink)

    async def presigned_url(self, key: str, expires_seconds: int, filename: str | None = None) -> str | None:
        check_key(key)
        check_expiry(expires_seconds)
        return None  # Files have no URL of their own: the API streams them.

    async def aclose(self) -> None:
        return None


async def _read_chunks(fh: BinaryIO, chunk_size: int) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(fh.read, chunk_size):
            yield chunk
    finally:
        fh.close()
