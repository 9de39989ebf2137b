"""Boosters fitted on a transformed target (square root, log) of a skewed non-negative
regression target: when the campaign tries them, and that every prediction path (the
estimator, the compiled ensemble, the out-of-fold scores) is on the target's own scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_dataset

from mlresearcher import AutoModel
from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
from mlresearcher.export.onnx import ExportError
from mlresearcher.models.base import FitContext, target_transforms
from mlresearcher.models.registry import get_families

BOOSTERS = ["lightgbm", "xgboost", "catboost", "hist_gb"]


@pytest.fixture(scope="module")
def diamonds():
    df, _ = load_dataset("diamond_price", n=1500)
    y = df.pop("price").astype(float)
    return df, y


def test_only_a_skewed_non_negative_regression_target_is_transformed(diamonds):
    _, price = diamonds
    rng = np.random.default_rng(0)
    assert target_transforms("regression", price) == ("sqrt", "log1p")
    # symmetric, or skewed but with negative values, or classes: the target as it is
    assert target_transforms("regression", rng.normal(100, 10, 500)) == ()
    assert target_transforms("regression", price - price.median()) == ()
    assert target_transforms("binary", (price > price.median()).astype(int)) == ()
    assert target_transforms("regression", np.full(50, 3.0)) == ()


@pytest.mark.parametrize("name", BOOSTERS)
@pytest.mark.parametrize("transform", ["sqrt", "log1p"])
def test_a_booster_on_a_transformed_target_predicts_on_the_target_scale(diamonds, name, transform):
    X, y = diamonds
    infos, _ = infer_roles(X)
    schema = build_schema(X, infos)
    Xp = prepare_features(X, schema)
    ctx = FitContext(
        task="regression",
        n_classes=0,
        schema=schema,
        n_rows=len(Xp),
        target_transforms=target_transforms("regression", y),
    )
    fam = get_families([name])[0]
    configs = fam.default_configs(ctx)
    # the family default, then the same configuration on the first transformed target
    assert configs[1] == {**configs[0], "target_transform": "sqrt"}
    tr, te = np.arange(1200), np.arange(1200, 1500)
    est = fam.build({**configs[0], "target_transform": transform}, ctx)
    est.fit(Xp.iloc[tr], y.to_numpy()[tr])
    pred = est.predict(Xp.iloc[te])
    raw = np.asarray(est._predict_learner(est.preprocessor_.transform(Xp.iloc[te]))).ravel()
    inverse = {"sqrt": np.square, "log1p": np.expm1}[transform]
    np.testing.assert_allclose(pred, inverse(np.maximum(raw, 0) if transform == "sqrt" else raw))
    # a useful model of the price itself: far better than predicting the mean
    rmse = float(np.sqrt(np.mean((pred - y.to_numpy()[te]) ** 2)))
    assert rmse < 0.5 * float(y.to_numpy()[te].std())


def test_a_negative_target_is_refused_by_a_transformed_fit(diamonds):
    X, y = diamonds
    infos, _ = infer_roles(X)
    schema = build_schema(X, infos)
    ctx = FitContext(task="regression", n_classes=0, schema=schema, n_rows=len(X))
    est = get_families(["lightgbm"])[0].build({"target_transform": "sqrt"}, ctx)
    with pytest.raises(ValueError, match="non-negative"):
        est.fit(prepare_features(X, schema), (y - y.median()).to_numpy())


@pytest.fixture(scope="module")
def transformed_model(diamonds):
    X, y = diamonds
    model = AutoModel(
        time_limit=None, max_trials=2, families=["lightgbm"], folds=3, final_model="bagged"
    )
    return model.fit(X, y), X, y


def test_the_campaign_tries_the_transformed_target_and_scores_it_as_the_target(
    transformed_model,
):
    model, X, y = transformed_model
    board = model.leaderboard()
    trials = board[board["family"] == "lightgbm"].set_index("model")
    assert "sqrt" in trials.loc["lightgbm#1", "params"]
    assert "target_transform" not in trials.loc["lightgbm#0", "params"]
    # both scored as RMSE of the price: the same order of magnitude, far below the spread
    scores = trials["score"].astype(float)
    assert scores.max() < 1.5 * scores.min()
    assert scores.max() < 0.5 * float(y.std())


@pytest.mark.parametrize("n", [1, 40, 2_011])
def test_compiled_predictions_of_a_transformed_member_equal_its_own(transformed_model, n):
    model, X, _ = transformed_model
    p = model.predictor_
    assert any(getattr(e, "target_transform", None) for m in p.members for e in m.predicting)
    rows = X.sample(n=n, replace=True, random_state=1).reset_index(drop=True)
    fast = p.predict_scores(rows)
    slow = p.predict_scores(rows, compiled=False)
    assert np.array_equal(fast, slow)
    assert (fast >= 0).all()


def test_onnx_export_refuses_a_transformed_target_and_says_how_to_avoid_it(transformed_model):
    from mlresearcher.export.onnx import to_onnx

    model, _, _ = transformed_model
    with pytest.raises(ExportError, match="--no-target-transform"):
        to_onnx(model.predictor_)


def test_treeshap_passes_over_a_member_fitted_on_a_transformed_target(transformed_model):
    from mlresearcher.analysis.explain import _tree_member

    model, _, _ = transformed_model
    chosen = _tree_member(model.predictor_)
    assert chosen is None or not any(getattr(e, "target_transform", None) for e in chosen.models)


def test_no_target_transform_fits_the_target_itself(diamonds):
    X, y = diamonds
    model = AutoModel(
        time_limit=None, max_trials=2, families=["lightgbm"], folds=3, target_transform=False
    ).fit(X, y)
    params = model.leaderboard()["params"].astype(str)
    assert not params.str.contains("target_transform").any()
    assert isinstance(model.predict(X.head(3)), np.ndarray | pd.Series)


def test_the_transformed_default_comes_after_every_family_default(diamonds):
    from mlresearcher.data.protocol import make_protocol
    from mlresearcher.data.task import encode_target
    from mlresearcher.metrics import get_metric
    from mlresearcher.search.campaign import Campaign

    X, y = diamonds
    target, _ = encode_target(y, "price", task="regression")
    infos, _ = infer_roles(X)
    schema = build_schema(X, infos)
    protocol = make_protocol(target.y, target.task, folds=3, repeats=1)
    campaign = Campaign(
        prepare_features(X, schema),
        target,
        schema,
        protocol,
        get_metric("rmse", target.task),
        get_families(["linear", "lightgbm", "xgboost"]),
    )
    order = [
        (fam.name, params.get("target_transform"), origin)
        for fam, params, origin in campaign._portfolio()[:6]
    ]
    assert order == [
        ("linear", None, "default"),
        ("lightgbm", None, "default"),
        ("xgboost", None, "default"),
        ("linear", None, "portfolio"),
        ("lightgbm", "sqrt", "portfolio"),
        ("xgboost", "sqrt", "portfolio"),
    ]
    assert any("skewed" in note for note in campaign.notes)


def test_a_target_transform_setting_that_is_not_a_boolean_is_refused(diamonds):
    from mlresearcher.errors import ConfigError

    X, y = diamonds
    with pytest.raises(ConfigError, match="target_transform must be True or False"):
        AutoModel(max_trials=1, target_transform="no").fit(X, y)
