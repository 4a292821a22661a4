"""The completions awaiting a certificate: a partial index that issuing tasks take their batches from.

Revision ID: 7c3d9e1f2a40
Revises: 5b7e2d4c9a10
Create Date: 2026-12-07 18:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7c3d9e1f2a40"
down_revision = "5b7e2d4c9a10"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_enrolments_awaiting_certificate",
        "enrolments",
        ["id"],
        postgresql_where=sa.text("completed_version_id IS NOT NULL AND NOT certified"),
        sqlite_where=sa.text("completed_version_id IS NOT NULL AND certified = 0"),
    )


def downgrade():
    op.drop_index("ix_enrolments_awaiting_certificate", table_name="enrolments")
