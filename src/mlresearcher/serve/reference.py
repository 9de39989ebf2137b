"""The drift reference a run leaves behind: a bounded, seeded sample of its training rows.

``reference.parquet`` holds up to :data:`REFERENCE_ROWS` training rows drawn at random
(with the run's seed): the input columns the model uses, as given to ``run``, and the
final model's out-of-fold prediction for each row (``__pred__`` for regression, one
``__proba__<class>`` column per class). Out-of-fold predictions are what the model does on
rows it did not train on, so they are the right baseline for the predictions it makes in
production. :mod:`mlresearcher.serve.drift` compares new data with this sample.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mlresearcher.data.schema import Schema, _string_values

if TYPE_CHECKING:
    from mlresearcher.engine import RunResult

REFERENCE_FILE = "reference.parquet"
#: rows kept; enough for stable PSI and KS, small enough to load in milliseconds
REFERENCE_ROWS = 5_000
PRED_COLUMN = "__pred__"
PROBA_PREFIX = "__proba__"


def prediction_columns(task: str, classes: list | None) -> list[str]:
    """The reference's prediction columns for a task."""
    if task == "regression":
        return [PRED_COLUMN]
    return [f"{PROBA_PREFIX}{c}" for c in classes or []]


def reference_frame(
    X: pd.DataFrame, oof: np.ndarray, schema: Schema, task: str, classes: list | None, seed: int
) -> pd.DataFrame:
    """The bounded, seeded sample of ``X`` (input columns) with its out-of-fold predictions.

    ``oof`` is ``(repeats, n)`` or ``(repeats, n, k)``; repeats are averaged. Object
    columns are stored as strings (``None`` for missing), which is how the model reads them.
    """
    n = len(X)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=min(n, REFERENCE_ROWS), replace=False))
    out = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    for name in schema.input_columns:
        s = X[name].iloc[rows].reset_index(drop=True)
        if s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype):
            s = _string_values(s)
        out[name] = s
    with warnings.catch_warnings():  # rows never validated (time protocols) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        scores = np.nanmean(oof, axis=0) if oof.shape[0] > 1 else oof[0]
    scores = scores[rows]
    for j, col in enumerate(prediction_columns(task, classes)):
        out[col] = scores if task == "regression" else scores[:, j]
    return out


def write_reference(rr: RunResult, run_dir: Path) -> str | None:
    """Write ``reference.parquet`` for a finished run; its file name, or ``None`` without inputs.

    Called by :func:`mlresearcher.store.rundir.write_run_dir`; the engine passes the
    training inputs in ``rr.extra["inputs"]["X"]``.
    """
    X = rr.extra.get("inputs")
    if isinstance(X, dict):  # {"X": raw inputs, "Xp": prepared features}
        X = X.get("X")
    if X is None:
        return None
    seed = int(rr.extra.get("seed", 0))
    frame = reference_frame(X, rr.oof, rr.schema, rr.task, rr.target.classes, seed)
    frame.columns = [str(c) for c in frame.columns]
    from mlresearcher.store.atomic import atomic_path

    with atomic_path(run_dir / REFERENCE_FILE) as tmp:
        frame.to_parquet(tmp, index=False)
    return REFERENCE_FILE


def read_reference(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(Path(run_dir) / REFERENCE_FILE)


__all__ = [
    "PRED_COLUMN",
    "PROBA_PREFIX",
    "REFERENCE_FILE",
    "REFERENCE_ROWS",
    "prediction_columns",
    "read_reference",
    "reference_frame",
    "write_reference",
]
