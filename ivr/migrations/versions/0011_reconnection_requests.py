"""reconnection requests: a disconnected account's payment that asks billing to restore service

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "reconnection_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("fee_cents", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "completed", name="reconnection_status", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expected_by", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_id"),
    )
    with op.batch_alter_table("reconnection_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reconnection_requests_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reconnection_requests_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("reconnection_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconnection_requests_created_at"))
        batch_op.drop_index(batch_op.f("ix_reconnection_requests_account_id"))
    op.drop_table("reconnection_requests")
