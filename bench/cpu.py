"""CPU time per request inside one application process (Flask's test client, no HTTP, no gunicorn), on the
seeded database: /healthz, the lesson page and the lesson API, in alternating batches.

    python -m bench.cpu                       # 9 batches of 200 requests each, medians printed
    python -m bench.cpu --profile page        # also a cProfile of 2,000 lesson-page requests, top 30
    python -m bench.cpu --statements          # also the SQL statements of one request of each

It measures only this process's CPU (time.process_time), not PostgreSQL's; bench.throughput measures both
under load. The figures depend much less on what else the machine does than requests per second do, which
makes this the quick way to see whether a change to learning/ helped. The batches alternate so that a
machine that slows down touches every request kind alike; the medians are over batches.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event

from bench.common import DEFAULT_DATABASE, bench_app, load_state, local_url


def requests(state: dict[str, Any], client: FlaskClient) -> dict[str, Callable[[int], Any]]:
    """One callable per request kind; the index picks the learner's cookie or token round robin."""
    course, lesson = state["course"], state["page_lesson"]
    page, api = f"/courses/{course}/lessons/{lesson}", f"/api/v1/courses/{course}/lessons/{lesson}"
    cookies, tokens, name = state["cookies"], state["tokens"], state["cookie_name"]

    def healthz(_index: int) -> Any:
        return client.get("/healthz")

    def lesson_page(index: int) -> Any:
        return client.get(page, headers={"Cookie": f"{name}={cookies[index % len(cookies)]}"})

    def lesson_api(index: int) -> Any:
        return client.get(api, headers={"Authorization": f"Bearer {tokens[index % len(tokens)]}"})

    return {"healthz": healthz, "page": lesson_page, "api": lesson_api}


def check(kinds: dict[str, Callable[[int], Any]]) -> None:
    expect = {"healthz": b'"ok"', "page": b"<article", "api": b'"html"'}
    for kind, call in kinds.items():
        response = call(0)
        if response.status_code != 200 or expect[kind] not in response.data:
            raise SystemExit(f"{kind} answered {response.status_code}: {response.data[:300]!r}")


def batch(call: Callable[[int], Any], size: int) -> float:
    """Milliseconds of this process's CPU per request over ``size`` requests."""
    start = time.process_time()
    for index in range(size):
        call(index)
    return 1000 * (time.process_time() - start) / size


def statements(app: Any, call: Callable[[int], Any]) -> list[str]:
    from learning.extensions import db

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split())[:150])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        call(0)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--name", default=DEFAULT_DATABASE, help="the seeded database (bench.seed --name)")
    parser.add_argument("--batches", type=int, default=9)
    parser.add_argument("--size", type=int, default=200, help="requests per batch")
    parser.add_argument("--profile", choices=["healthz", "page", "api"], help="cProfile this request kind")
    parser.add_argument("--statements", action="store_true", help="print the statements of each kind")
    args = parser.parse_args(argv)

    state = load_state(args.name)
    app = bench_app(local_url(state["database_url"]), state["secret_key"])
    client = app.test_client(use_cookies=False)  # each request carries its own cookie header
    client.environ_base["wsgi.url_scheme"] = "https"
    kinds = requests(state, client)
    check(kinds)
    for call in kinds.values():
        batch(call, 50)  # warm caches and the pool
    if args.statements:
        for kind, call in kinds.items():
            found = statements(app, call)
            print(f"{kind}: {len(found)} statements")
            for statement in found:
                print(f"    {statement}")
    results: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.batches):
        for kind, call in kinds.items():
            results[kind].append(batch(call, args.size))
    base = statistics.median(results["healthz"])
    print(f"CPU ms per request in one process, median of {args.batches} batches of {args.size}:")
    for kind, values in results.items():
        median = statistics.median(values)
        print(f"  {kind:<8} {median:6.3f} ms  (range {min(values):.3f}-{max(values):.3f}; "
              f"healthz/this {base / median:.3f})")  # fmt: skip
    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting for PostgreSQL
        call = kinds[args.profile]
        profiler.enable()
        for index in range(2000):
            call(index)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
