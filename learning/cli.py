"""`academy`: run the whole service (web server, Celery worker and beat) with one command."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
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


def serve(host: str, port: int, workers: int) -> int:
    """Start gunicorn and a Celery worker with its beat, and stop both together."""
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
    processes = [subprocess.Popen(cmd) for cmd in (web, worker)]  # noqa: S603
    print(f"Smart Port Academy is running at http://{host}:{port}/ (Ctrl+C stops it)", flush=True)

    def stop(*_: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    finally:
        stop()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    return max((p.returncode or 0) for p in processes)


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
