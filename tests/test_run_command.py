"""The README's run command: `academy serve` starts the web server, a Celery worker and beat on the
embedded default (SQLite and kombu's SQLAlchemy transport), starts again a part that dies, and a queued
e-mail is delivered."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest

from learning import cli

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
    # a file, not a pipe: nothing reads a pipe while the test runs, and a full one would stall the service
    log = tmp_path / "serve.log"
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [str(academy), "serve", "--port", str(port), "--workers", "1"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    failure: BaseException | None = None
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
        # the worker crashes: the service starts it again, and the e-mail queued meanwhile still goes out
        children = subprocess.run(
            ["pgrep", "-P", str(process.pid), "-f", "celery"], capture_output=True, text=True, check=True
        ).stdout.split()
        assert len(children) == 1, children
        os.kill(int(children[0]), signal.SIGKILL)
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
        # the reset link's token is kept out of gunicorn's access log
        message = BytesParser(policy=default).parsebytes(files[0].read_bytes())
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        token = re.search(r"/password/reset/(\S+)", text).group(1)
        with urllib.request.urlopen(f"{base}/password/reset/{token}", timeout=10) as response:  # noqa: S310
            assert response.status == 200
        with urllib.request.urlopen(base + "/readyz", timeout=5) as response:  # noqa: S310 (local)
            assert b'"broker": "ok"' in response.read().replace(b'"broker":"ok"', b'"broker": "ok"')
    except BaseException as error:  # noqa: BLE001 (re-raised below with what the service printed)
        failure = error
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        output = log.read_text(errors="replace")
    if failure is not None:
        raise AssertionError(f"{failure!r}; the service printed:\n{output[-6000:]}") from failure
    assert "content: port-digitization-essentials: created version 1" in output, output[-3000:]
    assert '"GET /password/reset/[redacted] HTTP/1.1" 200' in output, output[-3000:]
    assert token not in output
    assert "academy: the worker exited with code -9; starting it again" in output, output[-3000:]
    assert "beat: Starting" in output or "celery beat" in output.lower(), output[-3000:]


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_supervise_starts_again_a_command_that_exits(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    starts = tmp_path / "starts"
    # exits at its first start, runs until stopped at its second
    flaky = python(
        f"import pathlib, time; p = pathlib.Path({str(starts)!r}); "
        "n = len(p.read_text()) if p.exists() else 0; p.write_text('x' * (n + 1)); "
        "time.sleep(0 if n == 0 else 60)"
    )
    steady = python("import time; time.sleep(60)")
    stopping = threading.Event()
    watcher = threading.Thread(
        target=lambda: (
            wait_for(lambda: starts.exists() and len(starts.read_text()) == 2, 30, "the second start"),
            stopping.set(),
        )
    )
    watcher.start()
    assert cli.supervise({"flaky": flaky, "steady": steady}, stopping, poll=0.05) == 0
    watcher.join()
    assert starts.read_text() == "xx"
    assert "academy: the flaky exited with code 0; starting it again" in capsys.readouterr().err


def test_supervise_gives_up_on_a_command_that_keeps_exiting(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    ready, marker = tmp_path / "steady-ready", tmp_path / "steady-stopped"
    steady = python(
        f"import pathlib, signal, sys, time\n"
        f"def stop(*_): pathlib.Path({str(marker)!r}).touch(); sys.exit(0)\n"
        f"signal.signal(signal.SIGTERM, stop)\npathlib.Path({str(ready)!r}).touch()\ntime.sleep(60)"
    )
    # exits only once the other command is ready to notice that it is stopped
    broken = python(
        f"import pathlib, time\nwhile not pathlib.Path({str(ready)!r}).exists(): time.sleep(0.01)\n"
        "raise SystemExit(3)"
    )
    code = cli.supervise({"broken": broken, "steady": steady}, threading.Event(), poll=0.05)
    assert code == 3
    assert marker.exists()  # the other command was stopped with it
    err = capsys.readouterr().err
    assert err.count("academy: the broken exited with code 3; starting it again") == cli.MAX_RESTARTS
    assert f"the broken exited {cli.MAX_RESTARTS + 1} times within 60 s (last exit code 3)" in err
