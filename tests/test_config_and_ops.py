"""Configuration fails fast with one line naming the variable; health, readiness and metrics answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

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
