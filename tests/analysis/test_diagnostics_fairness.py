"""Diagnostics and fairness numbers equal scikit-learn's and Fairlearn's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_dataset
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.calibration import calibration_curve
from sklearn.metrics import accuracy_score, brier_score_loss, confusion_matrix

from mlresearcher.analysis import diagnostics
from mlresearcher.analysis._common import oof_scores
from mlresearcher.analysis.fairness import GAP, fairness, group_labels
from mlresearcher.engine import RunConfig, run, split_target


@pytest.fixture(scope="module")
def recid():
    df, _ = load_dataset("recidivism_two_year", 600)
    X, y = split_target(df, "two_year_recid")
    cfg = RunConfig(time_limit=None, max_trials=1, families=["linear"], folds=4)
    rr = run(X, y, cfg)
    oof, mask = oof_scores(rr)
    return rr, X.reset_index(drop=True), rr.target.y[mask], oof[mask]


def test_calibration_and_brier_equal_scikit_learn(recid):
    rr, _, y, s = recid
    cal = diagnostics.calibration(y, s)
    frac, mean = calibration_curve(y, s[:, 1], n_bins=10, strategy="quantile")
    assert cal["brier"] == pytest.approx(brier_score_loss(y, s[:, 1]))
    np.testing.assert_allclose(cal["fraction_positive"], frac)
    np.testing.assert_allclose(cal["mean_predicted"], mean)
    cm = diagnostics.confusion(y, s, rr.target.classes)
    assert cm["matrix"] == confusion_matrix(y, np.argmax(s, axis=1)).tolist()


def test_multiclass_calibration_is_top_label():
    rng = np.random.default_rng(0)
    p = rng.dirichlet([1, 1, 1], size=300)
    y = rng.integers(0, 3, size=300)
    cal = diagnostics.calibration(y, p)
    correct = (np.argmax(p, axis=1) == y).astype(int)
    assert cal["brier"] == pytest.approx(brier_score_loss(correct, p.max(axis=1)))
    assert cal["multiclass_brier"] == pytest.approx(np.mean(np.sum((p - np.eye(3)[y]) ** 2, 1)))


def test_error_slices_report_size_and_error():
    Xp = pd.DataFrame({"g": ["a"] * 60 + ["b"] * 40, "x": np.arange(100.0)})
    y = np.zeros(100, dtype=int)
    s = np.tile([0.9, 0.1], (100, 1))
    s[60:80] = [0.2, 0.8]  # half of group b misclassified
    out = diagnostics.error_slices(Xp, y, s, "binary", min_size=20)
    worst = out["worst"][0]
    assert out["overall"] == pytest.approx(0.2)
    assert worst["slice"] in ("g = b", "x in [49.5, 74.25)", "x in [74.25, 99]")
    by_name = {r["slice"]: r for r in out["worst"]}
    assert by_name["g = b"]["size"] == 40 and by_name["g = b"]["error"] == pytest.approx(0.5)
    assert by_name["g = a"]["error"] == 0.0


def test_fairness_table_equals_fairlearn_metricframe(recid):
    rr, X, y, s = recid
    sens = X.loc[rr.protocol.validated_mask(len(X)), ["race", "age"]].reset_index(drop=True)
    out = fairness(sens, y, s, "binary", rr.target.classes)
    pred = np.argmax(s, axis=1)
    for col in out["columns"]:
        groups = group_labels(sens[col["column"]])
        mf = MetricFrame(
            metrics={
                "count": count,
                "selection_rate": selection_rate,
                "tpr": true_positive_rate,
                "fpr": false_positive_rate,
                "accuracy": accuracy_score,
            },
            y_true=y,
            y_pred=pred,
            sensitive_features=groups,
        )
        ref = mf.by_group.reset_index()
        got = pd.DataFrame(col["per_class"][0]["by_group"])
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), ref.reset_index(drop=True), check_dtype=False
        )
        dp = demographic_parity_difference(y, pred, sensitive_features=groups)
        eo = equalized_odds_difference(y, pred, sensitive_features=groups)
        pc = col["per_class"][0]
        assert pc["demographic_parity_difference"] == pytest.approx(dp)
        assert pc["equalized_odds_difference"] == pytest.approx(eo)
        assert pc["flagged"] == (dp > GAP or eo > GAP)
    age = next(c for c in out["columns"] if c["column"] == "age")
    assert age["n_groups"] == 4  # a many-valued number is cut into quartiles


def test_regression_fairness_flags_a_worse_group():
    rng = np.random.default_rng(1)
    g = pd.DataFrame({"sex": ["f"] * 100 + ["m"] * 100})
    y = rng.normal(size=200)
    pred = y + np.r_[rng.normal(0, 0.1, 100), rng.normal(0, 1.0, 100)]
    out = fairness(g, y, pred, "regression", None)
    col = out["columns"][0]
    mae = {r["sex"]: r["mae"] for r in col["by_group"]}
    assert mae["m"] == pytest.approx(np.mean(np.abs(y - pred)[100:]))
    assert col["flagged"] and out["flagged"] == ["sex"]
