"""One study cell: a method fitted and scored on one dataset with one seed.

:func:`run_cell` is a plain top-level function of a picklable :class:`Cell`, so any
executor (the local loop, a process pool, a Dask cluster) can ship it: the cell reads its
own data and returns plain values.

The cell's protocol: read the dataset, drop rows with a missing target, subsample to
``max_rows`` (seeded), split off ``test_size`` of the rows as a test set (stratified for
classification, seeded), fit the method on the rest, and score the test set with the
dataset's metric. Different seeds give different splits (and model seeds), so the spread
over seeds measures the whole procedure's variability.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Cell:
    study: str
    method: dict[str, Any]
    dataset: dict[str, Any]  # DatasetSpec as a dict
    seed: int
    test_size: float = 0.25
    budget: float = 30.0
    max_rows: int | None = None
    n_jobs: int = 2
    method_hash: str = ""
    dataset_hash: str = ""

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.method["name"], self.dataset["name"], self.seed)


@dataclass
class CellResult:
    study: str
    method: str
    dataset: str
    seed: int
    status: str  # complete | failed
    metric: str | None = None
    greater_is_better: bool | None = None
    score: float | None = None
    fit_time: float = 0.0
    n_train: int = 0
    n_test: int = 0
    error: str | None = None
    method_hash: str = ""
    dataset_hash: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def run_cell(cell: Cell) -> CellResult:
    """Fit and score one cell; a failure is returned (status ``failed``), never raised."""
    res = CellResult(
        cell.study,
        cell.method["name"],
        cell.dataset["name"],
        cell.seed,
        "failed",
        method_hash=cell.method_hash,
        dataset_hash=cell.dataset_hash,
    )
    try:
        _run(cell, res)
        res.status = "complete"
    except Exception as e:  # recorded with the cell; the study goes on
        res.error = (
            f"{type(e).__name__}: {e}".strip()[:1000] + "\n" + traceback.format_exc(limit=4)
        )[-3000:]
        if "t0" in res.extra:
            res.fit_time = time.monotonic() - res.extra["t0"]
    res.extra.pop("t0", None)
    return res


def _run(cell: Cell, res: CellResult) -> None:
    from sklearn.model_selection import train_test_split

    from mlresearcher.data.io import read_table
    from mlresearcher.data.task import encode_target, find_target_column
    from mlresearcher.metrics import get_metric
    from mlresearcher.study.methods import fit_predict

    d = cell.dataset
    df = read_table(d["file"])
    tname = find_target_column([str(c) for c in df.columns], d["target"])
    target, keep = encode_target(df[tname].reset_index(drop=True), tname, _task(d.get("task")))
    X = df.drop(columns=[tname]).reset_index(drop=True).loc[keep].reset_index(drop=True)
    y = target.y
    rng = np.random.default_rng(cell.seed)
    if cell.max_rows is not None and len(y) > cell.max_rows:
        idx = np.sort(rng.choice(len(y), cell.max_rows, replace=False))
        X, y = X.iloc[idx].reset_index(drop=True), y[idx]
    metric = get_metric(d.get("metric"), target.task)
    classification = target.task != "regression"
    strat = y if classification and np.bincount(y).min() >= 2 else None
    tr, te = train_test_split(
        np.arange(len(y)), test_size=cell.test_size, random_state=cell.seed, stratify=strat
    )
    t0 = time.monotonic()
    res.extra["t0"] = t0
    scores = fit_predict(
        cell.method,
        X.iloc[tr].reset_index(drop=True),
        y[tr],
        X.iloc[te].reset_index(drop=True),
        task=target.task,
        n_classes=target.n_classes,
        seed=cell.seed,
        budget=cell.budget,
        n_jobs=cell.n_jobs,
    )
    res.fit_time = time.monotonic() - t0
    res.metric, res.greater_is_better = metric.name, metric.greater_is_better
    res.score = metric(y[te], scores)
    res.n_train, res.n_test = len(tr), len(te)


def _task(task: str | None) -> str | None:
    if task in (None, "", "unknown"):
        return None
    return "regression" if task == "regression" else task
