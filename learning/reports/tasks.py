"""Report tasks: large exports, and the monthly e-mail (safe to run twice: each e-mail is claimed)."""

from __future__ import annotations

import smtplib

from celery import shared_task

from learning.reports import jobs, mailing

TEMPORARY = (smtplib.SMTPException, OSError)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def export_report(job_id: int) -> None:
    """Write the file of an export job (a job already done is left alone)."""
    jobs.run_export(job_id)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TEMPORARY,
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=8,
    ignore_result=True,
)
def send_monthly_reports() -> int:
    """E-mail last month's report to every secretariat user who has not had it yet."""
    return mailing.send_monthly()
