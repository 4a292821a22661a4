"""Large exports as jobs: a row in report_exports, a task that writes the file and reports its progress,
and a download for the user who asked."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from learning.db import utcnow
from learning.exports import csv_lines
from learning.extensions import db
from learning.outbox import after_commit
from learning.reports import catalogue
from learning.reports.exports import XlsxBook
from learning.reports.filters import parse_filters
from learning.reports.models import ReportExport
from learning.reports.tables import export_text

logger = logging.getLogger(__name__)


def export_folder() -> Path:
    folder = Path(current_app.config["REPORT_EXPORT_PATH"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_export(user_id: int, report: str, params: dict[str, str], fmt: str, rows: int) -> ReportExport:
    """Record an export job and queue its task once the job is committed; flushes."""
    from learning.reports.tasks import export_report

    stem = report if report != "completion" else f"completion-by-{params.get('group_by', 'country')}"
    job = ReportExport(
        user_id=user_id,
        report=report,
        params=params,
        format=fmt,
        status="pending",
        rows_total=rows,
        rows_done=0,
        file_name=f"{stem.replace('_', '-')}.{fmt}",
    )
    db.session.add(job)
    db.session.flush()
    job_id = job.id
    after_commit(lambda: export_report.delay(job_id))
    return job


def purge_old_files() -> int:
    """Delete the files of exports finished longer ago than REPORT_EXPORT_KEEP; return how many."""
    cutoff = utcnow() - current_app.config["REPORT_EXPORT_KEEP"]
    old = db.session.scalars(
        select(ReportExport).where(ReportExport.path.is_not(None), ReportExport.finished_at < cutoff)
    ).all()
    for job in old:
        (export_folder() / Path(str(job.path)).name).unlink(missing_ok=True)
        job.path = None
    db.session.commit()
    return len(old)


def run_export(job_id: int) -> None:
    """Write the job's file, committing its progress as it goes; a job already done is left alone."""
    job = db.session.get(ReportExport, job_id)
    if job is None or job.status == "done":
        return
    purge_old_files()
    job.status, job.started_at, job.rows_done, job.error = "running", utcnow(), 0, None
    db.session.commit()
    folder = export_folder()
    final = folder / f"{job.id}-{secrets.token_hex(8)}.{job.format}"
    partial = final.with_suffix(final.suffix + ".part")
    try:
        params = dict(job.params)
        group_by = params.pop("group_by", None)
        table = catalogue.build(job.report, parse_filters(params), group_by)

        running = job

        def progress(count: int) -> None:
            running.rows_done = count
            db.session.commit()

        if job.format == "xlsx":
            book = XlsxBook(str(partial))
            count = book.sheet(table.title, table.columns, table.rows, progress)
            book.close()
        else:
            count = _write_csv(partial, table, progress)
        os.replace(partial, final)
    except Exception as exc:
        db.session.rollback()
        partial.unlink(missing_ok=True)
        job = db.session.get(ReportExport, job_id)
        assert job is not None
        job.status, job.error, job.finished_at = "failed", type(exc).__name__, utcnow()
        db.session.commit()
        logger.exception("report export %s failed", job_id)
        raise
    job.status, job.rows_done, job.rows_total = "done", count, max(count, job.rows_total)
    job.path, job.finished_at = final.name, utcnow()
    db.session.commit()


def _write_csv(path: Path, table: Any, progress: Any) -> int:
    count = 0
    header = [c.label for c in table.columns]

    def rows() -> Any:
        nonlocal count
        for row in table.rows:
            count += 1
            if count % 1000 == 0:
                progress(count)
            yield [export_text(value) for value in row.cells]

    with path.open("w", encoding="utf-8", newline="") as out:
        for line in csv_lines(header, rows()):
            out.write(line)
    return count


def file_of(job: ReportExport) -> Path | None:
    """The finished file of a job, if it is there."""
    if job.status != "done" or not job.path:
        return None
    path = export_folder() / Path(job.path).name
    return path if path.is_file() else None
