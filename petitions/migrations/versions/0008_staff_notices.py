"""delivery PDF jobs keep the asker's language and site address for the "ready" email

Revision ID: 0008_staff_notices
Revises: 0007_schedule
Create Date: 2026-12-06

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008_staff_notices"
down_revision = "0007_schedule"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pdf_exports") as batch:
        batch.add_column(
            sa.Column("notify_language", sa.String(length=16), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column("notify_base_url", sa.String(length=300), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("pdf_exports") as batch:
        batch.drop_column("notify_base_url")
        batch.drop_column("notify_language")
