"""follow-up: signers' choice to hear, reminders, updates and their deliveries, mail headers

Revision ID: 0009_follow_up
Revises: 0008_staff_notices
Create Date: 2026-12-06

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009_follow_up"
down_revision = "0008_staff_notices"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs (no batch): SQLite does not copy the signatures table for them.
    op.add_column(
        "signatures", sa.Column("updates", sa.Boolean(), server_default="0", nullable=False)
    )
    op.add_column(
        "signatures",
        sa.Column("updates_text_hash", sa.String(length=64), server_default="", nullable=False),
    )
    op.add_column(
        "signatures", sa.Column("updates_chosen_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("signatures", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_signatures_update_recipients",
        "signatures",
        ["letter_id", "updates", "status", "id"],
    )
    op.add_column("outbox_emails", sa.Column("headers", sa.JSON(), nullable=True))
    op.add_column("outbox_emails", sa.Column("update_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_outbox_emails_update_id"), "outbox_emails", ["update_id"])
    op.create_table(
        "letter_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "update",
                "response",
                name="updatekind",
                native_enum=False,
                create_constraint=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("bodies", sa.JSON(), nullable=False),
        sa.Column("bodies_html", sa.JSON(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responder", sa.String(length=300), nullable=False),
        sa.Column("responded_on", sa.Date(), nullable=True),
        sa.Column("request_key", sa.String(length=32), nullable=True),
        sa.CheckConstraint("kind IN ('update', 'response')", name=op.f("ck_letter_updates_kind")),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_letter_updates_letter_id_letters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_updates")),
        sa.UniqueConstraint("request_key", name=op.f("uq_letter_updates_request_key")),
    )
    op.create_index(op.f("ix_letter_updates_letter_id"), "letter_updates", ["letter_id"])
    op.create_table(
        "update_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signatures.id"],
            name=op.f("fk_update_deliveries_signature_id_signatures"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["update_id"],
            ["letter_updates.id"],
            name=op.f("fk_update_deliveries_update_id_letter_updates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_update_deliveries")),
        sa.UniqueConstraint(
            "update_id", "signature_id", name=op.f("uq_update_deliveries_update_id_signature_id")
        ),
    )
    op.create_index(
        op.f("ix_update_deliveries_signature_id"), "update_deliveries", ["signature_id"]
    )
    op.create_table(
        "mail_rate_windows",
        sa.Column("window", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("window", name=op.f("pk_mail_rate_windows")),
    )


def downgrade():
    op.drop_table("mail_rate_windows")
    op.drop_index(op.f("ix_update_deliveries_signature_id"), table_name="update_deliveries")
    op.drop_table("update_deliveries")
    op.drop_index(op.f("ix_letter_updates_letter_id"), table_name="letter_updates")
    op.drop_table("letter_updates")
    op.drop_index(op.f("ix_outbox_emails_update_id"), table_name="outbox_emails")
    with op.batch_alter_table("outbox_emails", schema=None) as batch_op:
        batch_op.drop_column("update_id")
        batch_op.drop_column("headers")
    op.drop_index("ix_signatures_update_recipients", table_name="signatures")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("updates_chosen_at")
        batch_op.drop_column("updates_text_hash")
        batch_op.drop_column("updates")
