"""Certificates, their audit trail, and rate-limit counters.

One current certificate per learner and course version: a partial unique index that leaves superseded
rows out (the same WHERE on PostgreSQL and SQLite, both of which accept it as an ON CONFLICT target).

Revision ID: 7e1c0f3c5279
Revises: bdfbd293b2c4
Create Date: 2026-11-24 15:46:20.556180

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7e1c0f3c5279"
down_revision = "bdfbd293b2c4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "throttle_counters",
        sa.Column("bucket", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("bucket", "address", "window_start", name=op.f("pk_throttle_counters")),
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=24), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=True),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("course_version_id", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("course_title", sa.String(length=200), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="valid", nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by_id", sa.Integer(), nullable=True),
        sa.Column("credential", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(length=40), nullable=True),
        sa.Column("pdf_key", sa.String(length=200), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("email_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status != 'revoked' OR revoked_at IS NOT NULL", name=op.f("ck_certificates_revoked_at")
        ),
        sa.CheckConstraint(
            "status != 'superseded' OR superseded_at IS NOT NULL", name=op.f("ck_certificates_superseded_at")
        ),
        sa.CheckConstraint(
            "status IN ('valid', 'revoked', 'superseded')", name=op.f("ck_certificates_status")
        ),
        sa.CheckConstraint("hours > 0", name=op.f("ck_certificates_hours_positive")),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_certificates_course_id_courses"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["course_version_id"],
            ["course_versions.id"],
            name=op.f("fk_certificates_course_version_id_course_versions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_certificates_enrolment_id_enrolments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"],
            ["certificates.id"],
            name=op.f("fk_certificates_superseded_by_id_certificates"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_certificates_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("code", name=op.f("uq_certificates_code")),
        sa.UniqueConstraint("serial", name=op.f("uq_certificates_serial")),
    )
    op.create_index(op.f("ix_certificates_user_id"), "certificates", ["user_id"], unique=False)
    op.create_index(
        "uq_certificates_current",
        "certificates",
        ["user_id", "course_version_id"],
        unique=True,
        postgresql_where=sa.text("status != 'superseded'"),
        sqlite_where=sa.text("status != 'superseded'"),
    )

    op.create_table(
        "certificate_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('issued', 'revoked', 'superseded', 'reissued', 'emailed')",
            name=op.f("ck_certificate_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_certificate_events_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_events_certificate_id_certificates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_events")),
    )
    op.create_index(
        op.f("ix_certificate_events_certificate_id"), "certificate_events", ["certificate_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_certificate_events_certificate_id"), table_name="certificate_events")
    op.drop_table("certificate_events")
    op.drop_index("uq_certificates_current", table_name="certificates")
    op.drop_index(op.f("ix_certificates_user_id"), table_name="certificates")
    op.drop_table("certificates")
    op.drop_table("throttle_counters")
