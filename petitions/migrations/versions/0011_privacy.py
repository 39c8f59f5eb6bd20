"""privacy: anonymised signatures, consent records, letters' retention, deleted delivery lists

Revision ID: 0011_privacy
Revises: 0010_referrals
Create Date: 2026-12-06

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011_privacy"
down_revision = "0010_referrals"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs (no batch): SQLite does not copy the signatures table for them.
    op.add_column(
        "signatures", sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "signatures",
        sa.Column("public_consent_hash", sa.String(length=64), server_default="", nullable=False),
    )
    op.add_column("letters", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("letters", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.add_column("letters", sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "pdf_exports", sa.Column("list_deleted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_signatures_email_canonical", "signatures", ["email_canonical"])
    op.create_index("ix_outbox_emails_signature", "outbox_emails", ["signature_id"])
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mailed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index(
        "ix_privacy_requests_address", "privacy_requests", ["address_hash", "purpose", "at"]
    )
    # Letters closed before this revision: their retention counts from today, never earlier
    # (nothing is anonymised by surprise on the first run).
    op.execute(
        sa.text(
            "UPDATE letters SET closed_at = CURRENT_TIMESTAMP "
            "WHERE status IN ('closed', 'delivered') AND closed_at IS NULL"
        )
    )


def downgrade():
    op.drop_index("ix_privacy_requests_address", table_name="privacy_requests")
    op.drop_table("privacy_requests")
    op.drop_index("ix_signatures_email_canonical", table_name="signatures")
    op.drop_index("ix_outbox_emails_signature", table_name="outbox_emails")
    with op.batch_alter_table("pdf_exports", schema=None) as batch_op:
        batch_op.drop_column("list_deleted_at")
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.drop_column("anonymised_at")
        batch_op.drop_column("retention_days")
        batch_op.drop_column("closed_at")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("public_consent_hash")
        batch_op.drop_column("anonymised_at")
