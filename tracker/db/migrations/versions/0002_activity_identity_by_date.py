"""activity identity index ordered by date

The unique index on (project_code, dedupe_key) of activities becomes (project_code, date,
dedupe_key): a dedupe key is a hash, so the old index was in random order and every chunk of a
large import touched nearly all its pages. No row changes (dedupe keys and the audit trail stay as
they are); equal dedupe keys of activities always have equal dates, so uniqueness is the same.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = {"sqlite_where": sa.text("retired_at IS NULL"), "postgresql_where": sa.text("retired_at IS NULL")}


def upgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(
            "uq_activity_date_dedupe",
            ["project_code", "date", "dedupe_key"],
            unique=True,
            **CURRENT,
        )
        batch_op.drop_index("uq_activity_dedupe", **CURRENT)


def downgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(
            "uq_activity_dedupe",
            ["project_code", "dedupe_key"],
            unique=True,
            **CURRENT,
        )
        batch_op.drop_index("uq_activity_date_dedupe", **CURRENT)
