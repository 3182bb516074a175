"""card captures die with their call: a foreign key to the session, ON DELETE CASCADE

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Captures whose session is already gone (``ivr sessions purge`` used to leave them behind) are
deleted first: nothing can ever charge them, and the key still opens them.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_card_captures_session_sid_call_sessions"


def upgrade() -> None:
    """Upgrade schema."""
    op.execute(
        "DELETE FROM card_captures"
        " WHERE NOT EXISTS (SELECT 1 FROM call_sessions WHERE call_sessions.sid = card_captures.session_sid)"
    )
    with op.batch_alter_table("card_captures", schema=None) as batch_op:
        batch_op.create_foreign_key(
            FOREIGN_KEY, "call_sessions", ["session_sid"], ["sid"], ondelete="CASCADE"
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("card_captures", schema=None) as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_="foreignkey")
