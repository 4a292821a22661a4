"""`academy`: run the whole service (web server, Celery worker and beat) with one command."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from learning import create_app


def prepare() -> None:
    """Upgrade the database and load the course material."""
    from flask_migrate import upgrade

    from learning.content.spec import read_content
    from learning.content.sync import sync_course
    from learning.extensions import db

    app = create_app()
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        courses, problems = read_content(Path(app.config["CONTENT_PATH"]))
        if problems:
            for problem in problems:
                print(problem, file=sys.stderr)
            raise SystemExit(
                "The course material has problems; fix them (flask content validate) and start again."
            )
        for course in courses:
            result = sync_course(course)
            db.session.commit()
            print(f"content: {result}")


# A child that exits this many times within RESTART_WINDOW seconds is not started again: something is wrong
# that restarting does not mend (a port taken, a broken setting), and the whole service stops with its code.
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0


def serve(host: str, port: int, workers: int) -> int:
    """Start gunicorn and a Celery worker with its beat, keep both running, and stop both together."""
    prepare()
    bin_dir = Path(sys.executable).parent
    web = [
        str(bin_dir / "gunicorn"),
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        "--logger-class",
        "learning.security.access_log.AccessLogger",
        "learning.wsgi:app",
    ]
    worker = [
        str(bin_dir / "celery"),
        "-A",
        "worker.app",
        "worker",
        "--beat",
        "--loglevel",
        "INFO",
        "--concurrency",
        "2",
    ]
    stopping = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"Smart Port Academy is running at http://{host}:{port}/ (Ctrl+C stops it)", flush=True)
    return supervise({"web server": web, "worker": worker}, stopping)


def supervise(commands: dict[str, list[str]], stopping: threading.Event, poll: float = 0.5) -> int:
    """Run each command, start again one that exits (a crashed worker, a web server killed for memory), and
    stop them all when ``stopping`` is set or one keeps exiting. Return 0 after a requested stop, else the
    exit code of the command that kept exiting."""
    processes = {name: subprocess.Popen(command) for name, command in commands.items()}  # noqa: S603
    exits: dict[str, list[float]] = {name: [] for name in commands}
    try:
        while not stopping.wait(poll):
            for name, process in processes.items():
                code = process.poll()
                if code is None or stopping.is_set():
                    continue
                now = time.monotonic()
                exits[name] = [t for t in exits[name] if now - t < RESTART_WINDOW] + [now]
                if len(exits[name]) > MAX_RESTARTS:
                    print(
                        f"academy: the {name} exited {len(exits[name])} times within {RESTART_WINDOW:.0f} s "
                        f"(last exit code {code}); stopping the service",
                        file=sys.stderr,
                        flush=True,
                    )
                    return code or 1
                print(
                    f"academy: the {name} exited with code {code}; starting it again",
                    file=sys.stderr,
                    flush=True,
                )
                processes[name] = subprocess.Popen(commands[name])  # noqa: S603
        return 0
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main(argv: list[str] | None = None) -> int:
    from learning.config import server_settings

    defaults = server_settings()
    parser = argparse.ArgumentParser(prog="academy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="prepare the database and run web server, worker and beat")
    run.add_argument("--host", default=defaults["host"])
    run.add_argument("--port", type=int, default=defaults["port"])
    run.add_argument("--workers", type=int, default=defaults["workers"])
    commands.add_parser("prepare", help="upgrade the database and load content/ (then exit)")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare()
        return 0
    return serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    raise SystemExit(main())
