"""GP issues: the (patient, date) index also holds the BNF code, so the ICS entitlement finder's
one pass over a year of issues reads the index alone (issue 16: the finder over the ICS)

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("medication_issues", schema=None) as batch_op:
        batch_op.create_index(
            "ix_medication_issues_patient_date_bnf",
            ["patient_id", "issue_date", "bnf_code"],
            unique=False,
        )
        batch_op.drop_index("ix_medication_issues_patient_date")


def downgrade() -> None:
    with op.batch_alter_table("medication_issues", schema=None) as batch_op:
        batch_op.create_index(
            "ix_medication_issues_patient_date", ["patient_id", "issue_date"], unique=False
        )
        batch_op.drop_index("ix_medication_issues_patient_date_bnf")
