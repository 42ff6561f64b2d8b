"""``boxoffice dev`` wired for operators (issue 11), as real processes on free ports: the Temporal UI is set to decode
payloads through the API's codec endpoint, the banner's operator token opens it (header or the sign-in cookie the
UI's "include cross-origin credentials" sends), CORS lets the UI's origin call it, the CLI decodes a demo checkout
through it, and every file holding buyers' data under the data directory is readable by its owner only."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

import httpx

from tests.test_devstack import BOXOFFICE, TEMPORAL, free_port, run_demo


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_dev_stack_decrypts_for_its_operator_and_keeps_buyers_files_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    api, tport, ui = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    argv = [BOXOFFICE, "dev", "--port", str(api), "--temporal-port", str(tport), "--ui-port", str(ui)]
    log_path = tmp_path / "dev.log"
    with log_path.open("wb") as log:
        dev = subprocess.Popen(
            [*argv, "--data-dir", str(data)], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path
        )
        try:
            wait_for_banner(dev, log_path)
            banner = log_path.read_text()
            base = f"http://127.0.0.1:{api}"
            operator = re.search(r"/codec/session\s+with this operator token.*\n\s+(\S+)", banner)
            assert operator is not None, banner
            token = operator.group(1)
            assert "Include cross-origin credentials" in banner

            # The UI was started with the codec endpoint; its origin may call it with credentials.
            settings = httpx.get(f"http://127.0.0.1:{ui}/api/v1/settings", timeout=10).json()
            assert settings["Codec"]["Endpoint"] == f"{base}/codec", settings["Codec"]
            origin = f"http://127.0.0.1:{ui}"
            preflight = httpx.options(
                f"{base}/codec/decode",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-namespace",
                },
            )
            assert preflight.status_code == 200, preflight.text
            assert preflight.headers["access-control-allow-origin"] == origin
            assert preflight.headers["access-control-allow-credentials"] == "true"

            # The sign-in page keeps the operator's token in a cookie that the codec endpoint accepts.
            with httpx.Client(base_url=base) as browser:
                signed = browser.post("/codec/session", data={"token": token})
                assert signed.status_code == 200 and "Signed in" in signed.text
                empty = browser.post("/codec/decode", json={"payloads": []}, headers={"X-Namespace": "default"})
                assert empty.status_code == 200, empty.text

            demo = run_demo(data, env, tmp_path)
            assert demo.returncode == 0, demo.stdout + demo.stderr
            order_id = next(line.split()[-1] for line in demo.stdout.splitlines() if line.startswith("order id:"))
            show = [TEMPORAL, "workflow", "show", "-w", f"checkout-{order_id}", "--address", f"127.0.0.1:{tport}"]
            codec = ["--codec-endpoint", f"{base}/codec", "--codec-auth", f"Bearer {token}", "--output", "json"]
            shown = subprocess.run([*show, *codec], capture_output=True, text=True, timeout=60)
            assert shown.returncode == 0, shown.stderr
            started = json.loads(shown.stdout)["events"][0]["workflowExecutionStartedEventAttributes"]
            decoded = json.loads(base64.b64decode(started["input"]["payloads"][0]["data"]))
            assert decoded["order_id"] == order_id

            # Buyers' data on disk: the folder and every file in it, its owner's only.
            assert mode(data) == 0o700
            private = [data / "temporal.db", data / "boxoffice.db", data / "payload_keys", data / "jwt_secret"]
            private += [p for p in (data / "storage").rglob("*") if p.is_file()]
            private += list((data / "outbox").glob("*.eml"))
            assert any(p.suffix == ".pdf" for p in private) and any(p.suffix == ".eml" for p in private)
            wrong = {str(p.relative_to(data)): oct(mode(p)) for p in private if mode(p) & 0o077}
            assert not wrong, wrong
        finally:
            dev.send_signal(signal.SIGTERM)
            dev.wait(timeout=60)
    assert dev.returncode == 0, log_path.read_text()


def wait_for_banner(dev: subprocess.Popen[bytes], log_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while b"Boxoffice is running" not in log_path.read_bytes():
        assert dev.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.25)
