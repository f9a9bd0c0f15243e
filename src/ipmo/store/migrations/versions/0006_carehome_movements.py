"""Care homes: residents' admissions, discharges and deaths (issue 17), kept because the
registration data holds only where a patient is now

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carehome_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("care_home_code", sa.String(length=12), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("moved_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_carehome_movements_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carehome_movements")),
        sa.UniqueConstraint(
            "patient_id", "care_home_code", "kind", "moved_on", name="uq_carehome_movements"
        ),
    )
    with op.batch_alter_table("carehome_movements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carehome_movements_care_home_code"), ["care_home_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carehome_movements_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("carehome_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carehome_movements_patient_id"))
        batch_op.drop_index(batch_op.f("ix_carehome_movements_care_home_code"))
    op.drop_table("carehome_movements")
