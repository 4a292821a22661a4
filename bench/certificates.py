"""Certificates per second through the real Celery worker, as a ratio to the bare renderer in the same run.

    .venv/bin/python -m bench.certificates [--count 1000] [--concurrency 2] [--batch-size 50]
        [--broker redis://127.0.0.1:6379/15]
        [--server-url postgresql://postgres@127.0.0.1:5432/postgres | --sqlite] [--pin] [--aiosmtpd]

The baseline renders the same certificates with `render_certificate` alone, in as many processes as the
worker has, before and after the worker's run. The measured run makes completed enrolments in a fresh
database (migrated, with content/ loaded), starts `celery -A worker.app worker` and pauses it (SIGSTOP),
calls the completion listener for each enrolment as the completions' commits do (a burst queues one issuing
task; each task takes up to --batch-size completions and queues the next while it renders), resumes the
worker and starts the clock, and waits until every certificate is issued, signed, rendered, stored and
e-mailed (to a local SMTP server: SinkProtocol below, or aiosmtpd with --aiosmtpd). Its tasks use a queue
of their own, so a shared broker is fine.

--pin gives the worker (and the bare renderer) the first core alone, and PostgreSQL, Redis and this
process (the SMTP server) the other, as where the database and the mail server run on other machines
than the workers; without it everything shares every core (Linux only; as root, to move PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, insert, select

from bench.common import LOCAL_HOSTS, ROOT, bench_app
from bench.seed import create_database, migrate_and_load_content

NAMES = [entry["name"] for entry in json.loads((ROOT / "docs" / "certificates" / "names.json").read_text())]
_app: Flask | None = None  # the baseline's app, inherited by forked processes


class Counting:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        self.received += 1
        return "250 OK"


class SinkProtocol(asyncio.Protocol):
    """The server side of one SMTP connection that accepts and drops every message: the commands the
    worker sends (EHLO, MAIL, RCPT, DATA, NOOP, RSET, QUIT) and nothing more. A mail relay on another
    machine does this part in production; aiosmtpd spends about a millisecond of the shared cores a message
    parsing it, which this takes off the figures (--aiosmtpd keeps it)."""

    def __init__(self, inbox: Counting) -> None:
        self.inbox = inbox
        self.buffer = b""
        self.in_data = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(b"220 127.0.0.1 ESMTP sink\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                self.buffer = self.buffer[end + 5 :]
                self.in_data = False
                self.inbox.received += 1
                self.transport.write(b"250 OK\r\n")
                continue
            line, found, rest = self.buffer.partition(b"\r\n")
            if not found:
                return
            self.buffer = rest
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.transport.write(b"250-127.0.0.1\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb == b"DATA":
                self.in_data = True
                self.buffer = b"\r\n" + self.buffer  # the terminator may follow at once
                self.transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 Bye\r\n")
                self.transport.close()
                return
            else:  # HELO, MAIL, RCPT, NOOP, RSET
                self.transport.write(b"250 OK\r\n")


class Sink:
    """SinkProtocol on a port of its own, in a thread of this process (aiosmtpd's Controller's interface)."""

    def __init__(self, inbox: Counting, port: int) -> None:
        self.inbox, self.port = inbox, port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="smtp-sink", daemon=True)

    def start(self) -> None:
        self.thread.start()
        create = self.loop.create_server(lambda: SinkProtocol(self.inbox), "127.0.0.1", self.port)
        self.server = asyncio.run_coroutine_threadsafe(create, self.loop).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def sample_content(number: int) -> Any:
    from learning.certificates.pdf import CertificateContent

    moment = datetime.now(UTC)
    return CertificateContent(
        holder_name=NAMES[number % len(NAMES)],
        course_title="Smart port transition: policy and practice",
        hours=12,
        completed_at=moment,
        issued_at=moment,
        serial=f"SPA-BENC-H000-{number:04d}",
        verify_url=f"http://127.0.0.1:8000/verify/{secrets.token_urlsafe(24)}",
        issuer_name="ESCAP capacity-building programme",
    )


def render_range(numbers: range) -> int:
    from learning.certificates.pdf import render_certificate

    assert _app is not None
    with _app.app_context():
        for number in numbers:
            render_certificate(sample_content(number))
    return len(numbers)


def render_cpu(numbers: range) -> float:
    """CPU seconds this process spends rendering ``numbers``."""
    started = time.process_time()
    render_range(numbers)
    return time.process_time() - started


def pin(pids: list[int], cpus: set[int]) -> None:
    """Run every thread of these processes on ``cpus`` only."""
    for pid in pids:
        for thread in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(int(thread.name), cpus)


def tree(pid: int) -> list[int]:
    """A process and its descendants (Linux /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(each for child in children for each in tree(int(child)))]


def services() -> list[int]:
    """The processes of PostgreSQL and Redis on this machine."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() in ("postgres", "redis-server"):
                    found.append(int(entry.name))
    return found


def bare_renderer(count: int, processes: int, cpus: set[int] | None = None) -> tuple[float, float]:
    """Certificates per second of the renderer alone in ``processes`` forked processes (on ``cpus``),
    and its CPU milliseconds per certificate."""
    render_range(range(len(NAMES)))  # load every font in this process first, as a warm worker has
    chunks = [range(start, count, processes) for start in range(processes)]
    started = time.perf_counter()
    initializer = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    with ProcessPoolExecutor(processes, initializer=initializer) as pool:
        cpu = sum(pool.map(render_cpu, chunks))
    return count / (time.perf_counter() - started), 1000 * cpu / count


def cpu_of(pid: int) -> float:
    """CPU seconds used so far by a process (Linux /proc); 0 for one that has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by a process and by its live children."""
    children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return cpu_of(pid), sum(cpu_of(child) for child in children)


def services_cpu() -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL and Redis process."""
    return {pid: cpu_of(pid) for pid in services()}


def since(before: dict[int, float]) -> float:
    """CPU seconds the PostgreSQL and Redis processes used since ``before`` (backends started since
    count whole; those that started and ended in between are missed)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in services_cpu().items())


def add_completions(app: Flask, count: int) -> list[int]:
    """``count`` learners who completed the course (as recompute leaves them); returns enrolment ids."""
    from learning.auth.models import User, UserRole
    from learning.catalog.models import Course
    from learning.extensions import db
    from learning.progress.models import Enrolment

    now = datetime.now(UTC)
    with app.app_context():
        course = db.session.scalars(select(Course).order_by(Course.id)).first()
        assert course is not None
        assert course.current_version_id is not None
        users = [
            {"email": f"bench-{n}@example.org", "full_name": NAMES[n % len(NAMES)], "country": "TH",
             "organisation_type": "other", "language": "en", "timezone": "UTC", "created_at": now}
            for n in range(count)
        ]  # fmt: skip
        ids = list(db.session.scalars(insert(User).returning(User.id), users))
        db.session.execute(insert(UserRole), [{"user_id": i, "role": "learner"} for i in ids])
        enrolments = [
            {"user_id": i, "course_id": course.id, "version_id": course.current_version_id,
             "status": "active", "enrolled_at": now, "started_at": now, "halfway_at": now,
             "completed_at": now, "completed_version_id": course.current_version_id,
             "last_activity_at": now, "percent": 100}
            for i in ids
        ]  # fmt: skip
        enrolment_ids = list(db.session.scalars(insert(Enrolment).returning(Enrolment.id), enrolments))
        db.session.commit()
        db.session.remove()
    return enrolment_ids


def progress_of(app: Flask) -> tuple[int, int]:
    from learning.certificates.models import Certificate
    from learning.extensions import db

    with app.app_context():
        rendered, emailed = db.session.execute(
            select(func.count(Certificate.pdf_key), func.count(Certificate.email_sent_at))
        ).one()
        db.session.remove()
    return int(rendered), int(emailed)


def main(argv: list[str] | None = None) -> int:
    global _app
    parser = argparse.ArgumentParser(prog="python -m bench.certificates", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=50, help="CERTIFICATE_BATCH_SIZE of the worker")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--name", default="academy_bench_certificates")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument(
        "--pin", action="store_true", help="the worker on one core, the services on the other"
    )
    parser.add_argument("--aiosmtpd", action="store_true", help="aiosmtpd as the SMTP server, not the sink")
    args = parser.parse_args(argv)
    everywhere = os.sched_getaffinity(0)
    worker_cpus, service_cpus = (
        ({min(everywhere)}, everywhere - {min(everywhere)}) if args.pin else (None, None)
    )
    if args.pin and not service_cpus:
        raise SystemExit("--pin needs two cores")
    if urlsplit(args.broker).hostname not in LOCAL_HOSTS:
        raise SystemExit("the benchmark only talks to a broker on this machine")

    from learning.certificates.keys import new_key_line
    from tests.fixtures.smtp import _free_port as free_port
    from tests.fixtures.worker import WorkerProcess, new_queue, wait_for, worker_environment

    folder = Path(tempfile.mkdtemp(prefix="bench-certificates-"))
    url = f"sqlite:///{folder / 'academy.db'}" if args.sqlite else create_database(args.server_url, args.name)
    inbox = Counting()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port) if args.aiosmtpd else Sink(inbox, port)
    smtp.start()
    secret = secrets.token_urlsafe(48)
    app = bench_app(
        url,
        secret,
        CELERY={"broker_url": args.broker, "task_always_eager": False, **_celery_defaults(folder)},
        CERTIFICATE_SIGNING_KEY=new_key_line("bench"),
        STORAGE_PATH=str(folder / "storage"),
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_FILE_PATH=str(folder / "mail"),
        BASE_URL="http://127.0.0.1:8000",
        CELERY_DEFAULT_QUEUE=new_queue(),
    )
    _app = app
    print(f"database {url.split('@')[-1]}, broker {args.broker}, {args.count} certificates, "
          f"{args.concurrency} processes, batches of up to {args.batch_size}", flush=True)  # fmt: skip
    migrate_and_load_content(app)
    if service_cpus:
        pin([*services(), os.getpid()], service_cpus)
        print(f"pinned: the worker and the bare renderer on CPU {sorted(worker_cpus or ())}, PostgreSQL, "
              f"Redis and the SMTP server on CPU {sorted(service_cpus)}", flush=True)  # fmt: skip
    before, cpu_before = bare_renderer(args.count, args.concurrency, worker_cpus)
    print(f"bare renderer (before): {before:.1f} certificates/s, {cpu_before:.1f} ms CPU each", flush=True)

    enrolment_ids = add_completions(app, args.count)
    env = worker_environment(app, args.broker, ACADEMY_ENV="production", SECRET_KEY=secret,
                             CERTIFICATE_SIGNING_KEY=app.config["CERTIFICATE_SIGNING_KEY"],
                             CERTIFICATE_SWEEP_SECONDS="3600", CERTIFICATE_EMAIL_LEASE="600",
                             REDIS_VISIBILITY_TIMEOUT="7200",
                             CERTIFICATE_BATCH_SIZE=str(args.batch_size))  # fmt: skip
    worker = WorkerProcess(env, folder, concurrency=args.concurrency)
    worker.start()
    if worker_cpus:
        assert worker.process is not None
        pin(tree(worker.process.pid), worker_cpus)
    try:
        from learning.certificates import enqueue_issue

        assert worker.process is not None
        worker.pause()  # the completions' tasks are queued first: the clock runs for the worker alone
        with app.app_context():
            publishing = time.perf_counter()
            for enrolment_id in enrolment_ids:
                enqueue_issue(enrolment_id)  # what each completion does after its commit
        published = time.perf_counter() - publishing
        main_started, pool_started = tree_cpu(worker.process.pid)
        services_started, own_started = services_cpu(), time.process_time()
        started = time.perf_counter()
        worker.resume()
        wait_for(lambda: progress_of(app)[0] == args.count, 3600, "every certificate rendered", 0.05)
        rendered_at = time.perf_counter() - started
        wait_for(lambda: progress_of(app)[1] == args.count, 3600, "every e-mail sent", 0.05)
        emailed_at = time.perf_counter() - started
        main_cpu, pool_cpu = tree_cpu(worker.process.pid)
        services_ms = 1000 * since(services_started) / args.count
        own_ms = 1000 * (time.process_time() - own_started) / args.count
        main_ms = 1000 * (main_cpu - main_started) / args.count
        pool_ms = 1000 * (pool_cpu - pool_started) / args.count
        worker_cpu = main_ms + pool_ms
    finally:
        worker.stop()
        app.extensions["celery"].close()
    after, cpu_after = bare_renderer(args.count, args.concurrency, worker_cpus)
    smtp.stop()
    if service_cpus:
        pin([*services(), os.getpid()], everywhere)
    baseline = (before + after) / 2
    issued_rate, full_rate = args.count / rendered_at, args.count / emailed_at
    print(f"bare renderer (after):  {after:.1f} certificates/s, {cpu_after:.1f} ms CPU each")
    load = os.getloadavg()
    print(
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores "
        "(other work on the machine skews every figure)"
    )
    print(f"{args.count} completions queued their tasks in {published:.2f} s, the worker paused")
    print(f"worker, issued and rendered:          {issued_rate:.1f} certificates/s ({rendered_at:.1f} s)")
    print(f"worker, issued, rendered and e-mailed: {full_rate:.1f} certificates/s ({emailed_at:.1f} s), "
          f"{inbox.received} e-mails received")  # fmt: skip
    print(f"ratio to the bare renderer ({baseline:.1f}/s): {full_rate / baseline:.2f} with the e-mail, "
          f"{issued_rate / baseline:.2f} to the rendered PDF (target 0.7)")  # fmt: skip
    render_ms = (cpu_before + cpu_after) / 2
    cores_ms = len(everywhere) * 1000 * emailed_at / args.count
    print(f"CPU per certificate: worker processes {worker_cpu:.1f} ms (main process {main_ms:.1f}, pool and "
          f"beat {pool_ms:.1f}; database, broker and mail server not counted), renderer {render_ms:.1f} ms: "
          f"ratio {render_ms / worker_cpu:.2f}")  # fmt: skip
    print(f"CPU per certificate elsewhere: PostgreSQL and Redis {services_ms:.1f} ms, this process (the SMTP "
          f"server, publishing, polling) {own_ms:.1f} ms, out of {cores_ms:.1f} ms of the "
          f"{len(everywhere)} cores' time")  # fmt: skip
    return 0


def _celery_defaults(folder: Path) -> dict[str, Any]:
    from learning.config import defaults

    return {
        k: v
        for k, v in defaults(str(folder))["CELERY"].items()
        if k not in ("broker_url", "task_always_eager")
    }


if __name__ == "__main__":
    raise SystemExit(main())
