"""arrangement promises and disputes: installments tracked, the card that pays them, disputes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""

    with op.batch_alter_table("arrangements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_payment_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            "fk_arrangements_card_payment_id_payments", "payments", ["card_payment_id"], ["id"]
        )

    op.create_table(
        "arrangement_installments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("arrangement_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "paid",
                "missed",
                name="installment_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_on", sa.Date(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["arrangement_id"], ["arrangements.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("arrangement_id", "number"),
    )
    with op.batch_alter_table("arrangement_installments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_arrangement_installments_due_date"), ["due_date"], unique=False
        )

    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("reference_number", sa.String(length=10), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open", "credited", "denied", name="dispute_status", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("session_sid", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference_number"),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_created_at"))
        batch_op.drop_index(batch_op.f("ix_disputes_account_id"))
    op.drop_table("disputes")

    with op.batch_alter_table("arrangement_installments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arrangement_installments_due_date"))
    op.drop_table("arrangement_installments")

    with op.batch_alter_table("arrangements", schema=None) as batch_op:
        batch_op.drop_constraint("fk_arrangements_card_payment_id_payments", type_="foreignkey")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("card_payment_id")
