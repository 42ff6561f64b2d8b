"""Documents on S3 end to end (issue 12), against a real S3 API server (moto in server mode): a checkout's PDF is
stored in the bucket by the worker, and ``tickets.pdf`` is served from it, by a presigned redirect or streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.payments.providers import Providers
from tests.delivery.conftest import delivery_settings
from tests.delivery.shop import attachment, buy, open_sale, received
from tests.harness import Tokens
from tests.s3server import S3Server
from tests.smtpserver import SmtpServer

PREFIX = "boxoffice/prod"


@pytest.fixture
def settings(
    pg_url: str, tmp_path: Path, task_queue: str, smtp_plain: SmtpServer, aws_env: S3Server, s3_bucket: str
) -> Settings:
    """BOXOFFICE_STORAGE_URL=s3://bucket/prefix and BOXOFFICE_S3_ENDPOINT_URL; credentials from the AWS variables."""
    return delivery_settings(
        tmp_path,
        pg_url,
        task_queue,
        smtp_plain,
        storage_url=f"s3://{s3_bucket}/{PREFIX}",
        s3_endpoint_url=aws_env.endpoint_url,
    )


@pytest.fixture
async def s3_worker(temporal: Client, db: Database, settings: Settings, providers: Providers) -> AsyncIterator[Any]:
    """The real workers with S3 storage, shut down as ``boxoffice worker`` does (renderer stopped, storage closed)."""
    from boxoffice.worker import build_workers

    workers = build_workers(temporal, db, settings, providers=providers)
    async with workers[0], workers[1]:
        yield workers
    await workers.aclose()


async def test_checkout_pdf_stored_in_s3_and_served_from_it(
    api: httpx.AsyncClient,
    tokens: Tokens,
    s3_worker: Any,
    aws_env: S3Server,
    s3_bucket: str,
    settings: Settings,
    smtp_plain: SmtpServer,
) -> None:
    order = await buy(api, tokens, await open_sale(api, tokens))
    key = f"{PREFIX}/orders/{order['id']}/tickets.pdf"
    # Read back with a plain boto3 client, independent of the code under test.
    obj = aws_env.client().get_object(Bucket=s3_bucket, Key=key)
    stored = obj["Body"].read()
    assert stored.startswith(b"%PDF-") and obj["ContentType"] == "application/pdf"
    assert not (Path(settings.data_dir) / "storage").exists()  # nothing went to the local disk
    (msg,) = await received(smtp_plain, 1)
    assert attachment(msg) == stored

    # S3 (the default): a 307 to a short-lived presigned URL that the S3 server itself answers.
    r = await api.get(f"/v1/orders/{order['id']}/tickets.pdf", headers=tokens.buyer())
    assert r.status_code == 307 and "no-store" in r.headers["cache-control"]
    location = r.headers["location"]
    assert location.startswith(f"{aws_env.endpoint_url}/{s3_bucket}/{key}?")
    assert "X-Amz-Expires=300" in location and "X-Amz-Signature=" in location
    async with httpx.AsyncClient() as browser:  # what follows the redirect: no bearer token, only the signature
        pdf = await browser.get(location)
    assert pdf.status_code == 200 and pdf.content == stored
    assert pdf.headers["content-disposition"] == f'inline; filename="tickets-{order["id"]}.pdf"'

    # BOXOFFICE_S3_PRESIGN_SECONDS=0: the API streams the object from S3 itself.
    settings.s3_presign_seconds = 0
    r = await api.get(f"/v1/orders/{order['id']}/tickets.pdf", headers=tokens.buyer())
    assert r.status_code == 200 and r.content == stored
    assert r.headers["content-type"] == "application/pdf" and r.headers["content-length"] == str(len(stored))

    # Someone else's order: 404, and no URL handed out.
    r = await api.get(f"/v1/orders/{order['id']}/tickets.pdf", headers=tokens.buyer("mallory"))
    assert r.status_code == 404 and "location" not in r.headers
