"""The trial queue shared by worker processes (``--cluster store``) and the run payloads
they load."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "trial_queue",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job", sa.LargeBinary, nullable=False),
        sa.Column("result", sa.LargeBinary),
        sa.Column("worker", sa.String(128)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("queued_at", sa.Float),
        sa.Column("claimed_at", sa.Float),
        sa.Column("heartbeat_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.UniqueConstraint("run_id", "number", name="uq_queue_number"),
    )
    op.create_index("ix_trial_queue_run_id", "trial_queue", ["run_id"])
    op.create_table(
        "run_payloads",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
