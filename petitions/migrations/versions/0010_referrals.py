"""referrals: the source of each signature and the partners of a letter

Revision ID: 0010_referrals
Revises: 0009_follow_up
Create Date: 2026-12-06

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010_referrals"
down_revision = "0009_follow_up"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("website", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_partners_letter_id_letters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("letter_id", "code", name=op.f("uq_partners_letter_id_code")),
    )
    # A plain ADD COLUMN (no batch): SQLite does not copy the signatures table for it.
    op.add_column(
        "signatures",
        sa.Column("source", sa.String(length=40), server_default="", nullable=False),
    )
    op.create_index(
        "ix_signatures_letter_source", "signatures", ["letter_id", "source"], unique=False
    )


def downgrade():
    op.drop_index("ix_signatures_letter_source", table_name="signatures")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("source")
    op.drop_table("partners")
