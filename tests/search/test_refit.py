"""The final model's members refit on all rows: what predicts, what is kept, and why."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlresearcher import AutoModel
from mlresearcher.engine import RunConfig
from mlresearcher.errors import ConfigError
from mlresearcher.models.base import FitContext, ModelFamily, predict_scores
from mlresearcher.predictor import Member
from mlresearcher.search.refit import REFIT_MARGIN, expected_refit_seconds, refit_members


def _weighted(predictor, X, models_of) -> np.ndarray:
    Xp = predictor.prepare(X)
    total = sum(
        m.weight
        * sum(predict_scores(e, Xp, predictor.task, predictor.n_classes) for e in models_of(m))
        / len(models_of(m))
        for m in predictor.members
    )
    return total / total.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def fitted(request) -> dict[str, Any]:
    from conftest import EXAMPLES

    df = pd.read_csv(EXAMPLES / "penguins.csv")
    X, y = df.drop(columns=["species"]), df["species"]
    out = {"X": X}
    for final in ("refit", "bagged"):
        out[final] = AutoModel(
            time_limit=None,
            max_trials=4,
            families=["linear", "lightgbm"],
            final_model=final,
            portfolio="families",  # both families' defaults, then their second configurations
        ).fit(X, y)
    return out


def test_each_member_predicts_with_one_model_refit_on_all_rows(fitted):
    model, X = fitted["refit"], fitted["X"]
    p = model.predictor_
    assert p.members and all(m.refit_model is not None for m in p.members)
    # the fold models stay: the out-of-fold analysis reads them
    assert all(len(m.models) == model.protocol_["n_folds"] == 15 for m in p.members)
    assert p.info["refit"]["kept"] == {}
    assert "refit on all rows" in p.describe()
    np.testing.assert_allclose(
        model.predict_proba(X), _weighted(p, X, lambda m: [m.refit_model]), rtol=0, atol=1e-12
    )


def test_bagged_members_average_their_fold_models(fitted):
    model, X = fitted["bagged"], fitted["X"]
    p = model.predictor_
    assert all(m.refit_model is None for m in p.members)
    assert "refit" not in p.info
    np.testing.assert_allclose(
        model.predict_proba(X), _weighted(p, X, lambda m: m.models), rtol=0, atol=1e-12
    )


def test_the_final_model_form_changes_no_cross_validated_number(fitted):
    a, b = fitted["refit"].leaderboard(), fitted["bagged"].leaderboard()
    pd.testing.assert_series_equal(a["score"], b["score"])
    assert list(a["model"]) == list(b["model"])


def test_an_unknown_final_model_is_a_config_error():
    with pytest.raises(ConfigError, match="--final-model must be one of refit, bagged"):
        RunConfig(final_model="distilled").validate()


# refit_members on its own ---------------------------------------------------------------


class _Learner:
    def __init__(self, stop: bool = False, fail: bool = False):
        self.stop, self.fail = stop, fail

    def fit(self, X, y):
        if self.fail:
            raise RuntimeError("cannot fit")
        self.stopped_by_deadline_ = self.stop
        self.rows_ = len(X)
        return self


class _Family(ModelFamily):
    name = "stub"

    def __init__(self, **kw):
        self.kw = kw

    def default_configs(self, ctx):
        return [{}]

    def search_space(self, trial, ctx):
        return {}

    def build(self, params, ctx):
        return _Learner(**self.kw)


def _member(name="stub#0", folds=5, family="stub") -> Member:
    return Member(name, family, {}, 1.0, [object()] * folds)


def _trial(fit_time=0.5, folds=5, origin="default"):
    return SimpleNamespace(fit_time=fit_time, fold_scores=[0.5] * folds, origin=origin)


def _refit(members, family, *, kind="kfold", deadline=None, trials=None):
    X, y = pd.DataFrame({"a": np.arange(50.0)}), np.zeros(50)
    ctx = FitContext(task="regression", n_classes=0, schema=None, n_rows=50)
    trials = trials or {m.name: _trial() for m in members}
    return refit_members(
        members,
        trials,
        X,
        y,
        ctx,
        {"stub": family},
        protocol_kind=kind,
        n_splits=5,
        deadline=deadline,
    )


def test_a_member_is_refit_on_every_row():
    m = _member()
    out = _refit([m], _Family())
    assert out.refit == ["stub#0"] and m.refit_model.rows_ == 50
    assert len(m.models) == 5  # the fold models are kept


@pytest.mark.parametrize(
    ("member", "kind", "trial", "reason"),
    [
        (_member(folds=1), "holdout", _trial(folds=1), "single fold model"),
        (_member(), "walk_forward", _trial(), "windows in time"),
        (_member(), "kfold", _trial(origin="subsample"), "subsample"),
        (_member(family="gone"), "kfold", _trial(), "not available"),
    ],
)
def test_members_that_a_refit_would_not_match_keep_their_fold_models(member, kind, trial, reason):
    out = _refit([member], _Family(), kind=kind, trials={member.name: trial})
    assert out.refit == [] and member.refit_model is None
    assert reason in out.kept[member.name]


def test_a_refit_that_cannot_end_in_time_is_not_started():
    m = _member()
    # 10 s over 5 folds of a 5-fold split: about 3 s expected, with 1 s left
    out = _refit([m], _Family(), deadline=time.monotonic() + 1.0, trials={m.name: _trial(10.0)})
    assert "not expected to end" in out.kept[m.name] and m.refit_model is None
    assert expected_refit_seconds(10.0, 5, 5) == pytest.approx(10 / 5 * REFIT_MARGIN * 5 / 4)


@pytest.mark.parametrize(
    ("family", "reason"),
    [(_Family(stop=True), "reached the time limit"), (_Family(fail=True), "the refit failed")],
)
def test_a_cut_or_failed_refit_leaves_the_fold_models(family, reason):
    m = _member()
    out = _refit([m], family)
    assert reason in out.kept[m.name] and m.refit_model is None


def test_heavier_members_are_refit_first():
    light, heavy = _member("stub#1"), _member("stub#2")
    light.weight, heavy.weight = 0.2, 0.8
    out = _refit([light, heavy], _Family())
    assert out.refit == ["stub#2", "stub#1"]


def test_a_forest_member_not_refit_predicts_with_a_share_of_each_fold_models_trees():
    from mlresearcher.models.forests import ForestModel

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = X["a"].to_numpy() * 2 + rng.normal(scale=0.1, size=300)
    roles = {"a": "numeric", "b": "numeric"}
    folds = [
        ForestModel(task="regression", feature_roles=roles, n_estimators=10, seed=f).fit(
            X.iloc[f::5], y[f::5]
        )
        for f in range(5)
    ]
    forest, booster = Member("extra_trees#3", "extra_trees", {}, 0.5, folds), _member()
    booster.weight = 0.5
    out = refit_members(
        [forest, booster],
        {"extra_trees#3": _trial(10.0), "stub#0": _trial(10.0)},
        X,
        y,
        FitContext(task="regression", n_classes=0, schema=None, n_rows=300),
        {"stub": _Family()},  # no time for either refit; the forest's family is not needed
        protocol_kind="kfold",
        n_splits=5,
        deadline=time.monotonic() + 1.0,
    )
    assert out.refit == [] and set(out.kept) == {"extra_trees#3", "stub#0"}
    assert out.thinned == ["extra_trees#3"] and booster.thinned is None
    assert forest.predicting is forest.thinned and booster.predicting is booster.models
    assert [m.n_iterations_ for m in forest.thinned] == [2] * 5  # one fold model's 10 trees
    assert forest.models == folds  # the analysis still reads the fold models
    mean = np.mean(
        [
            t.predict(X.to_numpy(np.float32))
            for f, m in enumerate(folds)
            for t in m.learner_.estimators_[f::5]
        ],
        axis=0,
    )
    got = np.mean([predict_scores(m, X, "regression", 0) for m in forest.predicting], axis=0)
    np.testing.assert_allclose(got, mean, rtol=1e-6, atol=1e-9)
    assert forest.form() == "10 trees drawn from its 5 fold models"
