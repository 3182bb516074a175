"""accounts remember the balance_as_of of their last import

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

The billing system's balances are true as of an instant; the importer keeps it per account so
that a file older than the one last imported is refused for that account. Existing accounts
have none (NULL): their next import is taken as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("balance_as_of", sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Downgrade schema: a plain ``DROP COLUMN`` (SQLite has it since 3.35), not a batch copy
    of ``accounts``, whose ``DROP TABLE`` would break every row that refers to an account."""
    op.drop_column("accounts", "balance_as_of")
