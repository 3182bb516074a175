"""call_sessions becomes conversations: the table holds text threads as well as calls

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

A rename only: every row, and the card captures keyed to them, stay as they are. PostgreSQL
carries the primary key and the captures' foreign key over by object, so their names follow
the table's; SQLite rewrites the captures' reference to the new name itself.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    _rename("call_sessions", "conversations")


def downgrade() -> None:
    """Downgrade schema."""
    _rename("conversations", "call_sessions")


def _rename(old: str, new: str) -> None:
    op.drop_index(f"ix_{old}_expires_at", table_name=old)
    op.rename_table(old, new)
    op.create_index(f"ix_{new}_expires_at", new, ["expires_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT {old}_pkey TO {new}_pkey")
        op.execute(
            "ALTER TABLE card_captures RENAME CONSTRAINT"
            f" fk_card_captures_session_sid_{old} TO fk_card_captures_session_sid_{new}"
        )
