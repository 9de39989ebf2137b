"""The forests' size bound, memory estimate and category codes."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
from mlresearcher.models import forests
from mlresearcher.models.forests import ForestModel


def _data(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, dict[str, str]]:
    rng = np.random.default_rng(seed)
    raw = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "shop": rng.choice([f"s{i}" for i in range(60)], size=n),
        }
    )
    y = raw["x1"] * 2 + raw["x2"] + rng.normal(scale=0.1, size=n)
    infos, _ = infer_roles(raw)
    schema = build_schema(raw, infos)
    return prepare_features(raw, schema), y.to_numpy(), dict(schema.feature_roles)


@pytest.mark.parametrize("kind", ["random_forest", "extra_trees"])
@pytest.mark.parametrize("task", ["regression", "binary"])
def test_memory_estimate_matches_what_the_forest_takes_to_store(kind, task):
    X, y, roles = _data()
    if task == "binary":
        y = (y > 0).astype(int)
    model = ForestModel(
        task=task,
        n_classes=2 if task == "binary" else 0,
        feature_roles=roles,
        kind=kind,
        n_estimators=30,
    ).fit(X, y)
    estimate, stored = model.memory_bytes(), len(pickle.dumps(model))
    assert 0.8 * stored <= estimate <= 1.25 * stored


def test_leaves_per_tree_follow_the_forest_budget(monkeypatch):
    X, y, roles = _data(n=2000)
    monkeypatch.setattr(forests, "LEAF_BUDGET", 20 * 100)
    model = ForestModel(task="regression", feature_roles=roles, n_estimators=20).fit(X, y)
    leaves = [e.tree_.n_leaves for e in model.learner_.estimators_]
    assert max(leaves) == 100  # 2,000 rows would grow far more leaves unbounded
    small = ForestModel(task="regression", feature_roles=roles, n_estimators=40).fit(X, y)
    assert max(e.tree_.n_leaves for e in small.learner_.estimators_) == 64  # the floor
    assert small.memory_bytes() < 2 * model.memory_bytes()


def test_rare_category_levels_keep_codes_of_their_own():
    X, y, roles = _data()
    X = X.copy()
    X["shop"] = X["shop"].astype(object)
    X.loc[0, "shop"], X.loc[1, "shop"] = "once_a", "once_b"
    X.loc[1, ["x1", "x2"]] = X.loc[0, ["x1", "x2"]]  # the two rows differ only in the level
    model = ForestModel(task="regression", feature_roles=roles, n_estimators=5).fit(X, y)
    codes = np.asarray(model.preprocessor_.transform(X.iloc[:2]), dtype=float)
    assert not np.array_equal(codes[0], codes[1])  # grouped, both would get one code


@pytest.mark.parametrize("kind", ["random_forest", "extra_trees"])
@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_a_few_rows_walk_all_trees_at_once_with_the_forests_own_numbers(kind, task):
    X, y, roles = _data()
    X = X.copy()
    X.loc[::7, "x2"] = np.nan  # missing values follow each node's missing direction
    n_classes = {"regression": 0, "binary": 2, "multiclass": 3}[task]
    if n_classes:
        y = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))
    model = ForestModel(
        task=task, n_classes=n_classes, feature_roles=roles, kind=kind, n_estimators=25
    ).fit(X, y)
    few = X.iloc[:5]
    Xt = np.asarray(model.preprocessor_.transform(few), dtype=np.float32)
    own = model.learner_.predict_proba(Xt) if n_classes else model.learner_.predict(Xt)
    walked = model._predict_learner(Xt)
    assert "_tree_walker" in model.__dict__  # the walk, not scikit-learn's per-tree calls
    np.testing.assert_array_equal(walked, own)
    again = pickle.loads(pickle.dumps(model))
    assert "_tree_walker" not in again.__dict__  # rebuilt on use, never stored
    method = again.predict_proba if n_classes else again.predict
    np.testing.assert_array_equal(
        method(few), (model.predict_proba if n_classes else model.predict)(few)
    )


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_shares_of_fold_forests_hold_one_forest_of_their_trees_stored_once(task):
    X, y, roles = _data()
    n_classes = 2 if task == "binary" else 0
    if n_classes:
        y = (y > 0).astype(int)
    folds = [
        ForestModel(
            task=task, n_classes=n_classes, feature_roles=roles, n_estimators=12, seed=s
        ).fit(X.iloc[s::2], y[s::2])
        for s in range(3)
    ]
    shares = [m.thinned(f, 3) for f, m in enumerate(folds)]
    assert [s.n_iterations_ for s in shares] == [4, 4, 4]  # one fold model's 12 in all
    for f, (m, s) in enumerate(zip(folds, shares, strict=True)):
        assert s.learner_.estimators_ == m.learner_.estimators_[f::3]  # the same trees
        assert len(m.learner_.estimators_) == 12  # the fold model keeps all of its own
    # the share predicts the mean of its own trees
    Xt = np.asarray(folds[1].preprocessor_.transform(X), dtype=np.float32)
    own = [
        t.predict_proba(Xt)[:, 1] if n_classes else t.predict(Xt)
        for t in folds[1].learner_.estimators_[1::3]
    ]
    got = shares[1].predict_proba(X)[:, 1] if n_classes else shares[1].predict(X)
    np.testing.assert_allclose(got, np.mean(own, axis=0), rtol=1e-6, atol=1e-9)
    # pickled together, the shares add almost nothing: their trees are the fold models'
    alone, both = len(pickle.dumps(folds)), len(pickle.dumps([folds, shares]))
    assert both < 1.1 * alone
    # a forest with fewer trees than shares gives each share one of them
    assert folds[0].thinned(5, 20).learner_.estimators_ == [folds[0].learner_.estimators_[5]]
    assert folds[0].thinned(13, 20).learner_.estimators_ == [folds[0].learner_.estimators_[1]]
