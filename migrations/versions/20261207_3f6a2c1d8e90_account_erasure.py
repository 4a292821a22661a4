"""Account erasure: when a user was erased, and when a certificate's holder was.

Revision ID: 3f6a2c1d8e90
Revises: a3c1e5d7f901
Create Date: 2026-12-07 00:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3f6a2c1d8e90"
down_revision = "a3c1e5d7f901"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder_erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_column("holder_erased_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
