"""Liveness of a run: the process running it (``owner``, "host:pid") and its last sign of
life (``heartbeat_at``, unix seconds), so a run whose process died reads as interrupted."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("runs", sa.Column("owner", sa.String(128)))
    op.add_column("runs", sa.Column("heartbeat_at", sa.Float))
