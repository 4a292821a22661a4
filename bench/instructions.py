"""Instructions per request inside one application process, counted by valgrind's callgrind: /healthz, the
lesson page and the lesson API on the seeded database (bench.seed), as in bench.cpu but exact.

    python -m bench.instructions                 # 100 requests of each kind (about 5 minutes under valgrind)
    python -m bench.instructions --requests 300

CPU time per request moves by a factor of two on these shared machines; an instruction count does not move
at all from one run to the next, so it tells whether a change to learning/ helped, and by how much, even while
other work keeps the cores busy. It counts this process only (not PostgreSQL, not gunicorn's HTTP work) and
weighs every instruction alike (a cache miss costs more than an add), so it complements bench.cpu and
bench.throughput rather than replacing them. Needs `valgrind` (apt-get install -y valgrind).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import DEFAULT_DATABASE, bench_app, load_state, local_url

KINDS = ("healthz", "page", "api")


def child(name: str, count: int) -> None:
    """Under callgrind: warm up, then zero the counters before each kind and dump them after it."""
    from bench.cpu import check, requests

    state = load_state(name)
    app = bench_app(local_url(state["database_url"]), state["secret_key"])
    client = app.test_client(use_cookies=False)
    client.environ_base["wsgi.url_scheme"] = "https"
    kinds = requests(state, client)
    check(kinds)
    for call in kinds.values():
        for index in range(30):  # the caches, the pool, psycopg's prepared statements
            call(index)
    pid = str(os.getpid())
    for kind, call in kinds.items():
        subprocess.run(["callgrind_control", "--zero", pid], check=True, capture_output=True)
        for index in range(count):
            call(index)
        subprocess.run(["callgrind_control", f"--dump={kind}", pid], check=True, capture_output=True)


def counts(folder: Path) -> dict[str, int]:
    """The instructions of each dump callgrind wrote (its "summary" line), by the dump's name."""
    found = {}
    for path in folder.glob("callgrind.*.*"):
        lines = path.read_text().splitlines()
        kind = next((line.split()[-1] for line in lines if line.startswith("desc: Trigger")), None)
        summary = next((int(line.split()[1]) for line in lines if line.startswith("summary:")), None)
        if kind in KINDS and summary is not None:
            found[kind] = summary
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--name", default=DEFAULT_DATABASE, help="the seeded database (bench.seed --name)")
    parser.add_argument("--requests", type=int, default=100, help="requests of each kind (default 100)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.name, args.requests)
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is missing: apt-get install -y valgrind")
    load_state(args.name)  # fail early, outside valgrind, when the seed has not run
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        folder = Path(tmp)
        command = ["valgrind", "--tool=callgrind", "--collect-atstart=yes",
                   f"--callgrind-out-file={folder}/callgrind.%p", sys.executable, "-m", "bench.instructions",
                   "--child", "--name", args.name, "--requests", str(args.requests)]  # fmt: skip
        print(f"running {args.requests} requests of each kind under callgrind (minutes) ...", flush=True)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the run under valgrind failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        found = counts(folder)
    if set(found) != set(KINDS):
        raise SystemExit(f"callgrind dumps missing: found {sorted(found)}")
    per_request = {kind: found[kind] / args.requests for kind in KINDS}
    print("instructions per request in one process:")
    for kind in KINDS:
        ratio = per_request["healthz"] / per_request[kind]
        print(f"  {kind:<8} {per_request[kind] / 1e6:7.3f} M   (healthz/this {ratio:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
