"""Reminders benchmark: the scan over many enrolled learners on PostgreSQL, and e-mails per second.

    .venv/bin/python bench/reminders.py [--learners 100000] [--emails 1000] \
        [--database postgresql://postgres@127.0.0.1:5432/test]

It creates a database of its own next to the given one (dropped at the end), seeds it with bulk
INSERT ... SELECT statements, and prints:
- the scan at 10 % of the learners and at all of them: seconds and SQL statements (the statement count
  must not grow with the learners), then the same scan again (everything already decided);
- e-mails per second to a local aiosmtpd (a separate process): one connection reused for all
  messages, against a new connection per message, and the whole delivery path (claim, render, send,
  record) reusing one connection.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from learning import create_app  # noqa: E402
from learning.content.spec import read_content  # noqa: E402
from learning.content.sync import sync_course  # noqa: E402
from learning.extensions import db  # noqa: E402
from learning.mail import build_message, send_messages  # noqa: E402
from learning.reminders import compose, delivery, services  # noqa: E402
from learning.reminders.models import ReminderBundle, ReminderSending  # noqa: E402

AS_OF = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 08:30 to 10:30 from UTC+7 to UTC+9
# Most learners where it is morning at AS_OF, the rest elsewhere in the region.
MORNING_ZONES = [
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Ho_Chi_Minh",
    "Asia/Manila",
    "Asia/Kuala_Lumpur",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Seoul",
]
OTHER_ZONES = ["Europe/Istanbul", "Asia/Kolkata", "Pacific/Kiritimati", "Pacific/Honolulu", "Pacific/Fiji"]
ZONES = MORNING_ZONES * 4 + OTHER_ZONES  # 36 of 41 learners are in their morning


@contextmanager
def bench_database(base: str) -> Iterator[str]:
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"academy_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(first: int, last: int, course_id: int, version_id: int, cohort_id: int) -> None:
    """Learners first..last (1-based): a user, an enrolment idle for 0-29 days, a quiz failed twice
    for one in ten, membership of a cohort due in 7 days for one in five."""
    params = {
        "first": first,
        "last": last,
        "as_of": AS_OF,
        "course": course_id,
        "version": version_id,
        "zones": ZONES,
        "cohort": cohort_id,
    }
    db.session.execute(
        text(
            "INSERT INTO users (email, full_name, organisation_type, language, timezone, active, "
            "failed_logins, created_at) "
            "SELECT 'learner' || n || '@example.org', 'Learner ' || n, 'port_authority', 'en', "
            "(CAST(:zones AS varchar[]))[1 + n % cardinality(CAST(:zones AS varchar[]))], true, 0, :as_of "
            "FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS n"
        ),
        params,
    )
    db.session.execute(
        text(
            "INSERT INTO enrolments (user_id, course_id, version_id, status, enrolled_at, "
            "last_activity_at, percent) "
            "SELECT u.id, :course, :version, 'active', :as_of - interval '40 days', "
            "CASE WHEN n % 10 = 0 THEN NULL ELSE :as_of - (n % 30) * interval '1 day' END, n % 100 "
            "FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS n "
            "JOIN users u ON u.email = 'learner' || n || '@example.org'"
        ),
        params,
    )
    db.session.execute(
        text(
            "INSERT INTO module_states (enrolment_id, module_slug, best_score, attempts, "
            "failed_attempts, last_attempt_at) "
            "SELECT e.id, 'first-steps', 40, 2, 2, :as_of - interval '3 days' "
            "FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS n "
            "JOIN users u ON u.email = 'learner' || n || '@example.org' "
            "JOIN enrolments e ON e.user_id = u.id WHERE n % 10 = 3"
        ),
        params,
    )
    db.session.execute(
        text(
            "INSERT INTO cohort_members (cohort_id, user_id, created_at) "
            "SELECT :cohort, u.id, :as_of "
            "FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS n "
            "JOIN users u ON u.email = 'learner' || n || '@example.org' WHERE n % 5 = 0"
        ),
        params,
    )
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


class QueryCounter:
    def __init__(self, engine: Any) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args: Any) -> None:
        self.count += 1


def timed_scan(counter: QueryCounter, as_of: datetime) -> tuple[float, int, services.ScanResult]:
    counter.count = 0
    start = time.perf_counter()
    result = services.scan(as_of)
    db.session.commit()
    return time.perf_counter() - start, counter.count, result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_sink() -> Iterator[int]:
    """aiosmtpd in its own process, accepting and dropping every message."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"]
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--emails", type=int, default=1_000)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    with bench_database(args.database) as url:
        app = create_app(
            {
                "ACADEMY_ENV": "testing",
                "SECRET_KEY": "bench-secret-key-that-is-long-enough-for-the-checks",
                "SQLALCHEMY_DATABASE_URI": url,
                "CONTENT_PATH": str(ROOT / "tests" / "fixtures" / "content"),
                "BASE_URL": "https://academy.example.org",
            }
        )
        with app.app_context():
            db.create_all()
            courses, problems = read_content(ROOT / "tests" / "fixtures" / "content")
            assert not problems, problems
            for course in courses:
                sync_course(course)
            db.session.commit()
            course_id, version_id = db.session.execute(
                text("SELECT id, current_version_id FROM courses WHERE slug = 'harbour-basics'")
            ).one()
            cohort_id = db.session.scalar(
                text(
                    "INSERT INTO cohorts (course_id, name, starts_on, due_on, created_at) "
                    "VALUES (:course, 'Bench cohort', :starts, :due, :now) RETURNING id"
                ),
                {
                    "course": course_id,
                    "starts": (AS_OF - timedelta(days=60)).date(),
                    "due": (AS_OF + timedelta(days=7)).date(),
                    "now": AS_OF,
                },
            )
            db.session.commit()
            counter = QueryCounter(db.engine)
            tenth = args.learners // 10

            print(f"Reminder scan on PostgreSQL ({url.rsplit('/', 1)[-1]}), as of {AS_OF.isoformat()}")
            start = time.perf_counter()
            seed(1, tenth, course_id, version_id, cohort_id)
            print(f"  seeded {tenth:,} learners in {time.perf_counter() - start:.1f} s")
            small = timed_scan(counter, AS_OF - timedelta(days=1))
            start = time.perf_counter()
            seed(tenth + 1, args.learners, course_id, version_id, cohort_id)
            print(f"  seeded {args.learners - tenth:,} more in {time.perf_counter() - start:.1f} s")
            full = timed_scan(counter, AS_OF)
            again = timed_scan(counter, AS_OF + timedelta(minutes=15))
            print(f"  {'run':<44} {'seconds':>8} {'statements':>11} {'decided':>9} {'e-mails':>8}")
            for label, (seconds, statements, result) in (
                (f"scan, {tenth:,} learners (day before)", small),
                (f"scan, {args.learners:,} learners", full),
                (f"scan again 15 min later, {args.learners:,} learners", again),
            ):
                decided = sum(result.decided.values())
                print(f"  {label:<44} {seconds:>8.2f} {statements:>11} {decided:>9,} {result.bundles:>8,}")
            print(f"  decided by rule at {args.learners:,}: {full[2].decided}")
            print(f"  statements at {args.learners:,} / at {tenth:,}: {full[1] / small[1]:.2f}")
            total = db.session.scalar(select(func.count()).select_from(ReminderSending))
            print(f"  reminders recorded: {total:,}; target: under 30 s -> {full[0]:.2f} s")

            ids = list(
                db.session.scalars(
                    select(ReminderBundle.id)
                    .where(ReminderBundle.local_date == AS_OF.date())
                    .order_by(ReminderBundle.id)
                    .limit(3 * args.emails)
                )
            )
            start = time.perf_counter()
            messages = [compose.message(e) for e in compose.load(ids[: args.emails])]
            render = time.perf_counter() - start
            with smtp_sink() as port:
                app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
                send_messages([build_message("warm@example.org", "warm up", "x")])
                start = time.perf_counter()
                send_messages(messages)
                reused = time.perf_counter() - start
                start = time.perf_counter()
                for message in messages:
                    send_messages([message])
                each = time.perf_counter() - start
                batch = app.config["REMINDER_BATCH_SIZE"]
                chunk = ids[args.emails : 2 * args.emails]
                start = time.perf_counter()
                for first in range(0, len(chunk), batch):
                    delivery.deliver(chunk[first : first + batch])
                whole = time.perf_counter() - start
            n = len(messages)
            size = len(bytes(messages[0]))
            print(f"\nE-mails to a local aiosmtpd ({n:,} reminder e-mails of about {size:,} bytes)")
            print(f"  render (load + templates + MIME): {n / render:,.0f} e-mails/s")
            print(f"  one connection reused:            {n / reused:,.0f} e-mails/s")
            print(f"  a connection per message:         {n / each:,.0f} e-mails/s")
            print(f"  reused / per message:             {each / reused:.2f}x")
            print(
                f"  delivery task path ({batch} per connection, claim + render + send + commit each): "
                f"{len(chunk) / whole:,.0f} e-mails/s"
            )
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
