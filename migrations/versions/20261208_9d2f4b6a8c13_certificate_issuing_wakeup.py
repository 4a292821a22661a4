"""Completions in a burst queue one issuing task: a row saying when one was queued that has not started.

Revision ID: 9d2f4b6a8c13
Revises: 7c3d9e1f2a40
Create Date: 2026-12-08 01:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9d2f4b6a8c13"
down_revision = "7c3d9e1f2a40"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "certificate_issuing_wakeup",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_issuing_wakeup")),
    )


def downgrade():
    op.drop_table("certificate_issuing_wakeup")
