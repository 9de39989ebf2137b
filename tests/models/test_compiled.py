"""The compiled prediction path gives the fold models' own numbers, bit for bit."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlresearcher import AutoModel
from mlresearcher.models.compiled import PARALLEL_ROWS


@pytest.fixture(scope="module")
def mixed_model(penguins_module):
    """One trial of each family: compiled (boosters, CatBoost) and frame path (linear, kNN)."""
    X = penguins_module.drop(columns=["species"])
    y = penguins_module["species"]
    families = ["lightgbm", "xgboost", "hist_gb", "catboost", "linear", "knn"]
    model = AutoModel(
        time_limit=None, max_trials=len(families), families=families, folds=3, repeats=1
    )
    return model.fit(X, y), X


@pytest.fixture(scope="module")
def penguins_module():
    return pd.read_csv(Path(__file__).resolve().parents[2] / "examples" / "penguins.csv")


def _awkward(X: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` rows of ``X`` with missing numbers, missing and unseen levels in places."""
    rows = X.sample(n=n, replace=True, random_state=0).reset_index(drop=True)
    cats = [c for c in rows.columns if not pd.api.types.is_numeric_dtype(rows[c])]
    nums = [c for c in rows.columns if c not in cats]
    rows.loc[::7, cats[0]] = "a level never seen in training"
    rows.loc[::5, cats[-1]] = None
    rows.loc[::3, nums[0]] = np.nan
    return rows


@pytest.mark.parametrize("n", [1, 37, PARALLEL_ROWS + 11])
def test_compiled_scores_equal_the_fold_models(mixed_model, n):
    model, X = mixed_model
    p = model.predictor_
    rows = _awkward(X, n)
    fast = p.predict_scores(rows)
    slow = p.predict_scores(rows, compiled=False)
    assert fast.shape == slow.shape == (n, p.n_classes)
    assert np.array_equal(fast, slow)


@pytest.mark.parametrize("target", ["species", "body_mass_g"])  # classes, then values
def test_each_family_compiles_or_falls_back_exactly(penguins_module, target):
    """Every fold model, compiled or not, matches its own prediction on awkward rows."""
    from mlresearcher.models.compiled import CompiledEnsemble

    data = penguins_module.dropna(subset=[target])
    X = data.drop(columns=[target])
    y = data[target]
    rows = _awkward(X, 50)
    for family, is_compiled in [  # boosters: look-up tables; linear and kNN: blocks
        ("lightgbm", True),
        ("xgboost", True),
        ("hist_gb", True),
        ("catboost", True),
        ("random_forest", True),
        ("extra_trees", True),
        ("linear", True),
        ("knn", True),
    ]:
        model = AutoModel(time_limit=None, max_trials=1, families=[family], folds=2, repeats=1)
        p = model.fit(X, y).predictor_
        ensemble = CompiledEnsemble(p.members, p.task, p.n_classes, p.schema.feature_roles)
        assert ensemble.compiled_fraction == (1.0 if is_compiled else 0.0), family
        prepared = p.prepare(rows)
        arrays = {c: prepared[c].to_numpy() for c in prepared.columns}
        got = ensemble.scores(arrays, len(rows))
        assert np.array_equal(got, p.predict_scores(rows, compiled=False)), family
        one = {c: v[:1] for c, v in arrays.items()}
        assert np.array_equal(
            ensemble.scores(one, 1), p.predict_scores(rows.head(1), compiled=False)
        ), family


def test_a_used_predictor_pickles_without_its_compiled_cache(mixed_model):
    model, X = mixed_model
    p = model.predictor_
    before = p.predict_scores(X.head(5))  # builds the compiled ensemble (native handles)
    clone = pickle.loads(pickle.dumps(p))
    assert "_compiled" not in clone.__dict__
    assert np.array_equal(clone.predict_scores(X.head(5)), before)


def test_sparse_text_features_take_the_regular_path():
    """A linear model on TF-IDF text (a sparse matrix) is not compiled, and still exact."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conftest import load_dataset

    df, entry = load_dataset("food_review_sentiment", n=300)
    target = entry["target"]
    X, y = df.drop(columns=[target]), df[target]
    model = AutoModel(time_limit=None, max_trials=1, families=["linear"], folds=2, repeats=1)
    p = model.fit(X, y).predictor_
    assert "text" in p.schema.feature_roles.values()
    assert p.compiled().compiled_fraction == 0.0
    rows = X.head(30)
    assert np.array_equal(p.predict_scores(rows), p.predict_scores(rows, compiled=False))
