"""EPS tracker: the prescriptions' NHS number index also holds the issue date (search by NHS
number, newest first, optionally within dates: issue 16)

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("eps_prescriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_eps_prescriptions_nhs_number_authored_on",
            ["nhs_number", "authored_on"],
            unique=False,
        )
        batch_op.drop_index("ix_eps_prescriptions_nhs_number")


def downgrade() -> None:
    with op.batch_alter_table("eps_prescriptions", schema=None) as batch_op:
        batch_op.create_index("ix_eps_prescriptions_nhs_number", ["nhs_number"], unique=False)
        batch_op.drop_index("ix_eps_prescriptions_nhs_number_authored_on")
