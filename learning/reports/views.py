"""The secretariat's reports area: dashboard with charts, completion tables with drill-down, the learner
list, the other reports, and exports (streamed when small, prepared by a task when large)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response

from learning.auth.choices import ORGANISATION_TYPE_LABELS, countries
from learning.capstone.views import download as attachment_download
from learning.cohorts.models import Cohort
from learning.extensions import db
from learning.forms import Form
from learning.reports import catalogue, charts, jobs, library, queries
from learning.reports.exports import XLSX_MIMETYPE, table_csv_response, table_xlsx_bytes, xlsx_response
from learning.reports.filters import FilterError, Filters, parse_filters
from learning.reports.models import ReportExport
from learning.reports.tables import Table, cell_text
from learning.urls import whole_number

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")

STAFF = ("secretariat", "admin")
PAGE_SIZE = 100
TABLE_PAGES = ("funnel", "time-to-complete", "quiz-pass-rates", "reminders")
# where a row of a completion table leads: the next level of the drill-down
DRILL = {
    "country": ("reports.completion", {"group_by": "organisation"}),
    "organisation_type": ("reports.completion", {"group_by": "organisation"}),
    "organisation": ("reports.learners", {}),
    "course": ("reports.completion", {"group_by": "module"}),
    "cohort": ("reports.completion", {"group_by": "country"}),
}


class ExportForm(Form):
    """Only a CSRF-protected button: start preparing a large export."""


@bp.app_template_filter("report_cell")
def report_cell(value: Any) -> str:
    return cell_text(value)


def _filters() -> tuple[Filters | None, dict[str, str]]:
    try:
        return parse_filters(request.args), {}
    except FilterError as exc:
        return None, exc.fields


def _group_by(errors: dict[str, str]) -> str:
    group_by = request.args.get("group_by") or "country"
    if group_by not in queries.GROUPS:
        errors["group_by"] = _("Choose one of: %(groups)s.", groups=", ".join(queries.GROUPS))
    return group_by


def _form_context() -> dict[str, Any]:
    cohorts = [(cid, name) for cid, name in db.session.execute(select(Cohort.id, Cohort.name).order_by(
        Cohort.name, Cohort.id))]  # fmt: skip
    return {
        "course_choices": sorted(queries.courses().values(), key=lambda c: c.label.casefold()),
        "country_choices": countries(),
        "type_choices": list(ORGANISATION_TYPE_LABELS.items()),
        "cohort_choices": cohorts,
        "args": request.args,
    }


def _bad_request(template: str, errors: dict[str, str], **context: Any) -> tuple[str, int]:
    return render_template(template, errors=errors, **_form_context(), **context), 400


def _links(table: Table, group_by: str, f: Filters) -> list[str | None]:
    endpoint = DRILL.get(group_by)
    links: list[str | None] = []
    for row in table.rows:
        if endpoint is None or row.drill is None:
            links.append(None)
            continue
        target, extra = endpoint
        params: dict[str, Any] = {**f.params(), **extra, **row.drill}
        links.append(url_for(target, **params))
    return links


def _export_links(name: str, f: Filters, **extra: str) -> dict[str, str]:
    params: dict[str, Any] = {**f.params(), **extra}
    return {fmt: url_for("reports.export", name=name, fmt=fmt, **params) for fmt in ("csv", "xlsx")}


@bp.get("/")
def dashboard() -> Any:
    f, errors = _filters()
    if f is None:
        return _bad_request("reports/dashboard.html", errors)
    headline = queries.headline(f)
    trend = queries.trend(f)
    by_country = queries.completion(f, "country")
    funnel = queries.funnel(f)
    pictures = {
        "trend": charts.column_chart(
            "chart-trend",
            _("Completions by month"),
            _(
                "Columns for each month from %(first)s to %(last)s; the table below gives the figures.",
                first=trend_first(trend),
                last=trend_last(trend),
            ),  # fmt: skip
            [(str(row.cells[0]), int(row.cells[2])) for row in trend.rows],
            _("completions"),
        ),
        "country": charts.bar_chart(
            "chart-country",
            _("Completion rate by country"),
            _("One bar per country, the best completing first; the table below gives the figures."),
            [(str(row.cells[0]), row.cells[-1]) for row in by_country.rows],
            "%",
        ),
        "funnel": _funnel_chart(funnel),
    }
    return render_template(
        "reports/dashboard.html",
        filters=f,
        headline=headline,
        trend=trend,
        by_country=by_country,
        country_links=_links(by_country, "country", f),
        funnel=funnel,
        funnel_links=_links(funnel, "course", f),
        pictures=pictures,
        exports={
            "headline": _export_links("headline", f),
            "trend": _export_links("trend", f),
            "country": _export_links("completion", f, group_by="country"),
            "funnel": _export_links("funnel", f),
        },
        groups=queries.GROUPS,
        group_labels=queries.GROUP_LABELS,
        errors={},
        **_form_context(),
    )


def trend_first(table: Table) -> str:
    rows = list(table.rows)
    return str(rows[0].cells[0]) if rows else "–"


def trend_last(table: Table) -> str:
    rows = list(table.rows)
    return str(rows[-1].cells[0]) if rows else "–"


def _funnel_chart(table: Table) -> Markup:
    stages = [(c.key, c.label) for c in table.columns[1:] if c.kind == "int"]
    courses = []
    for row in table.rows:
        values = dict(zip([c.key for c in table.columns], row.cells, strict=True))
        courses.append((str(row.cells[0]), [(label, int(values[key])) for key, label in stages]))
    return charts.funnel_chart(
        "chart-funnel",
        _("From enrolment to certificate"),
        _(
            "For each course, bars for enrolled, started, half way, completed and certified; the table "
            "below gives the figures and shares."
        ),  # fmt: skip
        courses,
    )


@bp.get("/completion")
def completion() -> Any:
    f, errors = _filters()
    group_by = _group_by(errors)
    if f is None or errors:
        return _bad_request("reports/completion.html", errors, group_by=group_by, groups=queries.GROUPS,
                            group_labels=queries.GROUP_LABELS)  # fmt: skip
    table = queries.completion(f, group_by)
    return render_template(
        "reports/completion.html",
        filters=f,
        table=table,
        links=_links(table, group_by, f),
        group_by=group_by,
        groups=queries.GROUPS,
        group_labels=queries.GROUP_LABELS,
        exports=_export_links("completion", f, group_by=group_by),
        errors={},
        **_form_context(),
    )


@bp.get("/learners")
def learners() -> Any:
    f, errors = _filters()
    page = whole_number(request.args.get("page", "1"), 1_000_000)
    if not page:
        errors["page"] = _("Give a page number.")
    if f is None or errors or page is None:
        return _bad_request("reports/learners.html", errors)
    shown, _hidden = queries.learner_count(f)
    ids = queries.learner_ids(f, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    table = queries.learner_table(f, queries.learner_rows(ids))
    pages = max(1, -(-shown // PAGE_SIZE))
    return render_template(
        "reports/learners.html",
        filters=f,
        table=table,
        page=page,
        pages=pages,
        first=(page - 1) * PAGE_SIZE + 1,
        exports=_export_links("learners", f),
        errors={},
        **_form_context(),
    )


@bp.get("/<any(funnel, 'time-to-complete', 'quiz-pass-rates', reminders):name>")
def table_page(name: str) -> Any:
    f, errors = _filters()
    report = catalogue.REPORTS[name]
    if f is None:
        return _bad_request("reports/table.html", errors, report=report, name=name)
    table = catalogue.build(name, f)
    links = _links(table, "course", f) if name == "funnel" else [None] * len(list(table.rows))
    return render_template(
        "reports/table.html",
        filters=f,
        report=report,
        name=name,
        table=table,
        links=links,
        exports=_export_links(name, f),
        errors={},
        **_form_context(),
    )


@bp.route("/export/<name>.<any(csv, xlsx):fmt>", methods=["GET", "POST"])
def export(name: str, fmt: str) -> Any:
    if name not in catalogue.REPORTS:
        abort(404)
    f, errors = _filters()
    group_by = _group_by(errors) if name == "completion" else None
    if f is None or errors:
        return _bad_request("reports/export.html", errors, name=name, fmt=fmt, rows=None, form=None)
    limit = current_app.config["REPORT_SYNC_EXPORT_LIMIT"]
    table: Table | None = None
    if name == "learners":
        rows = queries.learner_count(f)[0]
    else:
        table = catalogue.build(name, f, group_by)
        table.rows = list(table.rows)
        rows = len(table.rows)
    form = ExportForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        params = {**f.params(), **({"group_by": group_by} if group_by else {})}
        job = jobs.start_export(current_user.id, name, params, fmt, rows)
        db.session.commit()
        return redirect(url_for("reports.export_job", job_id=job.id))
    if rows > limit:
        return render_template("reports/export.html", name=name, fmt=fmt, rows=rows, limit=limit, form=form,
                               errors={}, report=catalogue.REPORTS[name])  # fmt: skip
    if table is None:
        table = catalogue.build(name, f, group_by)
    if fmt == "csv":
        return table_csv_response(table)
    return xlsx_response(f"{table.name}.xlsx", table_xlsx_bytes([table]))


def _own_job(job_id: int) -> ReportExport:
    job = db.session.get(ReportExport, job_id)
    if job is None or (job.user_id != current_user.id and not current_user.has_role("admin")):
        abort(404)
    return job


@bp.get("/exports/<int:job_id>")
def export_job(job_id: int) -> str:
    job = _own_job(job_id)
    return render_template("reports/job.html", job=job, report=catalogue.REPORTS[job.report],
                           ready=jobs.file_of(job) is not None)  # fmt: skip


@bp.get("/exports/<int:job_id>/download")
def download(job_id: int) -> Response:
    job = _own_job(job_id)
    path = jobs.file_of(job)
    if path is None:
        abort(404)
    mimetype = "text/csv" if job.format == "csv" else XLSX_MIMETYPE
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=job.file_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/good-practice")
def good_practice() -> Any:
    country = (request.args.get("country") or "").strip().upper()
    if country and country not in dict(countries()):
        return render_template("reports/library.html", plans=[], country=country, countries=countries(),
                               error=_("Choose a country from the list.")), 400  # fmt: skip
    plans = library.shared_plans(country or None)
    return render_template("reports/library.html", plans=plans, country=country, countries=countries(),
                           error=None)  # fmt: skip


def _shared_plan(submission_id: int) -> Any:
    found = library.shared_plan(submission_id)
    if found is None:
        abort(404)
    return found


@bp.get("/good-practice/<int:submission_id>")
def good_practice_plan(submission_id: int) -> str:
    plan, submission, sections = _shared_plan(submission_id)
    return render_template("reports/library_plan.html", plan=plan, submission=submission, sections=sections)


@bp.get("/good-practice/<int:submission_id>.md")
def good_practice_markdown(submission_id: int) -> Response:
    plan, submission, sections = _shared_plan(submission_id)
    response = Response(library.plan_markdown(plan, submission, sections), mimetype="text/markdown")
    response.headers["Content-Disposition"] = f'attachment; filename="action-plan-{submission_id}.md"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/good-practice/<int:submission_id>/attachment")
def good_practice_attachment(submission_id: int) -> Response:
    _plan, submission, _sections = _shared_plan(submission_id)
    return attachment_download(submission)
