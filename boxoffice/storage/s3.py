"""Documents kept in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2…), under an optional key prefix.

aioboto3 gives real async streaming (the response body is read chunk by chunk off the connection) and SigV4
presigning with response-header overrides, and reads region and credentials the standard AWS way
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_DEFAULT_REGION``, profiles,
instance roles). No bucket is ever created here: a missing bucket is a deployment error and raises.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import ClientError

from boxoffice.storage.base import CHUNK_SIZE, Download, check_expiry, check_key, content_disposition

# Error codes that mean "no such object" (GetObject says NoSuchKey; HeadObject has no body, so only the status).
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})


def _not_found(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _NOT_FOUND


class S3Storage:
    """The ``Storage`` protocol over an S3 bucket; see ``boxoffice.storage.base.Storage`` for the contract.

    Region and credentials not given here come from the standard AWS environment. One client (and its
    connection pool) is opened on first use and kept until ``aclose()``.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
    ):
        self.bucket = bucket
        self.prefix = check_key(prefix.strip("/")) if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url or None
        self._session = aioboto3.Session(
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            region_name=region_name,
        )
        self._config = Config(
            signature_version="s3v4",
            # Self-hosted S3-compatible servers rarely have wildcard DNS for virtual-hosted bucket names.
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=10,
            read_timeout=60,
        )
        self._client: Any = None
        self._stack = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    client_cm = self._session.client("s3", endpoint_url=self.endpoint_url, config=self._config)
                    self._client = await self._stack.enter_async_context(client_cm)
        return self._client

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        full = self._key(key)
        s3 = await self._s3()
        await s3.put_object(Bucket=self.bucket, Key=full, Body=data, ContentType=content_type)
        return f"s3://{self.bucket}/{full}"

    async def get(self, key: str) -> bytes | None:
        download = await self.open(key)
        return None if download is None else await download.read()

    async def open(self, key: str, chunk_size: int = CHUNK_SIZE) -> Download | None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        full = self._key(key)
        s3 = await self._s3()
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise
        body = response["Body"]

        async def close() -> None:
            # Drops the connection if the body was not read to the end (it cannot go back to the pool mid-body).
            body.close()

        return Download(
            _read_chunks(body, chunk_size),
            close,
            size=response.get("ContentLength"),
            content_type=response.get("ContentType"),
        )

    async def exists(self, key: str) -> bool:
        full = self._key(key)
        s3 = await self._s3()
        try:
            await s3.head_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _not_found(exc):
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        full = self._key(key)
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=full)  # S3 answers 204 for a missing key too

    async def presigned_url(self, key: str, expires_seconds: int, filename: str | None = None) -> str:
        full = self._key(key)
        check_expiry(expires_seconds)
        s3 = await self._s3()
        params = {"Bucket": self.bucket, "Key": full, "ResponseContentDisposition": content_disposition(filename)}
        url: str = await s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_seconds)
        return url

    async def aclose(self) -> None:
        async with self._lock:
            self._client = None
            await self._stack.aclose()


async def _read_chunks(body: Any, chunk_size: int) -> AsyncIterator[bytes]:
    try:
        async for chunk in body.iter_chunks(chunk_size):
            yield chunk
    finally:
        body.close()
