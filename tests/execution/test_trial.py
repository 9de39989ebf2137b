"""One trial's data and time: subsampled folds, the fit deadline, stopping between folds."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from exec_helpers import trial_data

from mlresearcher.execution.trial import TrialData, TrialJob, fit_deadline, run_trial
from mlresearcher.models.base import FitContext


def _data(n_folds: int) -> TrialData:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"a": rng.normal(size=1000), "b": pd.Categorical(rng.choice(list("xyz"), 1000))}
    )
    y = rng.integers(0, 2, 1000)
    idx = np.arange(1000)
    folds = [(idx[idx % n_folds != k], idx[idx % n_folds == k]) for k in range(n_folds)]
    ctx = FitContext(task="binary", n_classes=2, schema=None, n_rows=1000, seed=3)
    return TrialData(X, y, folds, [0] * n_folds, 1, "log_loss", ctx)


@pytest.mark.parametrize("n_folds", [1, 3])
def test_a_subsampled_fold_holds_the_seeded_rows_of_the_full_fold(n_folds):
    if n_folds == 1:  # a holdout: 80/20
        data = _data(1)
        idx = np.arange(1000)
        data.folds = [(idx[idx % 5 != 0], idx[idx % 5 == 0])]
    else:
        data = _data(n_folds)
    for i in range(len(data.folds)):
        Xtr, ytr, Xva, yva = data.fold(i)
        rng = np.random.default_rng(3 + 7919 * (i + 1))
        keep = np.sort(rng.choice(len(ytr), 100, replace=False))
        sub = data.fold(i, train_rows=100)
        pd.testing.assert_frame_equal(sub[0], Xtr.iloc[keep].reset_index(drop=True))
        np.testing.assert_array_equal(sub[1], ytr[keep])
        pd.testing.assert_frame_equal(sub[2], Xva)
        np.testing.assert_array_equal(sub[3], yva)
        # more rows asked than the fold has: the whole fold
        assert len(data.fold(i, train_rows=10**6)[1]) == len(ytr)


def test_the_fit_leaves_the_validation_rows_their_share_of_the_time():
    assert fit_deadline(None, np.zeros(10), np.zeros(40)) is None
    now = time.monotonic()
    d = fit_deadline(now + 100.0, np.zeros(50_000), np.zeros(200_000))
    assert now + 19.0 <= d <= now + 21.0  # a fifth of the time for the fit
    past = now - 5.0
    assert fit_deadline(past, np.zeros(10), np.zeros(10)) <= time.monotonic()


class SlowClock:
    """A clock on which every reading is one second after the previous one."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def _job(incumbent: tuple[float, ...] | None) -> TrialJob:
    return TrialJob(
        0,
        "linear",
        {"C": 1.0},
        "default",
        False,
        incumbent_fold_scores=incumbent,
        seconds_left=1.5,  # on the slow clock: the first fold already overruns it
        submitted_wall=time.time(),
    )


def test_a_trial_past_its_deadline_stops_between_folds():
    data = trial_data()
    res = run_trial(data, _job(incumbent=(0.8,) * len(data.folds)), clock=SlowClock())
    assert res.status == "pruned"
    assert res.error == f"out of time after 1 of {len(data.folds)} folds"
    assert len(res.fold_scores) == 1


def test_the_first_model_of_a_campaign_completes_its_folds_past_the_deadline():
    data = trial_data()
    res = run_trial(data, _job(incumbent=None), clock=SlowClock())
    assert res.status == "complete"
    assert len(res.fold_scores) == len(data.folds)


def test_small_trials_fit_their_folds_side_by_side_only_below_the_row_limit():
    from mlresearcher.execution.trial import FOLD_PARALLEL_ROWS, fold_threads

    assert fold_threads(500, 15, 2) == 2
    assert fold_threads(500, 15, -1) >= 1  # scikit-learn's "all cores"
    assert fold_threads(500, 3, 8) == 3  # never more threads than folds
    assert fold_threads(500, 1, 2) == 1  # a holdout has nothing to run beside it
    assert fold_threads(FOLD_PARALLEL_ROWS + 1, 5, 2) == 1  # larger data: all threads per fold
    assert fold_threads(500, 5, 1) == 1


@pytest.mark.parametrize("family", ["lightgbm", "linear", "hist_gb"])
def test_folds_fitted_side_by_side_give_the_trial_fitted_fold_by_fold(family):
    from dataclasses import replace

    job = TrialJob(0, family, {}, "default", False)
    one = trial_data()
    two = trial_data()
    two.ctx = replace(two.ctx, n_jobs=2)  # 400 rows: the folds run in two threads
    seq, par = run_trial(one, job), run_trial(two, job)
    assert seq.status == par.status == "complete", (seq.error, par.error)
    assert par.fold_scores == seq.fold_scores
    np.testing.assert_array_equal(par.oof, seq.oof)
    assert [m.n_jobs for m in par.models] == [1] * len(two.folds)  # one thread per fold


def test_pruning_stops_a_side_by_side_trial_at_the_same_fold():
    from dataclasses import replace

    data = trial_data()
    data.ctx = replace(data.ctx, n_jobs=2)
    folds = len(data.folds)
    # an incumbent far better than anything on every fold: hopeless after two folds
    job = TrialJob(0, "linear", {}, "search", True, incumbent_fold_scores=(1.0,) * (folds + 2))
    data.folds = data.folds + data.folds[:2]  # five folds, so pruning has room to act
    data.fold_repeat = [0] * len(data.folds)
    res = run_trial(data, job)
    assert res.status == "pruned"
    assert len(res.fold_scores) == 2
    assert res.models is None and res.oof is None


def test_a_fold_the_metric_cannot_score_is_said_not_dropped_silently():
    from mlresearcher.engine import unscored_folds_finding

    data = trial_data(300)
    data.y = data.y.copy()
    data.y[data.folds[0][1]] = 0  # the first validation fold holds one class only
    res = run_trial(data, TrialJob(0, "linear", {}, "default", False))
    assert res.status == "complete"
    assert np.isnan(res.fold_scores[0]) and np.isfinite(res.fold_scores[1:]).all()
    assert res.unscored and res.unscored[0].startswith("fold 1: roc_auc undefined")
    assert res.error.startswith("scored on 2 of 3 folds")
    assert res.record()["error"] == res.error  # stored with the trial
    finding = unscored_folds_finding([res])
    assert finding.severity == "warning" and "1 fold(s) of 1 complete trial(s)" in finding.message
    intact = run_trial(trial_data(300), TrialJob(1, "linear", {}, "default", False))
    assert intact.unscored == [] and unscored_folds_finding([intact]) is None
