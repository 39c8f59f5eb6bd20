"""site goals: an optional stretch goal, the next milestone once a letter's goal is reached

Revision ID: 0006_site_goals
Revises: 0005_signature_changes
Create Date: 2026-12-06

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006_site_goals"
down_revision = "0005_signature_changes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("letters") as batch:
        batch.add_column(sa.Column("stretch_goal", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("letters") as batch:
        batch.drop_column("stretch_goal")
