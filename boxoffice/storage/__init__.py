"""Where generated documents are kept: ``file://`` (default, under the data directory) or ``s3://bucket/prefix``.

``storage_from_url(settings.resolved_storage_url, settings.s3_endpoint_url)`` builds the backend; both follow
the ``Storage`` protocol, so callers never know which one they have.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from boxoffice.storage.base import CHUNK_SIZE, Download, Storage, check_key, content_disposition
from boxoffice.storage.files import FileStorage
from boxoffice.storage.s3 import S3Storage

__all__ = [
    "CHUNK_SIZE",
    "Download",
    "FileStorage",
    "S3Storage",
    "Storage",
    "check_key",
    "content_disposition",
    "storage_from_url",
]

# S3's bucket naming rules (lowercase letters, digits, dots and hyphens; 3 to 63; starts and ends alphanumeric).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def storage_from_url(url: str, endpoint_url: str | None = None) -> Storage:
    """The backend that ``url`` names: ``file:///absolute/dir`` or ``s3://bucket[/prefix]``.

    ``endpoint_url`` points S3 at a non-AWS server (``BOXOFFICE_S3_ENDPOINT_URL``) and is ignored for files.
    Anything else raises ``ValueError`` with a one-line message naming ``BOXOFFICE_STORAGE_URL``. Nothing is
    created or contacted here.
    """
    try:
        return _parse(url, endpoint_url)
    except ValueError as exc:
        raise ValueError(f"BOXOFFICE_STORAGE_URL {url!r} is invalid: {exc}") from None


def _parse(url: str, endpoint_url: str | None) -> Storage:
    # urlsplit silently drops tabs and newlines, which would make a mangled setting look valid.
    if re.search(r"[\x00-\x1f\x7f]", url):
        raise ValueError("it contains a control character")
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError("it must have no query or fragment")
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise ValueError("use file:///absolute/path")
        return FileStorage(Path(path))
    if parts.scheme == "s3":
        if "@" in parts.netloc:
            raise ValueError("credentials belong in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the URL")
        if not _BUCKET.fullmatch(parts.netloc):
            raise ValueError("use s3://bucket/prefix with a valid S3 bucket name")
        prefix = unquote(parts.path).strip("/")
        if prefix:
            check_key(prefix)
        return S3Storage(parts.netloc, prefix, endpoint_url=endpoint_url)
    raise ValueError("use file:///absolute/path or s3://bucket/prefix")
