"""Requests per second of the production server (gunicorn, sync workers) on the seeded PostgreSQL database,
each as a ratio to /healthz measured in the same run, with wrk as the load generator on 127.0.0.1.

    python -m bench.seed               # once: the database and the credentials this reads
    python -m bench.throughput         # 4 sync workers, wrk -t2 -c16, 10 s per run, 5 rounds (~7 minutes)
    python -m bench.throughput --rounds 1 --duration 5 --json bench/.state/throughput.json
    python -m bench.throughput --worker-class gthread --worker-threads 4   # keep-alive, for comparison

Each round measures /healthz before and after every endpoint (healthz, page, healthz, API, healthz, PUT,
healthz), and an endpoint's ratio divides its rate by the mean of the two /healthz runs around it, so that the
drift of a shared machine touches both sides alike. The summary is the median over rounds. The targets are
printed as PASS or FAIL, for reading: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench.common import DEFAULT_DATABASE, ROOT, load_state, local_url

LUA = Path(__file__).resolve().parent / "wrk" / "requests.lua"
HOST = "127.0.0.1"
TARGETS = {"lesson page": 0.3, "lesson API": 0.5}


@dataclass
class Endpoint:
    name: str
    method: str
    example: str  # one path, for the report
    lines: list[str]  # METHOD<TAB>PATH<TAB>headers..., replayed round robin by the wrk script


@dataclass
class Measurement:
    name: str
    round: int
    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    app_cpu_ms: float  # CPU time of the gunicorn processes per request
    db_cpu_ms: float  # CPU time of their PostgreSQL backends per request

    @property
    def cpu_ms(self) -> float:
        return self.app_cpu_ms + self.db_cpu_ms


def endpoints(state: dict[str, Any], seed: int) -> list[Endpoint]:
    """The four requests measured, spread over the seeded learners' sessions and tokens."""
    course, lesson = state["course"], state["page_lesson"]
    page = f"/courses/{course}/lessons/{lesson}"
    api = f"/api/v1/courses/{course}/lessons/{lesson}"
    cookie = state["cookie_name"]
    rng = random.Random(seed)
    # Every (token, lesson) pair once, shuffled: most PUTs record a new completion for some learner; the rest
    # repeat one (an idempotent no-op insert that still locks and recomputes the enrolment).
    pairs = [(token, slug) for token in state["tokens"] for slug in state["lessons"]]
    rng.shuffle(pairs)
    return [
        Endpoint("/healthz", "GET", "/healthz", ["GET\t/healthz"]),
        Endpoint(
            "lesson page",
            "GET",
            page,
            [f"GET\t{page}\tCookie: {cookie}={value}" for value in state["cookies"]],
        ),
        Endpoint(
            "lesson API", "GET", api, [f"GET\t{api}\tAuthorization: Bearer {t}" for t in state["tokens"]]
        ),
        Endpoint(
            "completion PUT",
            "PUT",
            f"/api/v1/courses/{course}/lessons/<lesson>/completion",
            [
                f"PUT\t/api/v1/courses/{course}/lessons/{slug}/completion\tAuthorization: Bearer {token}"
                for token, slug in pairs
            ],
        ),
    ]


# --- the server ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    state: dict[str, Any], port: int, args: argparse.Namespace, log: Path
) -> subprocess.Popen[bytes]:
    """gunicorn with production settings (sync workers unless told otherwise), the seed's signing key and the
    bench database. /healthz and the endpoints run on the same server, so with the same worker class."""
    env = {
        **os.environ,
        "ACADEMY_ENV": "production",
        "SECRET_KEY": state["secret_key"],
        "DATABASE_URL": local_url(state["database_url"]),
    }
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [str(gunicorn), "--workers", str(args.workers), "--worker-class", args.worker_class,
               "--threads", str(args.worker_threads), "--bind", f"{HOST}:{port}",
               "--error-logfile", str(log), "learning.wsgi:app"]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def fetch(port: int, line: str) -> tuple[int, bytes]:
    """Send one request line (as the wrk script would) and return its status and body."""
    method, path, *headers = line.split("\t")
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", method=method)
    for header in headers:
        name, _, value = header.partition(": ")
        request.add_header(name, value)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect to the login page must show as a 302, not as the login page's 200


def wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} before it answered")
        try:
            if fetch(port, "GET\t/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer /healthz within {timeout:.0f} s")


def preflight(port: int, targets: list[Endpoint]) -> None:
    """Check that each endpoint answers 200 with what it should (wrk would count a 302 as a success)."""
    expect = {"/healthz": b'"ok"', "lesson page": b"<article", "lesson API": b'"html"',
              "completion PUT": b'"course_percent"'}  # fmt: skip
    for endpoint in targets:
        for line in (endpoint.lines[0], endpoint.lines[-1]):
            status, body = fetch(port, line)
            if status != 200 or expect[endpoint.name] not in body:
                raise SystemExit(
                    f"{endpoint.name}: {line.split(chr(9))[1]} answered {status}: {body[:300]!r}"
                )


# --- the load ------------------------------------------------------------------------------------------


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of ``pids`` (those that still exist)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / TICK


def server_pids(server: subprocess.Popen[bytes], database_url: str) -> tuple[list[int], list[int]]:
    """The gunicorn processes, and the PostgreSQL backends connected to the bench database."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    with psycopg.connect(plain_url(database_url)) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [server.pid, *map(int, children)], [int(row[0]) for row in rows]


def plain_url(url: str) -> str:
    return local_url(url).replace("postgresql+psycopg://", "postgresql://")


def run_wrk(
    port: int, endpoint: Endpoint, folder: Path, args: argparse.Namespace, seconds: float
) -> dict[str, Any]:
    requests = folder / f"{endpoint.name.replace('/', '').replace(' ', '-')}.tsv"
    if not requests.exists():
        requests.write_text("\n".join(endpoint.lines) + "\n")
    env = {**os.environ, "BENCH_REQUESTS": str(requests), "BENCH_THREADS": str(args.threads)}
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s", "--timeout", "5s",
               "-s", str(LUA), f"http://{HOST}:{port}/"]  # fmt: skip
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return result
    raise SystemExit(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")


def measure(server: subprocess.Popen[bytes], database_url: str, port: int, endpoint: Endpoint, folder: Path,
            args: argparse.Namespace, round_: int) -> Measurement:  # fmt: skip
    """One wrk run, with the CPU time the server and its database backends spent on it."""
    app_pids, db_pids = server_pids(server, database_url)
    app_before, db_before = cpu_seconds(app_pids), cpu_seconds(db_pids)
    raw = run_wrk(port, endpoint, folder, args, args.duration)
    app_cpu, db_cpu = cpu_seconds(app_pids) - app_before, cpu_seconds(db_pids) - db_before
    seconds = raw["duration_us"] / 1e6
    count = max(raw["requests"], 1)
    # Socket read errors are sync workers closing each connection after its response; wrk reconnects.
    errors = raw["status_errors"] + raw["timeouts"] + raw["connect_errors"]
    return Measurement(endpoint.name, round_, raw["requests"], seconds, raw["requests"] / seconds,
                       raw["p50_us"] / 1000, raw["p99_us"] / 1000, errors, 1000 * app_cpu / count,
                       1000 * db_cpu / count)  # fmt: skip


def completions(url: str) -> int:
    with psycopg.connect(plain_url(url)) as conn:
        row = conn.execute("SELECT count(*) FROM lesson_completions").fetchone()
        assert row is not None
        return int(row[0])


def report(results: list[Measurement], targets: list[Endpoint]) -> list[dict[str, Any]]:
    """Print every run, then each endpoint's median rate and ratio to /healthz over the rounds."""
    rows = []
    print()
    print(f"{'endpoint':<16} {'round':>5} {'req/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6} {'app CPU ms/req':>14} {'db CPU ms/req':>13}")  # fmt: skip
    for index, m in enumerate(results):
        # The runs alternate /healthz, endpoint, /healthz, endpoint, ..., /healthz.
        around = (results[index - 1].rate + results[index + 1].rate) / 2 if m.name != "/healthz" else m.rate
        ratio = m.rate / around
        rows.append({**asdict(m), "ratio": ratio, "healthz": around})
        print(f"{m.name:<16} {m.round:>5} {m.rate:>8.1f} {ratio:>6.3f} {m.p50_ms:>7.1f} {m.p99_ms:>7.1f} "
              f"{m.errors:>6} {m.app_cpu_ms:>14.2f} {m.db_cpu_ms:>13.2f}")  # fmt: skip
    rounds = len({m.round for m in results})
    healthz_cpu = statistics.median(m.cpu_ms for m in results if m.name == "/healthz")
    print()
    print(f"median over {rounds} round(s); ratio = req/s over the mean of the /healthz runs just before "
          "and after;")  # fmt: skip
    print("CPU ratio = server CPU (gunicorn + PostgreSQL) per /healthz request over that per request here,")
    print("the ratio a machine with nothing else running would approach if CPU were the only limit")
    print(f"  {'endpoint':<16} {'req/s':>8} {'ratio':>6}  {'target':<14} {'CPU ms/req':>10} {'CPU ratio':>9}")
    for endpoint in targets:
        mine = [r for r in rows if r["name"] == endpoint.name]
        rate = statistics.median(r["rate"] for r in mine)
        cpu = statistics.median(r["app_cpu_ms"] + r["db_cpu_ms"] for r in mine)
        if endpoint.name == "/healthz":
            low, high = min(r["rate"] for r in mine), max(r["rate"] for r in mine)
            print(f"  {endpoint.name:<16} {rate:>8.1f} {1:>6.3f}  {'(baseline)':<14} {cpu:>10.2f} {1:>9.3f}"
                  f"   (/healthz ranged {low:.0f}-{high:.0f} req/s)")  # fmt: skip
            continue
        ratio = statistics.median(r["ratio"] for r in mine)
        target = TARGETS.get(endpoint.name)
        verdict = "-" if target is None else f">= {target:.1f} {'PASS' if ratio >= target else 'FAIL'}"
        print(f"  {endpoint.name:<16} {rate:>8.1f} {ratio:>6.3f}  {verdict:<14} {cpu:>10.2f} "
              f"{healthz_cpu / cpu:>9.3f}")  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--name", default=DEFAULT_DATABASE, help="the seeded database (bench.seed --name)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync",
                        help="gunicorn worker class for the whole run (default sync)")  # fmt: skip
    parser.add_argument("--worker-threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per endpoint (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="repeat the whole sequence (default 5)")
    parser.add_argument("--only", action="append", help="measure only these endpoints besides /healthz")
    parser.add_argument("--json", type=Path, help="also write the measurements to this file")
    parser.add_argument(
        "--seed", type=int, help="order of the PUTs' (learner, lesson) pairs (default: random)"
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    if not 1 <= args.rounds <= 20 or not 1 <= args.duration <= 120:
        raise SystemExit("keep --rounds within 1-20 and --duration within 1-120 s")

    state = load_state(args.name)
    targets = [
        e for e in endpoints(state, args.seed) if e.name == "/healthz" or not args.only or e.name in args.only
    ]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        folder = Path(tmp)
        log = folder / "gunicorn.log"
        workers = f"{args.workers} {args.worker_class} workers"
        if args.worker_class == "gthread":
            workers += f" of {args.worker_threads} threads"
        print(f"gunicorn learning.wsgi:app, {workers}, on {HOST}:{port}, database "
              f"{state['database']}; wrk -t{args.threads} -c{args.connections}, {args.duration:g} s each "
              f"after {args.warmup:g} s of warm-up", flush=True)  # fmt: skip
        for endpoint in targets:
            print(
                f"  {endpoint.name:<16} {endpoint.method} {endpoint.example} ({len(endpoint.lines)} distinct)"
            )
        server = start_server(state, port, args, log)
        results: list[Measurement] = []
        before = completions(state["database_url"])
        try:
            wait_ready(port, server)
            preflight(port, targets)
            for endpoint in targets:
                run_wrk(port, endpoint, folder, args, args.warmup)
            healthz, others = targets[0], targets[1:]
            for round_ in range(1, args.rounds + 1):
                for endpoint in [healthz, *(e for other in others for e in (other, healthz))]:
                    m = measure(server, state["database_url"], port, endpoint, folder, args, round_)
                    print(f"  round {round_}: {m.name:<16} {m.rate:8.1f} req/s", flush=True)
                    results.append(m)
        finally:
            stop_server(server)
            text = log.read_text() if log.exists() else ""
        problems = [line for line in text.splitlines() if "Traceback" in line or "[ERROR]" in line]
        added = completions(state["database_url"]) - before
    rows = report(results, targets)
    put_requests = sum(m.requests for m in results if m.name == "completion PUT")
    if put_requests:
        print(f"  the PUTs recorded {added} new lesson completions ({put_requests} requests measured, "
              "plus the warm-up)")  # fmt: skip
    if problems:
        print(f"  the server logged {len(problems)} errors; first: {problems[0]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        args.json.write_text(json.dumps({"settings": settings, "results": rows}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
