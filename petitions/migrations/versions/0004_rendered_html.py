"""letter bodies stored as sanitised HTML, rendered once when saved

Revision ID: 0004_rendered_html
Revises: 0003_exports
Create Date: 2026-12-06

The public page and the delivery PDF no longer parse Markdown: each text version keeps its
body's HTML (``letter_texts.body_html``). Texts that exist already are rendered here, with the
same function the app uses on saving.
"""

from alembic import op
import sqlalchemy as sa

from petitions.services.letter_markdown import render_stored_body


# revision identifiers, used by Alembic.
revision = "0004_rendered_html"
down_revision = "0003_exports"
branch_labels = None
depends_on = None

texts = sa.table(
    "letter_texts",
    sa.column("id", sa.Integer()),
    sa.column("body", sa.Text()),
    sa.column("body_html", sa.Text()),
)


def upgrade():
    # A plain ADD COLUMN (no batch): SQLite must not rebuild a table that signatures point at.
    op.add_column(
        "letter_texts", sa.Column("body_html", sa.Text(), server_default="", nullable=False)
    )
    connection = op.get_bind()
    # One row at a time: a body may be 100,000 characters, and there are few texts.
    for text_id in connection.scalars(sa.select(texts.c.id).order_by(texts.c.id)).all():
        body = connection.scalar(sa.select(texts.c.body).where(texts.c.id == text_id))
        connection.execute(
            texts.update()
            .where(texts.c.id == text_id)
            .values(body_html=render_stored_body(body or ""))
        )


def downgrade():
    op.drop_column("letter_texts", "body_html")  # SQLite 3.35 and later drop it in place
