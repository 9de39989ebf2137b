"""The nearest-neighbours search: exact, ties by reference row, and the same for a row in
any batch; the model predicts with it where scikit-learn would search by brute force."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from mlresearcher.models import knn
from mlresearcher.models.knn import KNeighborsModel, nearest


def _tied(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Reference rows on a coarse grid (many equal distances) with repeated rows, and
    queries, some of them reference rows."""
    rng = np.random.default_rng(seed)
    ref = np.round(rng.standard_normal((n, d)), 1)
    ref[n - n // 4 :] = ref[: n // 4]
    X = np.round(rng.standard_normal((300, d)), 1)
    X[:10] = ref[:10]
    return ref, X


def _norms(ref: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", ref, ref)


@pytest.mark.parametrize(("n", "d"), [(2000, 30), (200, 20), (20, 16)])
@pytest.mark.parametrize("k", [1, 5, 15])
def test_the_search_finds_the_exact_nearest_rows_ties_by_index(n, d, k):
    ref, X = _tied(n, d)
    dist, ind = nearest(ref, _norms(ref), X, k)
    exact = ((X[:, None, :] - ref[None, :, :]) ** 2).sum(axis=2)
    for i in range(len(X)):  # the k smallest (distance, row) pairs
        order = np.lexsort((np.arange(len(ref)), exact[i]))[: min(k, n)]
        assert list(ind[i]) == list(order)
    np.testing.assert_allclose(dist, np.sqrt(np.take_along_axis(exact, ind, axis=1)))


@pytest.mark.parametrize("batch", [1, 7, 64, 65, 300])
def test_a_rows_neighbours_are_the_same_alone_and_in_any_batch(batch, monkeypatch):
    monkeypatch.setattr(knn, "BLOCK_ROWS", 100)  # larger queries are cut into blocks
    ref, X = _tied(3000, 24, seed=1)
    whole = nearest(ref, _norms(ref), X, 10)
    for start in range(0, len(X), batch):
        part = nearest(ref, _norms(ref), X[start : start + batch], 10)
        assert np.array_equal(part[0], whole[0][start : start + batch])
        assert np.array_equal(part[1], whole[1][start : start + batch])


def test_ties_past_the_shortlist_are_all_ranked():
    rng = np.random.default_rng(2)
    ref = rng.standard_normal((500, 20))
    ref[100:140] = ref[7]  # 41 equal rows, more than k + the shortlist's extra rows
    X = ref[7][None, :] + 1e-3
    for rows in (X, np.repeat(X, 100, axis=0)):  # one row, and the batch path
        dist, ind = nearest(ref, _norms(ref), rows, 15)
        assert list(ind[0]) == [7, *range(100, 114)]  # the lowest rows of the tie
        assert np.all(dist == dist[0, 0])


def _fitted(task: str, p: int = 2, weights: str = "distance", d: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.standard_normal((1500, d)), columns=[f"x{j}" for j in range(d)])
    signal = X["x0"] + X["x1"]
    y = (signal > 0).astype(int) if task == "binary" else signal.to_numpy()
    roles = dict.fromkeys(X.columns, "numeric")
    model = KNeighborsModel(
        task=task,
        n_classes=2 if task == "binary" else 0,
        feature_roles=roles,
        n_neighbors=15,
        weights=weights,
        p=p,
    )
    return model.fit(X.iloc[:1200], y[:1200]), X.iloc[1200:]


@pytest.mark.parametrize("task", ["binary", "regression"])
@pytest.mark.parametrize("weights", ["distance", "uniform"])
def test_the_model_searches_on_its_own_where_scikit_learn_would_by_brute_force(task, weights):
    model, X = _fitted(task, weights=weights)
    assert model.learner_._fit_method == "brute" and model.own_search() is not None
    method = model.predict_proba if task == "binary" else model.predict
    ours = method(X)
    # scikit-learn's own search: the same neighbours up to its rounding, so nearly the same
    model.ref_norms_ = None
    np.testing.assert_allclose(ours, method(X), rtol=1e-6, atol=1e-9)
    # one row alone gets the number it gets in the batch
    model, X = _fitted(task, weights=weights)
    method = model.predict_proba if task == "binary" else model.predict
    for i in (0, 17, 250):
        assert np.array_equal(method(X.iloc[[i]]), ours[i : i + 1])


def test_other_searches_stay_with_scikit_learn():
    manhattan, _ = _fitted("binary", p=1)
    assert manhattan.own_search() is None  # another metric
    low, _ = _fitted("binary", d=4)
    assert low.learner_._fit_method != "brute" and low.own_search() is None  # a tree
    # a model pickled before the search existed predicts with scikit-learn's
    model, X = _fitted("binary")
    expected = model.predict_proba(X)
    state = dict(model.__getstate__())
    state.pop("ref_norms_")
    old = KNeighborsModel.__new__(KNeighborsModel)
    old.__setstate__(state)
    assert old.own_search() is None
    np.testing.assert_allclose(old.predict_proba(X), expected, rtol=1e-6, atol=1e-9)
    again = pickle.loads(pickle.dumps(model))
    assert np.array_equal(again.predict_proba(X), expected)


def test_the_compiled_path_predicts_with_the_same_search():
    from mlresearcher import AutoModel

    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.standard_normal((600, 20)), columns=[f"x{j}" for j in range(20)])
    y = np.where(X["x0"] + X["x1"] > 0, "yes", "no")
    model = AutoModel(
        time_limit=None, max_trials=1, families=["knn"], folds=2, repeats=1, final_model="bagged"
    ).fit(X, y)
    p = model.predictor_
    assert all(est.own_search() is not None for m in p.members for est in m.predicting)
    rows = X.sample(40, random_state=0)
    slow = p.predict_scores(rows, compiled=False)
    compiled = [c for _, models in p.compiled().members for _, c in models]
    assert compiled and all(c is not None and c.small_predict is not None for c in compiled)
    assert np.array_equal(p.predict_scores(rows), slow)
    assert np.array_equal(p.predict_scores(rows.head(1)), slow[:1])
