"""The README's run command: `academy serve` starts the web server, a Celery worker and beat on the
embedded default (SQLite and kombu's SQLAlchemy transport), and a queued e-mail is delivered."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_rollback
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check, timeout: float, what: str):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_academy_serve_runs_web_worker_and_beat(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ACADEMY_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'academy.db'}",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        "MAIL_BACKEND": "file",
        "MAIL_FILE_PATH": str(tmp_path / "mail"),
        "SECRET_KEY": "a-secret-key-for-the-run-command-test-0123456789",
        "BASE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("TEST_DATABASE_URL", None)
    academy = Path(sys.executable).parent / "academy"
    process = subprocess.Popen(
        [str(academy), "serve", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as response:  # noqa: S310 (local)
                    return response.status == 200
            except OSError:
                return False

        wait_for(healthy, 90, "the web server")
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(base + "/") as response:
            assert "Port digitization essentials" in response.read().decode()
        with opener.open(base + "/password/forgot") as response:
            token = re.search(
                r'name="csrf_token" type="hidden" value="([^"]+)"', response.read().decode()
            ).group(1)
        # an account to reset, made through the CLI as an administrator would
        subprocess.run(
            [
                str(Path(sys.executable).parent / "flask"),
                "--app",
                "learning",
                "users",
                "create",
                "official@example.org",
                "--name",
                "Official",
                "--password-stdin",
            ],
            input="a long passphrase for the test\n",
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        )
        data = urllib.parse.urlencode({"csrf_token": token, "email": "official@example.org"}).encode()
        with opener.open(base + "/password/forgot", data=data) as response:
            assert response.status == 200  # followed the redirect to the sign-in page
        mail = tmp_path / "mail"
        files = wait_for(
            lambda: list(mail.glob("*.eml")) if mail.exists() else [], 180, "the worker to send the e-mail"
        )
        assert b"official@example.org" in files[0].read_bytes()
        with urllib.request.urlopen(base + "/readyz", timeout=5) as response:  # noqa: S310 (local)
            assert b'"broker": "ok"' in response.read().replace(b'"broker":"ok"', b'"broker": "ok"')
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            output = process.communicate(timeout=30)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output = process.communicate()[0].decode(errors="replace")
    assert "content: port-digitization-essentials: created version 1" in output, output[-3000:]
    assert "beat: Starting" in output or "celery beat" in output.lower(), output[-3000:]
