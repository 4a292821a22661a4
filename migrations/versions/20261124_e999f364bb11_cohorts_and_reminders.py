"""Cohorts and reminders.

Cohorts with due dates and members; reminder opt-outs; each decided reminder under a unique key;
one reminder e-mail per learner and local date.

Revision ID: e999f364bb11
Revises: 976d59aeb503
Create Date: 2026-11-24 15:36:19.554590

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e999f364bb11"
down_revision = "976d59aeb503"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("starts_on <= due_on", name=op.f("ck_cohorts_starts_before_due")),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_cohorts_course_id_courses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohorts")),
    )
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cohorts_course_id"), ["course_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cohorts_due_on"), ["due_on"], unique=False)

    op.create_table(
        "reminder_bundles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'expired')",
            name=op.f("ck_reminder_bundles_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_reminder_bundles_attempts")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reminder_bundles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_bundles")),
        sa.UniqueConstraint("user_id", "local_date", name=op.f("uq_reminder_bundles_user_id_local_date")),
    )
    with op.batch_alter_table("reminder_bundles", schema=None) as batch_op:
        batch_op.create_index("ix_reminder_bundles_status_local_date", ["status", "local_date"], unique=False)

    op.create_table(
        "reminder_opt_outs",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rule IN ('inactivity', 'deadline', 'certificate', 'quiz_failed', 'all')",
            name=op.f("ck_reminder_opt_outs_rule"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reminder_opt_outs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "rule", name=op.f("pk_reminder_opt_outs")),
    )
    op.create_table(
        "cohort_members",
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohorts.id"],
            name=op.f("fk_cohort_members_cohort_id_cohorts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_cohort_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("cohort_id", "user_id", name=op.f("pk_cohort_members")),
    )
    with op.batch_alter_table("cohort_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cohort_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "reminder_sendings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bundle_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "rule IN ('inactivity', 'deadline', 'certificate', 'quiz_failed')",
            name=op.f("ck_reminder_sendings_rule"),
        ),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["reminder_bundles.id"],
            name=op.f("fk_reminder_sendings_bundle_id_reminder_bundles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_reminder_sendings_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reminder_sendings_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_sendings")),
        sa.UniqueConstraint(
            "user_id",
            "rule",
            "course_id",
            "subject",
            "period",
            name=op.f("uq_reminder_sendings_user_id_rule_course_id_subject_period"),
        ),
    )
    with op.batch_alter_table("reminder_sendings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_sendings_bundle_id"), ["bundle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminder_sendings_course_id"), ["course_id"], unique=False)


def downgrade():
    with op.batch_alter_table("reminder_sendings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_sendings_course_id"))
        batch_op.drop_index(batch_op.f("ix_reminder_sendings_bundle_id"))

    op.drop_table("reminder_sendings")
    with op.batch_alter_table("cohort_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cohort_members_user_id"))

    op.drop_table("cohort_members")
    op.drop_table("reminder_opt_outs")
    with op.batch_alter_table("reminder_bundles", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_bundles_status_local_date")

    op.drop_table("reminder_bundles")
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cohorts_due_on"))
        batch_op.drop_index(batch_op.f("ix_cohorts_course_id"))

    op.drop_table("cohorts")
