"""Study results in the run store's database (same SQLAlchemy engine and URL).

Two tables of their own:

``studies``      one row per study name: the spec (JSON), created/updated times
``study_cells``  one row per (study, method, dataset, seed): status, metric, score, timings,
                 error, and hashes of the method and dataset definitions

A cell is committed the moment it finishes. On resume, a cell counts as done when its row
is complete and its hashes match the current spec (a changed method definition is re-run
under the same name); failed cells are re-run only on request.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    insert,
    select,
    update,
)

from mlresearcher.study.cell import CellResult

metadata = MetaData()

studies = Table(
    "studies",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("spec", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float),
)

study_cells = Table(
    "study_cells",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study", String(128), nullable=False, index=True),
    Column("method", String(128), nullable=False),
    Column("dataset", String(128), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # complete | failed
    Column("metric", String(32)),
    Column("greater_is_better", Boolean),
    Column("score", Float),
    Column("fit_time", Float),  # seconds
    Column("n_train", Integer),
    Column("n_test", Integer),
    Column("error", Text),
    Column("method_hash", String(32)),
    Column("dataset_hash", String(32)),
    Column("finished_at", Float),
    UniqueConstraint("study", "method", "dataset", "seed", name="uq_study_cell"),
)


class StudyStore:
    """Studies and their cells, in the database of a :class:`mlresearcher.store.db.Store`."""

    def __init__(self, store: Any) -> None:
        self.url = store.url
        self.engine = store.engine
        metadata.create_all(self.engine)

    def begin_study(self, name: str, spec: dict[str, Any]) -> None:
        now = time.time()
        with self.engine.begin() as c:
            exists = c.execute(select(studies.c.name).where(studies.c.name == name)).first()
            text = json.dumps(spec, default=str)
            if exists:
                c.execute(
                    update(studies).where(studies.c.name == name).values(spec=text, updated_at=now)
                )
            else:
                c.execute(
                    insert(studies).values(name=name, spec=text, created_at=now, updated_at=now)
                )

    def record_cell(self, r: CellResult) -> None:
        """Replace the row of this cell with ``r`` in one transaction."""
        row = {k: v for k, v in asdict(r).items() if k in study_cells.c}
        row["finished_at"] = time.time()
        with self.engine.begin() as c:
            c.execute(delete(study_cells).where(_key(r.study, r.method, r.dataset, r.seed)))
            c.execute(insert(study_cells).values(**row))

    def cells(self, study: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = c.execute(
                select(study_cells).where(study_cells.c.study == study).order_by(study_cells.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    def list_studies(self) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(select(studies)).mappings()]


def _key(study: str, method: str, dataset: str, seed: int):
    c = study_cells.c
    return and_(c.study == study, c.method == method, c.dataset == dataset, c.seed == seed)
