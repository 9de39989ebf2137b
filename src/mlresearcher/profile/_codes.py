"""Columns as small integer codes, and the out-of-fold score of one coded column.

Every model-based check of the profile (a column's own cross-validated score, the
adversarial validation drivers) works on *codes*: a numeric or datetime column becomes its
quantile bin, a categorical its level (the most frequent ``MAX_LEVELS`` kept, the rest
pooled), text its length bin, and a missing value its own code. A per-code table of target
sums learned on the training folds then predicts the held-out fold. That is a histogram
model: it sees any monotone or non-monotone dependence on one column, costs a few
``bincount`` calls, and learns nothing outside its training fold.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

MAX_LEVELS = 254
NUMERIC_BINS = 64


def numeric_values(s: pd.Series, role: str) -> np.ndarray | None:
    """The column as float64 (datetimes as seconds, text as its length), or None."""
    if isinstance(s.dtype, pd.CategoricalDtype) and role in ("datetime", "text"):
        # convert each distinct value once, then spread by code
        cats = pd.Series(np.asarray(s.cat.categories, dtype=object))
        per = numeric_values(cats, role)
        assert per is not None
        c = s.cat.codes.to_numpy()
        return np.where(c >= 0, per[np.maximum(c, 0)], np.nan)
    if role == "datetime":
        if pd.api.types.is_datetime64_any_dtype(s):
            d = s
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                d = pd.to_datetime(s.astype("object"), errors="coerce", format="mixed")
        if getattr(d.dt, "tz", None) is not None:
            d = d.dt.tz_convert("UTC").dt.tz_localize(None)
        v = d.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64") / 1e9
        v[d.isna().to_numpy()] = np.nan
        return v
    if role == "text":
        return (
            s.astype("object")
            .where(s.notna(), None)
            .map(lambda t: np.nan if t is None else float(len(str(t))))
            .to_numpy(dtype="float64")
        )
    if role == "numeric" or (pd.api.types.is_numeric_dtype(s) and role in ("id", "constant")):
        if pd.api.types.is_bool_dtype(s):
            return s.astype("float64").to_numpy()
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        v = v.copy()
        v[~np.isfinite(v)] = np.nan
        return v
    return None


def codes(s: pd.Series, role: str, *, bins: int = NUMERIC_BINS) -> np.ndarray:
    """Integer codes ``0..m`` of a column (see the module doc); missing values get code 0."""
    v = numeric_values(s, role)
    if v is not None:
        return bin_codes(v, bin_edges(v, bins))
    if isinstance(s.dtype, pd.CategoricalDtype):
        f, n_levels = s.cat.codes.to_numpy().astype(np.int64), len(s.cat.categories)
    else:
        f, uniques = pd.factorize(s.astype("object"), use_na_sentinel=True)
        n_levels = len(uniques)
    if n_levels > MAX_LEVELS:
        counts = np.bincount(f[f >= 0], minlength=n_levels)
        keep = np.argsort(-counts, kind="stable")[:MAX_LEVELS]
        remap = np.full(n_levels, MAX_LEVELS + 1, dtype=np.int64)  # pooled rare levels
        remap[keep] = np.arange(1, MAX_LEVELS + 1)
        return np.where(f >= 0, remap[np.maximum(f, 0)], 0)
    return (f + 1).astype(np.int64)


def bin_edges(v: np.ndarray, bins: int = NUMERIC_BINS) -> np.ndarray:
    """Inner quantile edges of the finite values of ``v`` (at most ``bins`` bins)."""
    finite = v[~np.isnan(v)]
    if finite.size == 0:
        return np.empty(0)
    uniq = np.unique(finite) if finite.size <= 4 * bins else None
    if uniq is not None and uniq.size <= bins:
        return (uniq[:-1] + uniq[1:]) / 2  # one bin per distinct value
    return np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))


def bin_codes(v: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index + 1 for each value of ``v`` (``searchsorted`` on ``edges``); NaN -> 0."""
    out = np.searchsorted(edges, v, side="right").astype(np.int64) + 1
    out[np.isnan(v)] = 0
    return out


def fold_ids(n: int, k: int, seed: int, y: np.ndarray | None = None) -> np.ndarray:
    """Fold of each row: random, stratified by class when ``y`` holds class indices."""
    rng = np.random.default_rng(seed)
    folds = np.empty(n, dtype=np.int64)
    if y is None:
        folds[rng.permutation(n)] = np.arange(n) % k
        return folds
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        folds[idx[rng.permutation(idx.size)]] = np.arange(idx.size) % k
    return folds


def oof_predict(c: np.ndarray, Y: np.ndarray, folds: np.ndarray, prior_weight: float = 1.0):
    """Out-of-fold predictions of the per-code mean of ``Y`` (n x d), shrunk to the prior.

    Each held-out row gets ``(sum_code + w * prior) / (count_code + w)`` with sums, counts
    and the prior taken from the other folds only; an unseen code gets the prior.
    """
    m = int(c.max()) + 1 if c.size else 1
    k = int(folds.max()) + 1
    cell = folds * m + c  # (fold, code) pairs: per-fold tables, training = total - own fold
    count = np.bincount(cell, minlength=k * m).reshape(k, m).astype("float64")
    train_count = count.sum(axis=0) - count
    n_train = train_count.sum(axis=1)  # rows outside each fold
    out = np.empty_like(Y, dtype="float64")
    for j in range(Y.shape[1]):
        sums = np.bincount(cell, weights=Y[:, j], minlength=k * m).reshape(k, m)
        train_sums = sums.sum(axis=0) - sums
        prior = train_sums.sum(axis=1) / np.maximum(n_train, 1)
        table = (train_sums + prior_weight * prior[:, None]) / (train_count + prior_weight)
        out[:, j] = table[folds, c]
    return out
