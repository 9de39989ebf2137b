"""Explanations and the learning curve find a planted signal and report consistent numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlresearcher.analysis import analyse
from mlresearcher.engine import RunConfig, run


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue"], size=n),
        }
    )
    y = pd.Series(np.where(X["signal"] + 0.3 * rng.normal(size=n) > 0, "yes", "no"), name="outcome")
    cfg = RunConfig(
        time_limit=None, max_trials=1, families=["lightgbm"], folds=4, repeats=1, n_jobs=1
    )
    rr = run(X, y, cfg)
    a = analyse(rr, rr.extra["inputs"]["X"], rr.extra["inputs"]["Xp"], n_jobs=1)
    return rr, a


def test_permutation_importance_and_shap_rank_the_planted_signal_first(planted):
    _, a = planted
    imp = {f["feature"]: f["importance"] for f in a["importance"]["features"]}
    assert a["importance"]["features"][0]["feature"] == "signal"
    assert imp["signal"] > 0.2  # shuffling it costs a large share of the AUC
    assert abs(imp["noise"]) < imp["signal"] / 10 and abs(imp["colour"]) < imp["signal"] / 10
    sh = a["shap"]
    assert sh["available"] and sh["summary"][0]["feature"] == "signal"
    assert sh["explained_class"] == "yes" and sh["n_rows"] == 600  # every row, out of fold
    dep = sh["dependence"][0]
    x, v = np.asarray(dep["x"], dtype=float), np.asarray(dep["shap"])
    assert np.corrcoef(x, v)[0, 1] > 0.8  # higher signal, higher log-odds of "yes"


def test_partial_dependence_follows_the_signal(planted):
    _, a = planted
    pdp = {e["feature"]: e for e in a["partial_dependence"]["features"]}
    sig = np.asarray(pdp["signal"]["average"])[:, 1]  # P(yes)
    assert sig[-1] - sig[0] > 0.5
    assert pdp["signal"]["grid"] == sorted(pdp["signal"]["grid"])


def test_learning_curve_points_and_full_data_point(planted):
    rr, a = planted
    lc = a["learning_curve"]
    n_train = [p["n_train"] for p in lc["points"]]
    assert n_train == sorted(n_train) and [p["fraction"] for p in lc["points"]][-1] == 1.0
    trial = next(t for t in rr.campaign.trials if t.status == "complete")
    assert lc["points"][-1]["mean"] == pytest.approx(np.mean(trial.fold_scores))
    assert lc["points"][0]["mean"] < lc["points"][-1]["mean"]
    assert lc["verdict"]["more_data_helps"] in (True, False) and lc["verdict"]["text"]


def test_analysis_respects_its_deadline(planted):
    import time

    rr, _ = planted
    t0 = time.monotonic()
    a = analyse(rr, rr.extra["inputs"]["X"], rr.extra["inputs"]["Xp"], deadline=t0 + 0.5)
    assert time.monotonic() - t0 < 5.0
    assert a["skipped"]  # what did not fit is said, not silently dropped
    assert a["comparison"] and a["error_slices"]  # the cheap sections are always there


def test_permutation_importance_shrinks_its_sample_to_the_time_left(planted, monkeypatch):
    """A slow final model: fewer rows, but every feature scored, and the cut reported."""
    import time

    from mlresearcher.analysis import explain
    from mlresearcher.analysis._common import Budget, first_repeat_folds

    rr, _ = planted
    real = explain.fold_ensemble_scores

    def slow(predictor, fold, Xp):  # 1 ms per row
        time.sleep(0.001 * len(Xp))
        return real(predictor, fold, Xp)

    monkeypatch.setattr(explain, "fold_ensemble_scores", slow)
    Xp, y = rr.extra["inputs"]["Xp"], rr.target.y
    folds = first_repeat_folds(rr.protocol)[:1]
    budget = Budget(time.monotonic() + 0.8)
    t0 = time.monotonic()
    out = explain.permutation_importance_oof(
        rr.predictor, Xp, y, folds, rr.metric, seed=0, budget=budget, max_rows=150
    )
    # 150 rows, then 3 features x 3 repeats of them, would take 0.15 s + 1.35 s
    assert time.monotonic() - t0 < 1.2
    assert {f["feature"] for f in out["features"]} == set(Xp.columns)
    assert any("rows, not 150" in s for s in budget.skipped)
