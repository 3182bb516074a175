"""bank debits beside their payments

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

A payment may now be made from a bank account: ``payments.method`` says which (existing rows
are card payments), and ``bank_debits`` keeps what only a debit has (its date, its progress on
the rail, a return's reason code, the authorization as heard). ``sandbox_debits`` is the
development rail's own books.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "method",
                sa.Enum("card", "bank", name="payment_kind", native_enum=False, length=20),
                nullable=False,
                server_default="card",
            )
        )
    op.create_table(
        "bank_debits",
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("rail", sa.String(length=20), nullable=False),
        sa.Column("sec_code", sa.String(length=3), nullable=False),
        sa.Column(
            "account_type",
            sa.Enum("checking", "savings", name="bank_account_type", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("bank_name", sa.String(length=60), nullable=True),
        sa.Column("token", sa.String(length=200), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "submitted",
                "settled",
                "returned",
                name="debit_state",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("return_code", sa.String(length=3), nullable=True),
        sa.Column("authorization", sa.Text(), nullable=False),
        sa.Column("recording_sid", sa.String(length=64), nullable=True),
        sa.Column("authorized_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.Column("returned_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("payment_id"),
    )
    op.create_index("ix_bank_debits_effective_date", "bank_debits", ["effective_date"])
    op.create_index("ix_bank_debits_state", "bank_debits", ["state"])
    op.create_table(
        "sandbox_debits",
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("return_code", sa.String(length=3), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key"),
        sa.UniqueConstraint("reference"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("sandbox_debits")
    op.drop_index("ix_bank_debits_state", table_name="bank_debits")
    op.drop_index("ix_bank_debits_effective_date", table_name="bank_debits")
    op.drop_table("bank_debits")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("method")
