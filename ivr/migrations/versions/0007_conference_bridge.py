"""conference bridge: the agent's leg, the call's conference and the agent's hold

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("agent_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_call_sid", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("bridged", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("conference_sid", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("agent_held", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            batch_op.f("ix_agent_calls_agent_call_sid"), ["agent_call_sid"], unique=False
        )
    with op.batch_alter_table("agent_calls", schema=None) as batch_op:
        # The defaults only filled the rows already there; new rows get theirs from the app.
        batch_op.alter_column("bridged", server_default=None)
        batch_op.alter_column("agent_held", server_default=None)
    op.create_table(
        "local_holds",
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("conference_sid", sa.String(length=64), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("hold_url", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("call_sid"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("local_holds")
    with op.batch_alter_table("agent_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_calls_agent_call_sid"))
        batch_op.drop_column("agent_held")
        batch_op.drop_column("conference_sid")
        batch_op.drop_column("bridged")
        batch_op.drop_column("agent_call_sid")
