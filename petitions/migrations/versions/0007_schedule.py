"""the schedule: one row per periodic task with its lease and last run

Revision ID: 0007_schedule
Revises: 0006_site_goals
Create Date: 2026-12-06

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007_schedule"
down_revision = "0006_site_goals"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "scheduled_runs",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("runner", sa.String(length=120), nullable=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_runs")),
    )


def downgrade():
    op.drop_table("scheduled_runs")
