"""The offline gate as door staff run it: ``boxoffice gate verify`` in a process of its own, with no database and
no network reachable, against a bundle file and a pinned ``keys.json`` file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

BOXOFFICE = Path(sys.executable).parent / "boxoffice"
# Where nothing answers: the command must not need a database or Temporal.
NOWHERE = {
    "BOXOFFICE_DATABASE_URL": "postgresql+psycopg://nobody@192.0.2.1:5432/none",
    "BOXOFFICE_TEMPORAL_ADDRESS": "192.0.2.1:7233",
}


def gate_verify(
    tmp_path: Path, bundle: dict[str, Any], payload: str, *, keys: dict[str, Any] | None, now: datetime
) -> tuple[int, str, str]:
    """Run ``boxoffice gate verify --bundle FILE [--keys FILE] --now NOW PAYLOAD``: (exit status, stdout, stderr)."""
    bundle_file = tmp_path / "bundle.json"
    bundle_file.write_text(json.dumps(bundle))
    argv = [str(BOXOFFICE), "gate", "verify", "--bundle", str(bundle_file), "--now", now.isoformat()]
    if keys is not None:
        keys_file = tmp_path / "keys.json"
        keys_file.write_text(json.dumps(keys))
        argv += ["--keys", str(keys_file)]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **NOWHERE}
    done = subprocess.run([*argv, payload], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    return done.returncode, done.stdout, done.stderr
