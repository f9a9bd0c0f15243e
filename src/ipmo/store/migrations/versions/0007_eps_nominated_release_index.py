"""EPS prescriptions by nominated pharmacy and status: a nominated release (the pharmacy
downloads every prescription nominated to it that is ready, naming none) finds them through
this index instead of scanning the store (issue 16)

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
INDEX, TABLE = "ix_eps_prescriptions_nominated_status", "eps_prescriptions"


def upgrade() -> None:
    op.create_index(INDEX, TABLE, ["nominated_pharmacy", "status_code"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
