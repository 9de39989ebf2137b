"""The first released schema: ``runs`` and ``trials``.

Written out here, not taken from :data:`mlresearcher.store.db.metadata`: a revision is a
fixed step from the schema before it, while ``metadata`` follows head.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.Column("target", sa.String(256)),
        sa.Column("task", sa.String(16)),
        sa.Column("metric", sa.String(32)),
        sa.Column("n_rows", sa.Integer),
        sa.Column("n_features", sa.Integer),
        sa.Column("data_hash", sa.String(64)),
        sa.Column("data_source", sa.Text),
        sa.Column("run_dir", sa.Text),
        sa.Column("config", sa.Text),
        sa.Column("best_score", sa.Float),
        sa.Column("best_model", sa.String(128)),
        sa.Column("n_trials", sa.Integer),
        sa.Column("summary", sa.Text),
    )
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(16)),
        sa.Column("params", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("score_std", sa.Float),
        sa.Column("fold_scores", sa.Text),
        sa.Column("n_folds_done", sa.Integer),
        sa.Column("fit_time", sa.Float),
        sa.Column("predict_time", sa.Float),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.Column("error", sa.Text),
        sa.UniqueConstraint("run_id", "number", name="uq_trial_number"),
    )
    op.create_index("ix_trials_run_id", "trials", ["run_id"])
