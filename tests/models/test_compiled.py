"""The compiled prediction path gives the fold models' own numbers, bit for bit."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlresearcher import AutoModel
from mlresearcher.models.base import predict_scores
from mlresearcher.models.compiled import PARALLEL_ROWS


@pytest.fixture(scope="module")
def mixed_model(penguins_module):
    """One trial of each family: compiled (boosters, CatBoost) and frame path (linear, kNN)."""
    X = penguins_module.drop(columns=["species"])
    y = penguins_module["species"]
    families = ["lightgbm", "xgboost", "hist_gb", "catboost", "linear", "knn"]
    model = AutoModel(
        time_limit=None,
        max_trials=len(families),
        families=families,
        folds=3,
        repeats=1,
        portfolio="families",  # one default per family, every family present
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
        ("mlp", True),
    ]:
        # the fold models themselves (no refit model to fit on top of them)
        model = AutoModel(
            time_limit=None,
            max_trials=1,
            families=[family],
            folds=2,
            repeats=1,
            final_model="bagged",
        )
        p = model.fit(X, y).predictor_
        ensemble = CompiledEnsemble(p.members, p.task, p.n_classes, p.schema.feature_roles)
        assert ensemble.compiled_fraction == (1.0 if is_compiled else 0.0), family
        # a forest member's fold models walk as one table (scores below: the same numbers)
        forest = family in ("random_forest", "extra_trees")
        assert (ensemble.merged[0] is not None) == forest, family
        prepared = p.prepare(rows)
        arrays = {c: prepared[c].to_numpy() for c in prepared.columns}
        got = ensemble.scores(arrays, len(rows))
        assert np.array_equal(got, p.predict_scores(rows, compiled=False)), family
        one = {c: v[:1] for c, v in arrays.items()}
        assert np.array_equal(
            ensemble.scores(one, 1), p.predict_scores(rows.head(1), compiled=False)
        ), family
        if forest:  # each fold model's own walk reads the member's one table
            from mlresearcher.models.compiled import _ForestTrees

            codes = {c: pd.factorize(arrays[c]) for c in ensemble.category_inputs}
            codes = {c: (v[0], list(v[1])) for c, v in codes.items()}
            for est, c in ensemble.members[0][1]:
                assert not isinstance(c.small_predict, _ForestTrees), family
                alone = c.scores(arrays, len(rows), p.task, p.n_classes, codes)
                own = predict_scores(est, prepared, p.task, p.n_classes)
                assert np.array_equal(alone, own), family


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


@pytest.mark.parametrize("family", ["linear", "knn"])
def test_linear_and_knn_preprocessing_runs_as_numpy_and_stays_exact(family):
    """Imputation, scaling, one-hot and target encoding become arithmetic and look-ups (no
    scikit-learn transform per call), with the same numbers on missing and unseen values."""
    import sys

    from mlresearcher.models.compiled import BlockModel, CompiledEnsemble

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conftest import load_dataset

    df, entry = load_dataset("police_stop_search", n=600)
    target = entry["target"]
    X, y = df.drop(columns=[target]), df[target]
    model = AutoModel(time_limit=None, max_trials=1, families=[family], folds=2, repeats=1)
    p = model.fit(X, y).predictor_
    roles = p.schema.feature_roles
    assert {"categorical", "high_cardinality", "numeric"} <= set(roles.values())
    ensemble = CompiledEnsemble(p.members, p.task, p.n_classes, roles)
    compiled = [c for _, models in ensemble.members for _, c in models]
    for c in compiled:
        assert isinstance(c, BlockModel)
        assert all(
            f is not None for (t, _, _), f in zip(c.blocks, c.fast, strict=True) if t is not None
        )
        assert all(f is not None for f in c.fast_after)
        assert c.small_predict is not None  # the learner without input validation
    rows = X.sample(n=40, replace=True, random_state=0).reset_index(drop=True)
    for role, step in [("categorical", 5), ("high_cardinality", 4), ("numeric", 3)]:
        col = next(c for c, r in roles.items() if r == role)
        if role != "numeric":
            rows[col] = rows[col].astype(object)
            rows.loc[1::step, col] = "a level never seen in training"
        rows.loc[2::step, col] = None
    assert np.array_equal(p.predict_scores(rows), p.predict_scores(rows, compiled=False))
    for i in range(5):
        one = rows.iloc[[i]]
        assert np.array_equal(p.predict_scores(one), p.predict_scores(one, compiled=False))


def test_category_tables_equal_the_encoders_on_every_kind_of_value():
    """Multiclass target encoding (several outputs per column) and one-hot with an
    infrequent group: the look-up table gives the fitted block's own output, and a number
    in a column of strings goes to the block itself."""
    from mlresearcher.models.compiled import _fast_transform
    from mlresearcher.models.preprocess import _one_hot, _target_encoded

    rng = np.random.default_rng(0)
    n = 400
    X = np.empty((n, 2), dtype=object)
    X[:, 0] = rng.choice([f"a{i}" for i in range(40)], n)
    X[:, 1] = rng.choice(["x", "y", "z", "rare"], n, p=[0.5, 0.3, 0.195, 0.005])
    X[::9, 1] = None
    y = rng.choice(["p", "q", "r"], n)
    blocks = [
        _target_encoded("multiclass", 0).fit(X, y),
        _one_hot(min_frequency=5, max_categories=None, sparse=True).fit(X, y),
    ]
    probe = np.array(
        [["a3", "x"], ["unseen", "rare"], [None, None], ["a7", "unseen"], [np.nan, "y"]],
        dtype=object,
    )
    with_number = probe.copy()
    with_number[0, 0] = 3
    for block in blocks:
        fast = _fast_transform(block, ["c0", "c1"])
        assert fast is not None
        batches = (np.repeat(probe, 20, axis=0), np.repeat(with_number, 20, axis=0))
        for rows in (probe, with_number, probe[:1], *batches):  # few rows, then a batch
            want = block.transform(rows)
            want = want.toarray() if hasattr(want, "toarray") else want
            assert np.array_equal(fast(rows), want)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree", "brute"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_nearest_neighbours_without_validation_match_the_learner(task, algorithm, weights):
    """The neighbour search called directly (tree or brute-force reduction) gives the
    learner's own probabilities and values, ties and exact matches included; uniform votes
    of a brute-force classifier keep the regular path."""
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    from mlresearcher.models.compiled import _knn_learner
    from mlresearcher.models.knn import KNeighborsModel

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.integers(0, 4, 300).astype(float), "b": rng.normal(size=300)})
    y = rng.integers(0, 3, 300) if task == "multiclass" else rng.normal(size=300)
    est = KNeighborsModel(
        task=task,
        n_classes=3 if task == "multiclass" else 0,
        feature_roles={"a": "numeric", "b": "numeric"},
        n_neighbors=7,
        weights=weights,
    ).fit(X, y)
    cls = KNeighborsClassifier if task == "multiclass" else KNeighborsRegressor
    Xt = est.preprocessor_.transform(X)
    yt = est.learner_._y if task == "multiclass" else y
    est.learner_ = cls(n_neighbors=7, weights=weights, algorithm=algorithm).fit(Xt, yt)
    fast = _knn_learner(est)
    if task == "multiclass" and algorithm == "brute" and weights == "uniform":
        assert fast is None
        return
    assert fast is not None
    queries = np.vstack([Xt[:20], rng.normal(size=(20, Xt.shape[1]))])  # exact hits, then new
    for rows in (queries, queries[:1], queries[25:26]):
        assert np.array_equal(fast(rows), est._predict_learner(rows))


def test_quantile_scaling_runs_as_numpy_and_stays_exact():
    """The rank-gauss and uniform quantile scalings (linear, MLP) become interpolation and
    ``ndtri`` without scipy's argument handling: the same numbers on seen values, values
    between and beyond the quantiles, ties and missing values."""
    from mlresearcher.models.compiled import _fast_transform
    from mlresearcher.models.preprocess import _numeric_scaled

    rng = np.random.default_rng(2)
    X = np.column_stack([rng.normal(size=500), rng.integers(0, 3, 500).astype(float)])
    X[::11, 0] = np.nan
    queries = np.vstack([X[:30], [[1e12, -1e12], [np.nan, 1.0], [-3.5, 2.5]]])
    for distribution in ("normal", "uniform"):
        block = _numeric_scaled("quantile", 0, 500)
        block.named_steps["scale"].set_params(output_distribution=distribution)
        block.fit(X)
        fast = _fast_transform(block, ["a", "b"])
        assert fast is not None
        for rows in (queries, queries[:1], queries[-3:]):
            assert np.array_equal(fast(rows), block.transform(rows))
        for i in range(len(queries)):  # one row takes a path of its own
            one = queries[i : i + 1]
            assert np.array_equal(fast(one), block.transform(one), equal_nan=True), i


@pytest.mark.parametrize("target", ["species", "body_mass_g"])  # classes, then values
def test_the_mlp_numpy_forward_for_a_few_rows_is_its_network(penguins_module, target):
    """A few rows go through the network in NumPy: the network's values to float32
    rounding, for classes and for values, with missing and unseen levels."""
    import torch

    from mlresearcher.models.mlp import FEW_ROWS

    data = penguins_module.dropna(subset=[target])
    X = data.drop(columns=[target])
    model = AutoModel(time_limit=None, max_trials=1, families=["mlp"], folds=2, repeats=1)
    p = model.fit(X, data[target]).predictor_
    est = p.members[0].predicting[0]
    Xt = est.preprocessor_.transform(p.prepare(_awkward(X, FEW_ROWS)))
    codes, numbers = est._inputs(Xt)
    with torch.no_grad():
        out = est._module()(torch.from_numpy(codes), torch.from_numpy(numbers))
        ref = torch.softmax(out, dim=1) if est._is_classification else out[:, 0]
    ref = ref.double().numpy()
    if not est._is_classification:
        ref = ref * est.y_scale_ + est.y_mean_
    fast = est._predict_learner(Xt)
    np.testing.assert_allclose(fast, ref, rtol=2e-5, atol=1e-6)
    # more rows than FEW_ROWS take the network itself
    big = est.preprocessor_.transform(p.prepare(_awkward(X, FEW_ROWS + 1)))
    np.testing.assert_allclose(est._predict_learner(big)[:FEW_ROWS], fast, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("family", ["random_forest", "extra_trees"])
def test_a_forest_member_served_by_shares_of_its_fold_models_compiles_exactly(
    penguins_module, family, tmp_path
):
    X, y = penguins_module.drop(columns=["species"]), penguins_module["species"]
    model = AutoModel(
        time_limit=None, max_trials=1, families=[family], folds=3, repeats=1, final_model="bagged"
    ).fit(X, y)
    p = model.predictor_
    (m,) = p.members
    m.thinned = [est.thinned(f, len(m.models)) for f, est in enumerate(m.models)]
    assert "trees drawn from its 3 fold models" in p.describe()
    rows = _awkward(X, 50)
    slow = p.predict_scores(rows, compiled=False)
    assert np.array_equal(p.predict_scores(rows), slow)
    assert np.array_equal(p.predict_scores(rows.head(1)), slow[:1])
    assert not np.array_equal(
        slow,
        np.mean(
            [  # not the average of all fold models' trees
                predict_scores(e, p.prepare(rows), p.task, p.n_classes) for e in m.models
            ],
            axis=0,
        ),
    )
    # saved and loaded, the member still predicts with its shares
    path = p.save(tmp_path / "model.joblib")
    again = type(p).load(path)
    assert np.array_equal(again.predict_scores(rows), slow)
