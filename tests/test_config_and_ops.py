"""Configuration fails fast with one line naming the variable; health, readiness and metrics answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from boxoffice.db import Database

BOXOFFICE = str(Path(sys.executable).parent / "boxoffice")


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("BOXOFFICE_TEMPORAL_ADDRESS", "no-port-here"),
        ("BOXOFFICE_DATABASE_URL", "mysql://x"),
        ("BOXOFFICE_PUBLIC_URL", "ftp://example"),
        ("BOXOFFICE_HOLD_TTL_SECONDS", "-5"),
        ("BOXOFFICE_STORAGE_URL", "gopher://x"),
        ("BOXOFFICE_JWT_SECRET", "short"),
    ],
)
def test_bad_setting_stops_startup_with_one_line(tmp_path: Path, var: str, value: str) -> None:
    env = {**os.environ, "BOXOFFICE_DATA_DIR": str(tmp_path), var: value}
    proc = subprocess.run(
        [BOXOFFICE, "token", "--user", "u", "--org", "o"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and var in lines[0], proc.stderr
    assert proc.stdout == ""


def test_token_command_mints_a_token_the_api_accepts(tmp_path: Path) -> None:
    from boxoffice.auth import decode_token

    env = {**os.environ, "BOXOFFICE_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [BOXOFFICE, "token", "--user", "u1", "--org", "acme", "--role", "scanner", "--ttl", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=True,
    ).stdout
    secret = (tmp_path / "jwt_secret").read_text().strip()
    who = decode_token(secret, out.strip())
    assert (who.user_id, who.org_id, who.role) == ("u1", "acme", "scanner")


def test_token_lifetime_defaults_to_the_setting(tmp_path: Path) -> None:
    import jwt

    env = {**os.environ, "BOXOFFICE_DATA_DIR": str(tmp_path), "BOXOFFICE_JWT_TTL_SECONDS": "120"}
    out = subprocess.run(
        [BOXOFFICE, "token", "--user", "u1", "--org", "acme"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=True,
    ).stdout
    claims = jwt.decode(out.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120


async def test_health_readiness_and_metrics(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    r = await api.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "temporal": "ok"}
    r = await api.get("/metrics")
    assert r.status_code == 200 and "boxoffice_http_requests_total" in r.text


async def test_readyz_is_503_when_temporal_is_unreachable(tmp_path: Path, pg_url: str) -> None:
    from boxoffice.api.app import create_app
    from boxoffice.config import build_settings

    settings = build_settings(env="test", data_dir=tmp_path, database_url=pg_url, temporal_address="127.0.0.1:1")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"] == {"database": "ok", "temporal": "unreachable"}


async def test_snapshot_reads_are_not_torn_by_a_commit_between_them(db: Database) -> None:
    """An order view is several queries: with ``Database.snapshot`` a commit between them is not seen half."""
    from sqlalchemy import text

    async with db.transaction() as s:
        await s.execute(text("INSERT INTO organizations (id, name, created_at) VALUES ('snap', 'before', now())"))

    async def read_twice(snapshot: bool) -> tuple[str, str]:
        async with db.session() as reader:
            if snapshot:
                await db.snapshot(reader)
            first = (await reader.execute(text("SELECT name FROM organizations WHERE id = 'snap'"))).scalar_one()
            async with db.transaction() as writer:  # another request commits in between
                await writer.execute(text("UPDATE organizations SET name = name || '+' WHERE id = 'snap'"))
            second = (await reader.execute(text("SELECT name FROM organizations WHERE id = 'snap'"))).scalar_one()
            return first, second

    assert await read_twice(snapshot=False) == ("before", "before+")  # read committed: the second read moved on
    assert await read_twice(snapshot=True) == ("before+", "before+")  # one snapshot for the whole view
