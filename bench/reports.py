"""The reports at scale: completion by country and by course against a naive GROUP BY over the raw
lesson-completion rows (same run, median of several runs), and the XLSX export of 100,000 rows.

    python -m bench.reports                     # academy_reports: 100,000 learners (made once, then reused)
    python -m bench.reports --fresh             # drop and make the database again
    python -m bench.reports --learners 20000 --name academy_reports_small

The database is filled by the same generator as `flask demo generate` (learning.reports.demo), with 75 %
of learners consenting to share their progress so that the learner list reaches 100,000 rows. The export is
measured in a child process of its own, so that its peak memory (ru_maxrss) is the export's, not the seed's.
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text

from bench.common import DEFAULT_SERVER_URL, ROOT, bench_app, database_url, local_url
from bench.seed import analyze, create_database, migrate_and_load_content

TARGET_RATIO = 5.0
TARGET_MS = 200.0
EXPORT_ROWS = 100_000
TARGET_EXPORT_S = 30.0
TARGET_EXPORT_MB = 500.0

# What a report would do without completion state kept per enrolment: count each enrolment's completed
# lessons from the raw rows, compare with its version's lessons, and group.
NAIVE = """
WITH done AS (
    SELECT enrolment_id, count(*) AS lessons FROM lesson_completions GROUP BY enrolment_id
), sizes AS (
    SELECT version_id, count(*) AS lessons FROM lessons GROUP BY version_id
)
SELECT {key}, count(*) AS enrolled, count(done.enrolment_id) AS started,
       count(*) FILTER (WHERE done.lessons >= sizes.lessons) AS completed
FROM enrolments e
JOIN users u ON u.id = e.user_id
JOIN sizes ON sizes.version_id = e.version_id
LEFT JOIN done ON done.enrolment_id = e.id
GROUP BY {key}
"""
NAIVE_KEYS = {"country": "u.country", "course": "e.course_id"}


def exists(server_url: str, name: str) -> bool:
    admin = local_url(server_url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def seed(app: Any, learners: int) -> dict[str, Any]:
    from learning.extensions import db
    from learning.reports import demo

    started = time.perf_counter()
    with app.app_context():
        counts = demo.generate(learners, seed=20261124, consent=0.75, force=True, echo=None)
        db.session.commit()
    analyze(app)
    made = {k: v for k, v in vars(counts).items() if k != "tables"}
    made["seconds"] = round(time.perf_counter() - started, 1)
    return made


def table_counts(app: Any) -> dict[str, int]:
    from learning.extensions import db

    with app.app_context():
        return {
            name: int(db.session.scalar(text(f"SELECT count(*) FROM {name}")) or 0)  # noqa: S608 - fixed names
            for name in ("users", "enrolments", "lesson_completions", "module_states", "quiz_attempts")
        }


def timed(call: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    """The median of ``runs`` timings in ms, after one warm-up call."""
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), times


def compare(app: Any, runs: int) -> list[dict[str, Any]]:
    from learning.extensions import db
    from learning.reports import queries
    from learning.reports.filters import Filters

    results = []
    with app.app_context():
        for group in ("country", "course"):
            naive_sql = text(NAIVE.format(key=NAIVE_KEYS[group]))
            # interleaved, so that both see the same machine: naive, report, naive, report ...
            naive_times, report_times = [], []
            db.session.execute(naive_sql).all()
            queries.completion(Filters(), group)
            for _ in range(runs):
                started = time.perf_counter()
                db.session.execute(naive_sql).all()
                naive_times.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
                started = time.perf_counter()
                rows = list(queries.completion(Filters(), group).rows)
                report_times.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
            naive, report = statistics.median(naive_times), statistics.median(report_times)
            results.append({"group_by": group, "rows": len(rows), "naive_ms": round(naive, 1),
                            "report_ms": round(report, 1), "ratio": round(naive / report, 1),
                            "naive_runs": [round(t) for t in naive_times],
                            "report_runs": [round(t) for t in report_times]})  # fmt: skip
    return results


def export_child(url: str, path: str) -> int:
    """Write the learner list (every consenting learner) as XLSX; print time, rows and peak memory."""
    from learning.reports import catalogue
    from learning.reports.exports import XlsxBook
    from learning.reports.filters import Filters

    app = bench_app(url, secrets.token_urlsafe(48))
    with app.app_context():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        table = catalogue.build("learners", Filters())
        book = XlsxBook(path)
        rows = book.sheet(table.title, table.columns, table.rows)
        book.close()
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": round(seconds, 2), "peak_rss_mb": round(peak / 1024, 1),
                      "rss_before_mb": round(before / 1024, 1),
                      "file_mb": round(Path(path).stat().st_size / 2**20, 1)}))  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--server-url", default=DEFAULT_SERVER_URL)
    parser.add_argument("--name", default="academy_reports", help="database to use (made if missing)")
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--fresh", action="store_true", help="drop and make the database again")
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each query (median)")
    parser.add_argument("--export-child", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    url = database_url(args.server_url, args.name)
    if args.export_child:
        return export_child(url, args.export_child)

    secret = secrets.token_urlsafe(48)
    if args.fresh or not exists(args.server_url, args.name):
        print(f"creating database {args.name} with {args.learners:,} learners ...", flush=True)
        url = create_database(args.server_url, args.name)
        app = bench_app(url, secret)
        migrate_and_load_content(app)
        made = seed(app, args.learners)
        print(f"  seeded in {made['seconds']} s", flush=True)
    else:
        app = bench_app(url, secret)
        print(f"reusing database {args.name} (--fresh makes it again)", flush=True)
    counts = table_counts(app)
    print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
    if counts["lesson_completions"] < 1_000_000:
        print("  note: fewer than 1,000,000 lesson completions; raise --learners", flush=True)

    print(f"\ncompletion report vs naive GROUP BY over lesson_completions (median of {args.runs}, ms):")
    results = compare(app, args.runs)
    for r in results:
        verdict_ratio = "PASS" if r["ratio"] >= TARGET_RATIO else "FAIL"
        verdict_ms = "PASS" if r["report_ms"] < TARGET_MS else "FAIL"
        print(f"  by {r['group_by']:<8} rows {r['rows']:>3}  naive {r['naive_ms']:>8.1f} ms  report "
              f"{r['report_ms']:>7.1f} ms  ratio {r['ratio']:>5.1f}x "
              f"({verdict_ratio}, target >= {TARGET_RATIO}x)  "
              f"({verdict_ms}, target < {TARGET_MS:.0f} ms)")  # fmt: skip
        print(f"    runs: naive {r['naive_runs']}, report {r['report_runs']}")

    print("\nXLSX export of the learner list (a child process):")
    with tempfile.TemporaryDirectory(prefix="bench-xlsx-") as folder:
        target = str(Path(folder) / "learners.xlsx")
        child = subprocess.run(
            [sys.executable, "-m", "bench.reports", "--name", args.name, "--server-url", args.server_url,
             "--export-child", target],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
    export = json.loads(child.stdout.strip().splitlines()[-1])
    verdict_s = "PASS" if export["seconds"] < TARGET_EXPORT_S else "FAIL"
    verdict_mb = "PASS" if export["peak_rss_mb"] < TARGET_EXPORT_MB else "FAIL"
    print(f"  {export['rows']:,} rows in {export['seconds']} s "
          f"({verdict_s}, target < {TARGET_EXPORT_S:.0f} s), "
          f"peak memory {export['peak_rss_mb']} MB ({verdict_mb}, target < {TARGET_EXPORT_MB:.0f} MB; "
          f"{export['rss_before_mb']} MB before the export), file {export['file_mb']} MB")  # fmt: skip
    if export["rows"] < EXPORT_ROWS:
        print(f"  note: fewer than {EXPORT_ROWS:,} rows; raise --learners")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
