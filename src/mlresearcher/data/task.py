"""The learning task, inferred from the target, and the encoded target.

Rule (recorded as a finding, overridable with ``--task``):

* strings, booleans and categoricals -> ``binary`` (2 classes) or ``multiclass``;
* integer-valued numbers with 2 distinct values -> ``binary``;
* integer-valued numbers with at most 10 distinct values, each seen at least 5 times on
  average per value (n >= 20 x distinct) -> ``multiclass``;
* any other number -> ``regression``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.errors import ConfigError, DataError
from mlresearcher.findings import Finding

TASKS = ("binary", "multiclass", "regression")
MIN_ROWS = 10


@dataclass
class Target:
    """An encoded target: ``y`` (ints ``0..k-1`` or floats) and the original classes."""

    name: str
    task: str
    y: np.ndarray
    classes: list[Any] | None  # original labels in encoded order; None for regression
    findings: list[Finding] = field(default_factory=list)

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes is not None else 0


def find_target_column(columns: list[str], target: str, what: str = "target column") -> str:
    """``target`` if it is a column; otherwise a DataError that suggests close names.

    ``what`` names the column in the message (``"--group column"``, ...)."""
    if target in columns:
        return target
    lower = {c.lower(): c for c in columns}
    if target.lower() in lower:
        hint = [lower[target.lower()]]
    else:
        hint = difflib.get_close_matches(target, columns, n=3, cutoff=0.5)
    suggestion = (
        f"; did you mean {' or '.join(map(repr, hint))}?"
        if hint
        else f"; columns are: {', '.join(map(repr, columns[:20]))}"
    )
    raise DataError(f"{what} {target!r} not found{suggestion}")


def _integer_valued(v: np.ndarray) -> bool:
    return v.size > 0 and bool(np.all(np.isfinite(v)) and np.all(np.mod(v, 1) == 0))


def infer_task(y: pd.Series) -> str:
    """The task implied by a target column with no missing values (see module doc)."""
    n_unique = int(y.nunique())
    if (
        pd.api.types.is_bool_dtype(y)
        or isinstance(y.dtype, pd.CategoricalDtype)
        or not pd.api.types.is_numeric_dtype(y)
    ):
        return "binary" if n_unique == 2 else "multiclass"
    v = y.to_numpy(dtype=float)
    if _integer_valued(v):
        if n_unique == 2:
            return "binary"
        if n_unique <= 10 and len(v) >= 20 * n_unique:
            return "multiclass"
    return "regression"


def normalize_task(task: str | None) -> str | None:
    if task is None:
        return None
    t = task.strip().lower()
    aliases = {
        "classification": "classification",
        "class": "classification",
        "reg": "regression",
        "multi": "multiclass",
    }
    t = aliases.get(t, t)
    if t not in (*TASKS, "classification"):
        raise ConfigError(
            f"unknown task {task!r}; choose binary, multiclass, regression or classification"
        )
    return t


def encode_target(y: pd.Series, name: str, task: str | None = None) -> tuple[Target, np.ndarray]:
    """Encode ``y``; return the target and the mask of rows kept (target not missing)."""
    findings: list[Finding] = []
    keep = y.notna().to_numpy().copy()
    if pd.api.types.is_float_dtype(y):
        keep &= np.isfinite(y.to_numpy(dtype=float, na_value=np.nan))
    n_missing = int((~keep).sum())
    if keep.sum() == 0:
        raise DataError(
            f"target column {name!r} has no values (all missing); choose another target"
        )
    if n_missing:
        findings.append(
            Finding(
                "missing_target",
                "warning",
                f"{n_missing} row(s) with a missing target were dropped",
                column=name,
                evidence={"n_dropped": n_missing, "n_rows": int(len(y))},
                action="check why the target is missing; those rows are not used",
            )
        )
    yk = y[keep].reset_index(drop=True)
    task = normalize_task(task)
    classify = task in ("binary", "multiclass", "classification")
    if yk.nunique() < 2:
        if classify:
            raise DataError(
                f"target column {name!r} is constant (only one class, {_py(yk.iloc[0])!r}); "
                "a classifier needs at least 2 classes: choose another target"
            )
        raise DataError(
            f"target column {name!r} is constant (single value {_py(yk.iloc[0])!r}); there is nothing to predict"
        )
    if len(yk) < MIN_ROWS:
        raise DataError(f"too few rows: {len(yk)} with a target, at least {MIN_ROWS} are needed")
    if (
        classify
        and pd.api.types.is_float_dtype(yk)
        and not _integer_valued(yk.to_numpy(dtype=float))
    ):
        # Fractional numbers are measurements, not labels (scikit-learn's "continuous" target).
        raise DataError(
            f"target column {name!r} is continuous (fractional numbers), so it cannot be a classification "
            "target; use --task regression, or pass the classes as integers or strings"
        )
    inferred = infer_task(yk)
    if task is None:
        task = inferred
        findings.append(
            Finding(
                "task_inferred",
                "info",
                f"task inferred as {task} from target {name!r} ({yk.nunique()} distinct values, dtype {yk.dtype})",
                column=name,
                evidence={"n_unique": int(yk.nunique()), "dtype": str(yk.dtype)},
                action="pass --task to override",
            )
        )
    elif task == "classification":
        task = "binary" if yk.nunique() == 2 else "multiclass"
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(yk) or pd.api.types.is_bool_dtype(yk):
            converted = pd.to_numeric(yk, errors="coerce")
            if converted.isna().any():
                raise DataError(
                    f"target column {name!r} is not numeric, so it cannot be a regression target; use --task classification"
                )
            yk = converted
        return Target(name, task, yk.to_numpy(dtype=float), None, findings), keep
    counts = yk.value_counts()
    if task == "binary" and len(counts) != 2:
        raise DataError(
            f"Only binary classification is supported with task binary, but target {name!r} has "
            f"{len(counts)} classes; use --task multiclass"
        )
    if task == "multiclass" and len(counts) > 200:
        raise DataError(
            f"target {name!r} has {len(counts)} classes, too many for classification; use --task regression"
        )
    singles = counts[counts < 2]
    if len(singles):
        raise DataError(
            f"class(es) {', '.join(repr(_py(c)) for c in singles.index[:5])} of target {name!r} have a single row; "
            "cross-validation needs at least 2 rows per class: add rows or remove/merge those classes"
        )
    classes = sorted(counts.index.tolist(), key=_sort_key)
    lookup = {c: i for i, c in enumerate(classes)}
    y_enc = yk.map(lookup).to_numpy(dtype=np.int64)
    return Target(name, task, y_enc, [_py(c) for c in classes], findings), keep


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int | float | np.number | bool | np.bool_) else (1, str(v))
