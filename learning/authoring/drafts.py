"""Editing a draft's modules and lessons, and previewing it as learners will see it."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from learning.authoring import edits, services
from learning.authoring.blueprint import bp, current_draft, editable_course, move_direction, refused
from learning.authoring.forms import (
    ActionForm,
    ImageForm,
    LessonForm,
    ModuleForm,
    NewLessonForm,
    NewModuleForm,
)
from learning.catalog.models import Lesson, Module
from learning.content.render import render_markdown
from learning.content.sync import lesson_path
from learning.extensions import db
from learning.progress import services as progress
from learning.progress.fragments import render_lesson_body


def _back(slug: str, module: str | None = None) -> str:
    if module:
        return url_for("authoring.module", slug=slug, module=module)
    return url_for("authoring.course", slug=slug)


@bp.route("/courses/<slug>/draft/modules", methods=["POST"])
def add_module(slug: str) -> Response:
    course = editable_course(slug)
    draft = current_draft(course)
    form = NewModuleForm()
    if not form.validate_on_submit():
        flash(_("Give the module a short name (lowercase letters, digits, hyphens) and a title."), "error")
        return redirect(_back(slug))
    try:
        module = edits.add_module(draft, form.slug.data or "", form.title.data or "")
    except services.AuthoringError as exc:
        return refused(exc, _back(slug))
    services.save(draft, current_user, "draft.module.add", module=module)
    db.session.commit()
    return redirect(_back(slug, module))


@bp.route("/courses/<slug>/draft/modules/<module>", methods=["GET", "POST"])
def module(slug: str, module: str) -> str | Response:
    course = editable_course(slug)
    draft = current_draft(course)
    if module not in draft.module_slugs():
        abort(404)
    data = draft.data(f"{module}/module.yaml")
    form = ModuleForm(
        data={
            "title": data.get("title"),
            "summary": data.get("summary"),
            "objectives": "\n".join(data.get("objectives") or []),
            "case_studies": "\n".join(
                f"{c.get('lesson')}: {c.get('title')}" for c in data.get("case_studies") or []
            ),
            "reflection": data.get("reflection"),
            "references": "\n".join(f"{k}: {v}" for k, v in (data.get("references") or {}).items()),
        }
    )
    if form.validate_on_submit():
        edits.update_module(draft, module, **form.values())
        services.save(draft, current_user, "draft.module.edit", module=module)
        db.session.commit()
        flash(_("The module is saved."), "success")
        return redirect(_back(slug, module))
    problems = [p for p in services.problems_of(draft) if p.file.startswith(f"{slug}/{module}/")]
    return render_template(
        "authoring/module.html",
        course=course,
        module=module,
        form=form,
        lessons=draft.lessons(module),
        new_lesson=NewLessonForm(),
        action=ActionForm(),
        problems=problems,
    )


@bp.post("/courses/<slug>/draft/modules/<module>/move")
def move_module(slug: str, module: str) -> Response:
    course = editable_course(slug)
    draft = current_draft(course)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        edits.move_module(draft, module, move_direction())
    except services.AuthoringError as exc:
        return refused(exc, _back(slug))
    services.save(draft, current_user, "draft.module.move", module=module)
    db.session.commit()
    return redirect(_back(slug))


@bp.post("/courses/<slug>/draft/modules/<module>/delete")
def delete_module(slug: str, module: str) -> Response:
    course = editable_course(slug)
    draft = current_draft(course)
    if not ActionForm().validate_on_submit():
        abort(400)
    if module not in draft.module_slugs():
        abort(404)
    edits.delete_module(draft, module)
    services.save(draft, current_user, "draft.module.delete", module=module)
    db.session.commit()
    flash(_("The module is removed from the draft (published versions keep it)."), "info")
    return redirect(_back(slug))


@bp.post("/courses/<slug>/draft/modules/<module>/lessons")
def add_lesson(slug: str, module: str) -> Response:
    course = editable_course(slug)
    draft = current_draft(course)
    if module not in draft.module_slugs():
        abort(404)
    form = NewLessonForm()
    if not form.validate_on_submit():
        flash(_("Give the lesson a short name (lowercase letters, digits, hyphens) and a title."), "error")
        return redirect(_back(slug, module))
    try:
        lesson = edits.add_lesson(draft, module, form.slug.data or "", form.title.data or "")
    except services.AuthoringError as exc:
        return refused(exc, _back(slug, module))
    services.save(draft, current_user, "draft.lesson.add", lesson=lesson)
    db.session.commit()
    return redirect(url_for("authoring.lesson", slug=slug, lesson=lesson))


@bp.route("/courses/<slug>/draft/lessons/<lesson>", methods=["GET", "POST"])
def lesson(slug: str, lesson: str) -> str | Response:
    course = editable_course(slug)
    draft = current_draft(course)
    try:
        module = draft.module_of_lesson(lesson)
    except services.AuthoringError:
        abort(404)
    title = next(item.get("title", "") for item in draft.lessons(module) if item.get("slug") == lesson)
    form = LessonForm(data={"title": title, "body": edits.lesson_body(draft, lesson)})
    preview_html = None
    if form.validate_on_submit():
        if form.preview.data:
            # the same sanitizing renderer learners get, without saving anything
            preview_html = render_markdown(form.body.data or "", lambda s: lesson_path(slug, s))
        else:
            edits.update_lesson(draft, lesson, form.title.data or "", form.body.data or "")
            services.save(draft, current_user, "draft.lesson.edit", lesson=lesson)
            db.session.commit()
            flash(_("The lesson is saved."), "success")
            return redirect(url_for("authoring.lesson", slug=slug, lesson=lesson))
    problems = [p for p in services.problems_of(draft) if p.file.endswith(f"/lessons/{lesson}.md")]
    return render_template(
        "authoring/lesson.html",
        course=course,
        module=module,
        lesson=lesson,
        form=form,
        preview_html=preview_html,
        problems=problems,
        image_form=ImageForm(data={"lesson": lesson}),
    )


@bp.post("/courses/<slug>/draft/lessons/<lesson>/move")
def move_lesson(slug: str, lesson: str) -> Response:
    course = editable_course(slug)
    draft = current_draft(course)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        module = draft.module_of_lesson(lesson)
        edits.move_lesson(draft, lesson, move_direction())
    except services.AuthoringError as exc:
        return refused(exc, _back(slug))
    services.save(draft, current_user, "draft.lesson.move", lesson=lesson)
    db.session.commit()
    return redirect(_back(slug, module))


@bp.post("/courses/<slug>/draft/lessons/<lesson>/delete")
def delete_lesson(slug: str, lesson: str) -> Response:
    course = editable_course(slug)
    draft = current_draft(course)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        module = draft.module_of_lesson(lesson)
    except services.AuthoringError:
        abort(404)
    edits.delete_lesson(draft, lesson)
    services.save(draft, current_user, "draft.lesson.delete", lesson=lesson)
    db.session.commit()
    flash(_("The lesson is removed from the draft (learners' progress on it is kept)."), "info")
    return redirect(_back(slug, module))


# --- preview --------------------------------------------------------------------------------------------


def _preview_links(html: str, slug: str) -> str:
    """Point lesson links of the draft at the preview instead of the published course."""
    return html.replace(
        f'href="/courses/{slug}/lessons/', f'href="/authoring/courses/{slug}/preview/lessons/'
    )


@bp.get("/courses/<slug>/preview")
def preview(slug: str) -> str:
    from learning.catalog.services import version_with_content

    course = editable_course(slug)
    draft = current_draft(course)
    version = version_with_content(draft.version.id)
    state = progress.progress_for(None, draft.version.id, fresh=True)
    return render_template(
        "catalog/course.html",
        course=course,
        version=version,
        enrolment=None,
        state=state,
        next_lesson=None,
        preview=True,
    )


@bp.get("/courses/<slug>/preview/lessons/<lesson>")
def preview_lesson(slug: str, lesson: str) -> str:
    course = editable_course(slug)
    draft = current_draft(course)
    row = db.session.scalar(
        select(Lesson).where(Lesson.version_id == draft.version.id, Lesson.slug == lesson)
    )
    if row is None:
        abort(404)
    out = progress.outline(draft.version.id, fresh=True)
    previous_slug, next_slug = out.neighbours(row.slug)
    module: Module = row.module
    is_last_of_module = out.module_of(row.slug).lesson_slugs[-1] == row.slug
    return render_template(
        "progress/lesson.html",
        course_slug=course.slug,
        version_title=draft.version.title,
        lesson=row,
        module=module,
        body_html=render_lesson_body(_preview_links(row.html, slug), module, is_last_of_module),
        outline=out,
        previous_slug=previous_slug,
        next_slug=next_slug,
        completed_at=None,
        can_complete=False,
        preview=True,
    )
