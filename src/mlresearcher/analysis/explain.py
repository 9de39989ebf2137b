"""Why the final model predicts what it does.

* **Permutation importance on out-of-fold data**: for every fold of the first repeat, the
  final model's fold-``i`` models (the ones that never saw fold ``i``) score fold ``i``'s
  validation rows with one feature shuffled.
  The importance is the loss of the run's metric it causes, in the metric's units, averaged
  over folds and shuffles (Breiman's definition, as scikit-learn's
  ``permutation_importance``; computed here in batches, see the function).
* **SHAP values** of the booster (LightGBM, XGBoost or CatBoost) with the largest weight in
  the final ensemble, each fold model on its own validation rows: a summary (mean absolute
  SHAP value per feature) and dependence data for the top features. They come from each
  booster's own exact TreeSHAP (path-dependent, Lundberg et al. 2020: the algorithm of
  ``shap.TreeExplainer`` without background data), so no extra package is needed;
  scikit-learn's forests have none and are not explained this way. Values are in the
  model's raw output units: log-odds for classifiers (per-class softmax margins for
  multiclass), target units for regression.
* **Partial dependence** of the final model on the top features: the average prediction
  when a feature is set to each grid value for every row of a sample (Friedman, 2001).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.analysis._common import Budget, fold_ensemble_scores, sample_rows


def permutation_importance_oof(
    predictor: Any,
    Xp: pd.DataFrame,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    metric: Any,
    *,
    seed: int,
    budget: Budget | None = None,
    n_repeats: int = 3,
    max_rows: int = 4000,
    max_batch_rows: int = 200_000,
) -> dict[str, Any]:
    """Importance of each prepared feature: metric loss when it is shuffled, out of fold.

    For fold ``i``: the score of the fold-``i`` models on (a sample of) fold ``i``'s
    validation rows, minus their score with one column permuted, ``n_repeats`` times per
    column (Breiman's permutation importance, as scikit-learn's ``permutation_importance``
    defines it). All permuted copies of a fold are scored in a few large batches: one
    prediction call per batch instead of one per column and repeat, which is what makes it
    affordable inside the time limit.
    """
    import sklearn

    budget = budget or Budget()
    per_fold = max(50, max_rows // max(1, len(folds)))
    rng = np.random.default_rng(seed)
    cols = list(Xp.columns)
    t0 = time.monotonic()
    chunks = []
    for i, (_, va) in enumerate(folds):
        if chunks and not budget.fits((time.monotonic() - t0) / len(chunks)):
            budget.skip(f"permutation importance: {len(folds) - i} of {len(folds)} folds (time)")
            break
        rows = va[sample_rows(len(va), per_fold, seed + i)]
        Xv, yv = Xp.iloc[rows].reset_index(drop=True), y[rows]
        n = len(rows)
        t_base = time.monotonic()
        base = -metric.loss(metric(yv, fold_ensemble_scores(predictor, i, Xv)))
        # the permuted copies cost len(cols) * n_repeats times this prediction: with a slow
        # final model (nearest neighbours), fewer rows, so that every feature is scored
        per_row = (time.monotonic() - t_base) / n
        left = budget.left()
        affordable = (
            n
            if left == float("inf")
            else int(left / max(1e-9, per_row * (len(cols) * n_repeats + 1)))
        )
        if affordable < n:
            if affordable < min(n, 50):
                budget.skip(
                    f"permutation importance: {len(folds) - i} of {len(folds)} folds (time)"
                )
                break
            keep = sample_rows(n, affordable, seed + i)
            Xv, yv, n = Xv.iloc[keep].reset_index(drop=True), yv[keep], len(keep)
            budget.skip(f"permutation importance: fold {i + 1} on {n} rows, not {len(rows)} (time)")
            base = -metric.loss(metric(yv, fold_ensemble_scores(predictor, i, Xv)))
        jobs = [(j, rng.permutation(n)) for j in range(len(cols)) for _ in range(n_repeats)]
        imp = np.zeros((len(cols), n_repeats))
        filled = np.zeros(len(cols), dtype=int)
        per_batch = max(1, max_batch_rows // max(1, n))
        for b in range(0, len(jobs), per_batch):
            batch = jobs[b : b + per_batch]
            frames = []
            for j, perm in batch:
                Xc = Xv.copy()
                Xc[cols[j]] = Xv[cols[j]].to_numpy()[perm]
                frames.append(Xc)
            scores = fold_ensemble_scores(predictor, i, pd.concat(frames, ignore_index=True))
            # many small metric calls: skip scikit-learn's per-call input validation
            with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
                for k, (j, _) in enumerate(batch):
                    part = scores[k * n : (k + 1) * n]
                    imp[j, filled[j]] = base + metric.loss(metric(yv, part))
                    filled[j] += 1
        chunks.append(imp)
    if not chunks:
        return {"features": [], "folds_used": 0}
    imp = np.concatenate(chunks, axis=1)  # (features, folds * repeats)
    order = np.argsort(-imp.mean(axis=1), kind="stable")
    return {
        "method": "permutation importance on out-of-fold rows (metric loss when shuffled)",
        "metric": metric.name,
        "folds_used": len(chunks),
        "n_repeats": n_repeats,
        "features": [
            {
                "feature": str(cols[j]),
                "importance": float(imp[j].mean()),
                "std": float(imp[j].std(ddof=1)) if imp.shape[1] > 1 else 0.0,
            }
            for j in order
        ],
        "seconds": round(time.monotonic() - t0, 3),
    }


def _lightgbm_contributions(est: Any, Xt: Any) -> np.ndarray:
    # (n, features + 1), or (n, (features + 1) * classes) in class blocks
    c = np.asarray(
        est.booster_.predict(Xt, num_iteration=est.n_iterations_, pred_contrib=True), dtype=float
    )
    n_out = max(1, c.shape[1] // (Xt.shape[1] + 1))
    return c.reshape(len(c), n_out, Xt.shape[1] + 1)


def _xgboost_contributions(est: Any, Xt: Any) -> np.ndarray:
    # the model's own DMatrix (float32, native categorical columns as at fit time)
    c = est.booster_.predict(
        est._dmatrix(Xt), pred_contribs=True, iteration_range=(0, est.n_iterations_)
    )
    c = np.asarray(c, dtype=float)  # (n, features + 1) or (n, classes, features + 1)
    return c[:, None, :] if c.ndim == 2 else c


def _catboost_contributions(est: Any, Xt: Any) -> np.ndarray:
    from catboost import Pool

    learner = est.learner_
    pool = Pool(Xt, cat_features=learner.get_cat_feature_indices())  # as at fit time
    c = learner.get_feature_importance(pool, type="ShapValues", thread_count=max(1, est.n_jobs))
    c = np.asarray(c, dtype=float)  # (n, features + 1) or (n, classes, features + 1)
    return c[:, None, :] if c.ndim == 2 else c


#: families whose booster computes exact TreeSHAP itself, and how to ask it: each gives
#: ``(n, outputs, features + 1)`` raw-margin contributions, the last column the bias
#: (expected value); one output for regression and binary (the second present class)
SHAP_LEARNERS = {
    "lightgbm": _lightgbm_contributions,
    "xgboost": _xgboost_contributions,
    "catboost": _catboost_contributions,
}

#: tree families without a native TreeSHAP (scikit-learn's forests)
_FORESTS = ("random_forest", "extra_trees")


def _tree_member(predictor: Any) -> Any:
    """The heaviest member TreeSHAP reads on the target's own scale (a learner fitted on a
    transformed target would be explained on that scale: it is passed over)."""
    for m in sorted(predictor.members, key=lambda m: -m.weight):
        if m.family in SHAP_LEARNERS and not any(
            getattr(est, "target_transform", None) for est in m.models
        ):
            return m
    return None


def fold_shap(
    est: Any, family: str, X: pd.DataFrame, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact TreeSHAP of one fitted booster on prepared rows ``X``, in raw-margin units.

    Returns ``(values, bias)``. Regression: ``values`` ``(n, features)`` and ``bias``
    ``(n,)`` in target units, summing to the prediction. Classification: ``values``
    ``(n, features, n_classes)`` and ``bias`` ``(n, n_classes)``, summing per class to the
    margin (log-odds) the probabilities come from; a one-output model (two classes in the
    fold) gives the log-odds of the second present class, in that class's column; classes
    the fold never saw get zeros. Features are ``est.preprocessor_``'s output columns.
    """
    from mlresearcher.models._estimator import _thread_limit

    Xt = est.preprocessor_.transform(X)
    with _thread_limit(getattr(est, "n_jobs", 1)), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = SHAP_LEARNERS[family](est, Xt)
    if getattr(est, "task", "regression") == "regression":
        return c[:, 0, :-1], c[:, 0, -1]
    present = list(getattr(est, "present_classes_", range(c.shape[1])))
    if c.shape[1] == 1:
        present = present[1:]
    values = np.zeros((c.shape[0], c.shape[2] - 1, n_classes))
    bias = np.zeros((c.shape[0], n_classes))
    values[:, :, present] = c[:, :, :-1].transpose(0, 2, 1)
    bias[:, present] = c[:, :, -1]
    return values, bias


def shap_values(
    predictor: Any,
    Xp: pd.DataFrame,
    folds: list[tuple[np.ndarray, np.ndarray]],
    *,
    classes: list[Any] | None,
    seed: int,
    budget: Budget | None = None,
    max_rows: int = 1000,
    top: int = 10,
    n_dependence: int = 3,
    max_points: int = 400,
) -> dict[str, Any]:
    """TreeSHAP of the heaviest booster member, out of fold; summary and dependence data."""
    budget = budget or Budget()
    member = _tree_member(predictor)
    if member is None:
        fams = sorted({m.family for m in predictor.members})
        forests = [f for f in fams if f in _FORESTS]
        booster = "no booster (LightGBM, XGBoost, CatBoost) fitted on the target's own scale"
        if forests:
            why = (
                "SHAP values come from the boosters' own TreeSHAP (LightGBM, XGBoost, "
                f"CatBoost), which scikit-learn forests ({', '.join(forests)}) lack, and the "
                f"final model ({', '.join(fams)}) has {booster}"
            )
        else:
            why = f"the final model ({', '.join(fams)}) has {booster}"
        return {
            "available": False,
            "reason": f"{why}; permutation importance and partial dependence describe it instead",
        }
    task = predictor.task
    per_fold = max(20, max_rows // max(1, len(folds)))
    t0 = time.monotonic()
    parts: list[np.ndarray] = []
    rows_all: list[np.ndarray] = []
    names: list[str] | None = None
    for i, (_, va) in enumerate(folds):
        if parts and not budget.fits((time.monotonic() - t0) / len(parts)):
            budget.skip(f"SHAP: {len(folds) - i} of {len(folds)} folds (time)")
            break
        est = member.models[i]
        if getattr(est, "constant_", None) is not None:
            continue
        rows = va[sample_rows(len(va), per_fold, seed + i)]
        v, _ = fold_shap(
            est, member.family, Xp.iloc[rows].reset_index(drop=True), len(classes or [])
        )
        parts.append(v)
        rows_all.append(rows)
        names = [str(c) for c in est.preprocessor_.get_feature_names_out()]
    if not parts or names is None:
        return {"available": False, "reason": "no fold model could be explained"}
    values = np.concatenate(parts, axis=0)
    rows = np.concatenate(rows_all)
    explained_class = None
    mean_abs = None
    if task != "regression":
        per_class = np.abs(values).mean(axis=(0, 1))
        k = int(np.argmax(per_class)) if task == "multiclass" else len(per_class) - 1
        explained_class = str((classes or [])[k]) if classes else str(k)
        mean_abs = np.abs(values).mean(axis=(0, 2)) if task == "multiclass" else None
        values = values[:, :, k]
    if mean_abs is None:
        mean_abs = np.abs(values).mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")[:top]
    pick = sample_rows(len(rows), max_points, seed)
    summary = []
    for j in order:
        x = _feature_values(Xp, names[j], rows[pick])
        summary.append(
            {
                "feature": names[j],
                "mean_abs_shap": float(mean_abs[j]),
                "shap": [float(v) for v in values[pick, j]],
                "value_rank": _ranks(x),
            }
        )
    dependence = [
        {
            "feature": names[j],
            "x": _jsonable(_feature_values(Xp, names[j], rows[pick])),
            "shap": [float(v) for v in values[pick, j]],
        }
        for j in order[:n_dependence]
    ]
    return {
        "available": True,
        "model": member.name,
        "family": member.family,
        "weight": member.weight,
        "explained_class": explained_class,
        "units": "log-odds" if task != "regression" else "target units",
        "n_rows": int(len(rows)),
        "summary": summary,
        "dependence": dependence,
        "seconds": round(time.monotonic() - t0, 3),
    }


def _feature_values(Xp: pd.DataFrame, name: str, rows: np.ndarray) -> pd.Series:
    if name in Xp.columns:
        return Xp[name].iloc[rows].reset_index(drop=True)
    return pd.Series([None] * len(rows))  # a derived column (text components)


def _ranks(x: pd.Series) -> list[float | None]:
    """Feature values as ranks in [0, 1] for colouring (categories by code order)."""
    num = pd.to_numeric(x, errors="coerce")
    if num.notna().sum() == 0:
        num = pd.Series(pd.factorize(x.astype(str))[0], dtype=float)
        num[x.isna()] = np.nan
    r = num.rank(pct=True)
    return [None if pd.isna(v) else float(v) for v in r]


def _jsonable(x: pd.Series) -> list[Any]:
    out = []
    for v in x.tolist():
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            out.append(None)
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


def partial_dependence(
    predictor: Any,
    Xp: pd.DataFrame,
    features: list[str],
    *,
    seed: int,
    budget: Budget | None = None,
    max_rows: int = 150,
    grid: int = 15,
) -> dict[str, Any]:
    """Average prediction of the final model over a grid of each feature's values.

    Numeric features: up to ``grid`` distinct quantiles between the 5th and 95th percentile;
    categorical ones: their most frequent levels. Output per grid value: the mean predicted
    probability of each class (classification) or the mean prediction (regression).
    """
    budget = budget or Budget()
    rows = sample_rows(len(Xp), max_rows, seed)
    base = Xp.iloc[rows].reset_index(drop=True)
    out = []
    t0 = time.monotonic()
    for f in features:
        if f not in Xp.columns:
            continue
        if out and not budget.fits((time.monotonic() - t0) / len(out)):
            budget.skip(f"partial dependence: {f} and later features (time)")
            break
        col = Xp[f]
        numeric = pd.api.types.is_numeric_dtype(col)
        if numeric:
            vals = col.dropna().to_numpy(dtype=float)
            if len(vals) == 0:
                continue
            values: list[Any] = sorted(set(np.quantile(vals, np.linspace(0.05, 0.95, grid))))
        else:
            values = col.dropna().astype(str).value_counts().index[:grid].tolist()
        frames = []
        for v in values:
            g = base.copy()
            g[f] = v if not numeric else float(v)
            frames.append(g)
        big = pd.concat(frames, ignore_index=True)
        s = predictor.predict_scores(big, prepared=True)
        s = s.reshape(len(values), len(base), *s.shape[1:]).mean(axis=1)
        out.append(
            {
                "feature": f,
                "kind": "numeric" if numeric else "categorical",
                "grid": [float(v) if numeric else str(v) for v in values],
                "average": s.tolist(),
            }
        )
    return {
        "method": "partial dependence (brute force average over a row sample)",
        "n_rows": int(len(base)),
        "features": out,
        "seconds": round(time.monotonic() - t0, 3),
    }
