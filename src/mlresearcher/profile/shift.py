"""Train/test shift by adversarial validation.

A classifier learns to tell training rows from test rows (equal-sized samples of both,
every shared feature column coded as in :mod:`._codes`, bin edges from the training
rows). Its 3-fold cross-validated ROC AUC says how different the two are: 0.5 means
indistinguishable. The columns driving the difference are ranked by their own
adversarial AUC (the same per-code model as the single-column leakage check). The
classifier is scikit-learn's HistGradientBoostingClassifier with native categorical
splits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.findings import Finding
from mlresearcher.profile._codes import (
    MAX_LEVELS,
    bin_codes,
    bin_edges,
    fold_ids,
    numeric_values,
    oof_predict,
)

SHIFT_WARN = 0.6
SHIFT_CRITICAL = 0.8
DRIVER_AUC = 0.55
SAMPLE = 5000


def _joint_codes(a: pd.Series, b: pd.Series, role: str) -> tuple[np.ndarray, bool]:
    """Codes of the train values ``a`` followed by the test values ``b``; whether categorical."""
    va, vb = numeric_values(a, role), numeric_values(b, role)
    if va is not None and vb is not None:
        edges = bin_edges(va, 254)
        return bin_codes(np.concatenate([va, vb]), edges), False
    both = pd.concat([a.astype("object"), b.astype("object")], ignore_index=True)
    f, uniques = pd.factorize(both, use_na_sentinel=True)
    if len(uniques) > MAX_LEVELS:
        counts = np.bincount(f[f >= 0], minlength=len(uniques))
        keep = np.argsort(-counts, kind="stable")[:MAX_LEVELS]
        remap = np.full(len(uniques), MAX_LEVELS + 1, dtype=np.int64)
        remap[keep] = np.arange(1, MAX_LEVELS + 1)
        return np.where(f >= 0, remap[np.maximum(f, 0)], 0), True
    return (f + 1).astype(np.int64), True


def adversarial_validation(
    train: pd.DataFrame, test: pd.DataFrame, roles: dict[str, str], seed: int
) -> tuple[dict[str, Any], list[Finding]]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    findings: list[Finding] = []
    missing_in_test = [c for c in train.columns if c not in test.columns]
    extra_in_test = [c for c in test.columns if c not in train.columns]
    if missing_in_test:
        findings.append(
            Finding(
                "test_missing_columns",
                "warning",
                f"the test data lacks {len(missing_in_test)} column(s) of the training data: "
                + ", ".join(map(repr, missing_in_test[:10])),
                evidence={"columns": missing_in_test},
                action="a model trained on these columns cannot score the test data",
            )
        )
    shared = [
        c
        for c in train.columns
        if c in test.columns and roles.get(c) not in (None, "constant", "id")
    ]
    rng = np.random.default_rng(seed)
    m = min(len(train), len(test), SAMPLE)
    a = train.iloc[np.sort(rng.choice(len(train), m, replace=False))][shared]
    b = test.iloc[np.sort(rng.choice(len(test), m, replace=False))][shared]
    label = np.r_[np.zeros(m, dtype=np.int64), np.ones(m, dtype=np.int64)]
    cols, cat = [], []
    drivers: dict[str, float] = {}
    folds = fold_ids(2 * m, 3, seed, label)
    for c in shared:
        codes, is_cat = _joint_codes(a[c], b[c], roles[c])
        cols.append(codes)
        cat.append(is_cat)
        if np.unique(codes).size > 1:
            pred = oof_predict(codes, np.eye(2)[label], folds)
            drivers[c] = round(float(roc_auc_score(label, pred[:, 1])), 4)
    shift: dict[str, Any] = {
        "n_train_sampled": m,
        "n_test_sampled": m,
        "columns_missing_in_test": missing_in_test,
        "columns_extra_in_test": extra_in_test,
        "column_auc": dict(sorted(drivers.items(), key=lambda kv: -kv[1])),
    }
    if not cols or m < 20:
        shift["auc"] = None
        return shift, findings
    M = np.column_stack(cols).astype("float64")
    clf = HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.1,
        categorical_features=np.array(cat) if any(cat) else None,
        early_stopping=False,
        random_state=seed,
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    # One OpenMP thread: on a busy machine, threads waiting for each other at every
    # boosting iteration made this small fit take minutes instead of a second.
    with threadpool_limits(limits=1, user_api="openmp"):
        proba = cross_val_predict(clf, M, label, cv=cv, method="predict_proba")[:, 1]
    auc = round(float(roc_auc_score(label, proba)), 4)
    shift["auc"] = auc
    top = [(c, s) for c, s in shift["column_auc"].items() if s >= DRIVER_AUC][:5]
    shift["drivers"] = [c for c, _ in top]
    if auc >= SHIFT_WARN:
        findings.append(
            Finding(
                "train_test_shift",
                "critical" if auc >= SHIFT_CRITICAL else "warning",
                f"training and test rows are distinguishable (adversarial AUC {auc:.3f})"
                + (f"; driven by {', '.join(f'{c} ({s:.2f})' for c, s in top)}" if top else ""),
                evidence={"auc": auc, "drivers": dict(top), "n_per_side": m},
                action="cross-validated scores will not hold on the test data; check the "
                "driving columns (time trends, changed collection) and drop or re-base them",
            )
        )
    else:
        findings.append(
            Finding(
                "no_train_test_shift",
                "info",
                f"no material train/test shift (adversarial AUC {auc:.3f})",
                evidence={"auc": auc, "n_per_side": m},
                action="none needed",
            )
        )
    return shift, findings
