"""disputes keep the resolver's note

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

``ivr disputes resolve --note`` says why a dispute was upheld or denied; the note stays on the
dispute beside who resolved it and when, for the agents and the billing team who read it later.
Existing disputes have none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_note", sa.String(length=500), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_column("closed_note")
