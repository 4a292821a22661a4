"""Enrolments keep the learner's country and type of organisation, and whether they are certified.

The reports aggregate enrolments; with these three columns they no longer join every enrolment with its
learner and with the valid certificates. Existing rows are filled from users and certificates.

Revision ID: a3c1e5d7f901
Revises: bb696d421cd0
Create Date: 2026-12-06 23:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a3c1e5d7f901"
down_revision = "bb696d421cd0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("organisation_type", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("certified", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE enrolments SET"
        " country = (SELECT u.country FROM users u WHERE u.id = enrolments.user_id),"
        " organisation_type = (SELECT u.organisation_type FROM users u WHERE u.id = enrolments.user_id),"
        " certified = EXISTS (SELECT 1 FROM certificates c WHERE c.user_id = enrolments.user_id"
        " AND c.course_id = enrolments.course_id AND c.status = 'valid')"
    )


def downgrade():
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_column("certified")
        batch_op.drop_column("organisation_type")
        batch_op.drop_column("country")
