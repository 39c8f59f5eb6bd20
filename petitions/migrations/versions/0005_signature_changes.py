"""signature changes: other details kept aside until the owner chooses them; renewals apart

Revision ID: 0005_signature_changes
Revises: 0004_rendered_html
Create Date: 2026-12-06

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005_signature_changes"
down_revision = "0004_rendered_html"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "signature_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("details_hash", sa.String(length=64), nullable=False),
        sa.Column("consent_text_hash", sa.String(length=64), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signatures.id"],
            name=op.f("fk_signature_changes_signature_id_signatures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature_changes")),
        sa.UniqueConstraint(
            "signature_id",
            "details_hash",
            name=op.f("uq_signature_changes_signature_id_details_hash"),
        ),
    )
    # A plain ADD COLUMN (no batch): SQLite does not copy the signatures table for it.
    op.add_column("signatures", sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("renewed_at")
    op.drop_table("signature_changes")
