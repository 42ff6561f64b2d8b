"""Both storage backends through the same tests: the local directory and S3 on a real (moto) S3 server."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from boxoffice.storage import FileStorage, S3Storage, Storage, storage_from_url
from tests.s3server import S3Server

PDF = "application/pdf"
ESCAPING_KEYS = ["", "/etc/passwd", "../outside", "orders/../../outside", "orders//x", "orders/./x", "orders/", "a\\b"]
ESCAPING_KEYS += ["a\x00b", "a\nb", "..", "."]


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


@pytest.fixture(params=["file", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """Each backend as production builds it: from a storage URL (S3 credentials from the AWS environment)."""
    if request.param == "file":
        built = storage_from_url((tmp_path / "storage").as_uri())
    else:
        server: S3Server = request.getfixturevalue("aws_env")
        bucket: str = request.getfixturevalue("s3_bucket")
        built = storage_from_url(f"s3://{bucket}/boxoffice/docs", server.endpoint_url)
    yield built
    await built.aclose()


@pytest.fixture
async def s3(aws_env: S3Server, s3_bucket: str) -> AsyncIterator[S3Storage]:
    built = storage_from_url(f"s3://{s3_bucket}/tenant-a", aws_env.endpoint_url)
    assert isinstance(built, S3Storage)
    yield built
    await built.aclose()


# --- both backends -----------------------------------------------------------------------------------------


async def test_put_then_get_returns_the_bytes_and_a_location(storage: Storage) -> None:
    key = f"orders/{uuid.uuid4()}/tickets.pdf"
    data = random_bytes(5000)
    location = await storage.put(key, data, PDF)
    assert await storage.get(key) == data
    assert await storage.exists(key)
    assert location.endswith(key)
    assert location.startswith(("file:///", "s3://"))


async def test_put_replaces_the_previous_object(storage: Storage) -> None:
    await storage.put("orders/1/tickets.pdf", b"first version", PDF)
    await storage.put("orders/1/tickets.pdf", b"second", PDF)
    assert await storage.get("orders/1/tickets.pdf") == b"second"


async def test_missing_objects_are_none_not_errors(storage: Storage) -> None:
    await storage.put("orders/1/tickets.pdf", b"x", PDF)
    for key in ("orders/2/tickets.pdf", "orders/1", "orders/1/tickets.pdf/inner"):
        assert await storage.get(key) is None
        assert await storage.open(key) is None
        assert not await storage.exists(key)
        await storage.delete(key)  # deleting what is not there is fine
    assert await storage.get("orders/1/tickets.pdf") == b"x"


async def test_delete_removes_only_that_object(storage: Storage) -> None:
    await storage.put("orders/1/tickets.pdf", b"one", PDF)
    await storage.put("orders/2/tickets.pdf", b"two", PDF)
    await storage.delete("orders/1/tickets.pdf")
    assert not await storage.exists("orders/1/tickets.pdf")
    assert await storage.get("orders/1/tickets.pdf") is None
    assert await storage.get("orders/2/tickets.pdf") == b"two"


async def test_open_streams_the_object_in_bounded_chunks(storage: Storage) -> None:
    data = random_bytes(300 * 1024 + 17)
    await storage.put("orders/big/tickets.pdf", data, PDF)
    download = await storage.open("orders/big/tickets.pdf", chunk_size=64 * 1024)
    assert download is not None
    async with download:
        chunks = [chunk async for chunk in download]
    assert b"".join(chunks) == data
    assert len(chunks) >= 5  # 300 KiB in chunks of at most 64 KiB: it really streamed
    assert all(0 < len(chunk) <= 64 * 1024 for chunk in chunks)
    assert download.size == len(data)
    assert download.content_type == PDF


async def test_a_download_closed_early_releases_it_and_storage_still_works(storage: Storage) -> None:
    data = random_bytes(256 * 1024)
    await storage.put("orders/1/tickets.pdf", data, PDF)
    for _ in range(3):  # on S3 an unclosed body would hold a pooled connection each time
        download = await storage.open("orders/1/tickets.pdf", chunk_size=1024)
        assert download is not None
        async with download:
            first = await anext(aiter(download))
        assert first == data[:1024]
    assert await storage.get("orders/1/tickets.pdf") == data


@pytest.mark.parametrize("key", ESCAPING_KEYS)
async def test_keys_that_could_escape_are_refused_everywhere(storage: Storage, key: str, tmp_path: Path) -> None:
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: storage.put(key, b"x", PDF),
        lambda: storage.get(key),
        lambda: storage.open(key),
        lambda: storage.exists(key),
        lambda: storage.delete(key),
        lambda: storage.presigned_url(key, 60),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="storage key"):
            await call()
    assert not (tmp_path / "outside").exists()


async def test_presigned_url_lifetime_is_bounded(storage: Storage) -> None:
    for seconds in (0, -1, 8 * 24 * 3600):
        with pytest.raises(ValueError, match="lifetime"):
            await storage.presigned_url("orders/1/tickets.pdf", seconds)


# --- files -------------------------------------------------------------------------------------------------


async def test_files_are_0600_and_new_directories_0700_whatever_the_umask(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    storage = FileStorage(root)
    old = os.umask(0o000)  # the most permissive umask must not leak buyers' data
    try:
        location = await storage.put("orders/1/tickets.pdf", b"%PDF buyer data", PDF)
        await storage.put("orders/1/tickets.pdf", b"%PDF replaced", PDF)
    finally:
        os.umask(old)
    path = root / "orders" / "1" / "tickets.pdf"
    assert location == path.as_uri()
    assert path.read_bytes() == b"%PDF replaced"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (root, root / "orders", root / "orders" / "1"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert sorted(p.name for p in path.parent.iterdir()) == ["tickets.pdf"]  # no temporary file left behind


async def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "storage", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "orders").symlink_to(outside)
    storage = FileStorage(root)
    with pytest.raises(ValueError, match="outside"):
        await storage.put("orders/1/tickets.pdf", b"x", PDF)
    with pytest.raises(ValueError, match="outside"):
        await storage.get("orders/1/tickets.pdf")
    assert list(outside.iterdir()) == []


async def test_files_have_no_presigned_url(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path)
    await storage.put("orders/1/tickets.pdf", b"x", PDF)
    assert await storage.presigned_url("orders/1/tickets.pdf", 300, filename="tickets.pdf") is None


# --- S3 ----------------------------------------------------------------------------------------------------


async def test_objects_land_in_the_bucket_under_the_prefix(s3: S3Storage, s3_server: S3Server, s3_bucket: str) -> None:
    location = await s3.put("orders/7/tickets.pdf", b"%PDF-1.7 seven", PDF)
    assert location == f"s3://{s3_bucket}/tenant-a/orders/7/tickets.pdf"
    raw = s3_server.client()
    obj = raw.get_object(Bucket=s3_bucket, Key="tenant-a/orders/7/tickets.pdf")
    assert obj["Body"].read() == b"%PDF-1.7 seven"
    assert obj["ContentType"] == PDF
    listed = [o["Key"] for o in raw.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert listed == ["tenant-a/orders/7/tickets.pdf"]


async def test_the_prefix_hides_objects_outside_it(s3: S3Storage, s3_server: S3Server, s3_bucket: str) -> None:
    raw = s3_server.client()
    raw.put_object(Bucket=s3_bucket, Key="orders/8/tickets.pdf", Body=b"not ours")
    raw.put_object(Bucket=s3_bucket, Key="tenant-b/orders/8/tickets.pdf", Body=b"not ours either")
    assert await s3.get("orders/8/tickets.pdf") is None
    assert not await s3.exists("orders/8/tickets.pdf")
    await s3.delete("orders/8/tickets.pdf")
    keys = sorted(o["Key"] for o in raw.list_objects_v2(Bucket=s3_bucket)["Contents"])
    assert keys == ["orders/8/tickets.pdf", "tenant-b/orders/8/tickets.pdf"]


@pytest.mark.parametrize(
    ("filename", "disposition"),
    [
        ("tickets-7.pdf", 'inline; filename="tickets-7.pdf"'),
        (
            'billets "été".pdf',
            "inline; filename=\"billets __t__.pdf\"; filename*=UTF-8''billets%20%22%C3%A9t%C3%A9%22.pdf",
        ),
        (None, "inline"),
    ],
)
async def test_a_presigned_url_serves_the_object_inline(s3: S3Storage, filename: str | None, disposition: str) -> None:
    data = random_bytes(70 * 1024)
    await s3.put("orders/7/tickets.pdf", data, PDF)
    url = await s3.presigned_url("orders/7/tickets.pdf", 300, filename=filename)
    assert "X-Amz-Signature=" in url and "tenant-a/orders/7/tickets.pdf" in url
    async with httpx.AsyncClient() as http:  # no AWS credentials: the URL alone grants access
        response = await http.get(url)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == PDF
    assert response.headers["content-disposition"] == disposition


async def test_a_missing_bucket_raises_instead_of_looking_empty(aws_env: S3Server) -> None:
    storage = S3Storage(f"missing-{uuid.uuid4().hex[:12]}", endpoint_url=aws_env.endpoint_url)
    try:
        with pytest.raises(ClientError, match="NoSuchBucket"):
            await storage.get("orders/1/tickets.pdf")
        with pytest.raises(ClientError, match="NoSuchBucket"):
            await storage.put("orders/1/tickets.pdf", b"x", PDF)
    finally:
        await storage.aclose()


async def test_explicit_credentials_work_without_the_aws_environment(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    storage = S3Storage(
        s3_bucket,
        endpoint_url=s3_server.endpoint_url,
        region_name=s3_server.region,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
    )
    try:
        await storage.put("a.pdf", b"explicit", PDF)
        assert await storage.get("a.pdf") == b"explicit"
    finally:
        await storage.aclose()
    assert s3_server.client().get_object(Bucket=s3_bucket, Key="a.pdf")["Body"].read() == b"explicit"


# --- storage_from_url --------------------------------------------------------------------------------------


def test_storage_from_url_understands_both_schemes(tmp_path: Path) -> None:
    files = storage_from_url((tmp_path / "my docs").as_uri(), "http://ignored-for-files")
    assert isinstance(files, FileStorage)
    assert files.root == tmp_path / "my docs"
    s3 = storage_from_url("s3://boxoffice-docs/prod/tickets/", "http://127.0.0.1:9000")
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix, s3.endpoint_url) == ("boxoffice-docs", "prod/tickets", "http://127.0.0.1:9000")
    bare = storage_from_url("s3://boxoffice-docs")
    assert isinstance(bare, S3Storage)
    assert (bare.prefix, bare.endpoint_url) == ("", None)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "storage",
        "/var/lib/boxoffice",
        "file://relative/dir",
        "file:relative",
        "http://example.org/docs",
        "s3://",
        "s3:///prefix",
        "s3://Not_A_Bucket/x",
        "s3://ab/x",
        "s3://key:secret@bucket/x",
        "s3://bucket/a/../b",
        "s3://bucket/a//b",
        "s3://bucket/x?region=eu",
        "s3://bucket/x\nmore",
    ],
)
def test_a_malformed_storage_url_is_one_clear_line(url: str) -> None:
    with pytest.raises(ValueError, match="BOXOFFICE_STORAGE_URL") as info:
        storage_from_url(url)
    assert "\n" not in str(info.value)
