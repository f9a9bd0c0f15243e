"""EPS prescriptions by prescribing and by dispensing organisation: the access policy asks once per
list whether the user's organisation prescribes or dispenses for anyone, instead of running its
per-patient sub-query over every patient listed (issue 20's load profile)

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("eps_prescriptions", schema=None) as batch_op:
        batch_op.create_index("ix_eps_prescriptions_prescriber_org", ["prescriber_org"])
        batch_op.create_index("ix_eps_prescriptions_dispenser_org", ["dispenser_org"])


def downgrade() -> None:
    with op.batch_alter_table("eps_prescriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_eps_prescriptions_dispenser_org")
        batch_op.drop_index("ix_eps_prescriptions_prescriber_org")
