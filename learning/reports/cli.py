"""`flask demo ...`: synthetic learners for demonstrations and benchmarks."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from learning.extensions import db
from learning.reports import demo


@click.group("demo")
def demo_cli() -> None:
    """Synthetic data for demonstrations and benchmarks."""


@demo_cli.command("generate")
@click.option(
    "--learners", type=click.IntRange(1, 2_000_000), required=True, help="How many learners to add."
)
@click.option("--seed", type=int, default=2026, show_default=True, help="The same seed gives the same data.")
@click.option("--consent", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="The share of learners who agree to share their progress.")  # fmt: skip
@click.option("--force", is_flag=True, help="Add demo learners even though the database holds real ones.")
@with_appcontext
def generate(learners: int, seed: int, consent: float, force: bool) -> None:
    """Fill the database with realistic synthetic learners of the region, with their progress."""
    started = time.perf_counter()
    try:
        counts = demo.generate(learners, seed=seed, force=force, consent=consent, echo=click.echo)
    except demo.DemoRefusedError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(
        f"Added {counts.users:,} demo learners ({demo.DEMO_DOMAIN}, no password), {counts.enrolments:,} "
        f"enrolments ({counts.completed:,} completed), {counts.lesson_completions:,} lesson completions, "
        f"{counts.module_states:,} module states, {counts.quiz_attempts:,} quiz attempts, "
        f"{counts.certificates:,} certificates, {counts.cohort_members:,} cohort members "
        f"in {time.perf_counter() - started:.1f} s."
    )
