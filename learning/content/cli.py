"""`flask content ...`: validate and load the course material in content/."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from learning.content.spec import read_content
from learning.content.sync import SyncConflict, sync_course
from learning.extensions import db


@click.group("content")
def content_cli() -> None:
    """Validate and load course material."""


def _root(path: str | None) -> Path:
    return Path(path) if path else Path(current_app.config["CONTENT_PATH"])


@content_cli.command("validate")
@click.argument("path", required=False, type=click.Path(file_okay=False))
@with_appcontext
def validate(path: str | None) -> None:
    """Check the material and print every problem as FILE:LINE: MESSAGE; exit 1 if there is any."""
    courses, problems = read_content(_root(path))
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise click.exceptions.Exit(1)
    lessons = sum(len(m.lessons) for c in courses for m in c.modules)
    questions = sum(len(m.quiz.questions) for c in courses for m in c.modules if m.quiz)
    click.echo(
        f"OK: {len(courses)} courses, {sum(len(c.modules) for c in courses)} modules, {lessons} lessons, "
        f"{questions} questions."
    )


@content_cli.command("sync")
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Also replace courses last published from the browser.")
@with_appcontext
def sync(path: str | None, force: bool) -> None:
    """Load the material into the database, publishing a new version of each changed course."""
    courses, problems = read_content(_root(path))
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(problems)} problems: nothing was loaded.")
    for index, course in enumerate(courses, start=1):
        click.echo(f"[{index}/{len(courses)}] {course.slug} ...", nl=False)
        try:
            result = sync_course(course, force=force)
        except SyncConflict as exc:
            db.session.rollback()
            click.echo(" skipped")
            click.echo(str(exc), err=True)
            continue
        db.session.commit()
        click.echo(f" {result}")
