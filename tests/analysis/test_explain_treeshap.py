"""SHAP values come from each booster's own exact TreeSHAP and add up to its raw margin."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_dataset
from scipy.special import expit, softmax

from mlresearcher.analysis import explain
from mlresearcher.analysis._common import first_repeat_folds
from mlresearcher.engine import RunConfig, run

#: task -> (dataset, rows): each with category columns, so categorical splits are explained
DATASETS = {
    "binary": ("credit_scoring", 500),
    "multiclass": ("penguins_species", None),
    "regression": ("diamond_price", 500),
}


def _section(rr):
    """The report's SHAP section of a run, on its first repeat's folds."""
    return explain.shap_values(
        rr.predictor,
        rr.extra["inputs"]["Xp"],
        first_repeat_folds(rr.protocol),
        classes=rr.predictor.classes,
        seed=0,
    )


def _run(family: str, task: str):
    name, n = DATASETS[task]
    df, entry = load_dataset(name, n)
    X, y = df.drop(columns=[entry["target"]]), df[entry["target"]]
    cfg = RunConfig(
        time_limit=None,
        max_trials=1,
        families=[family],
        folds=2,
        repeats=1,
        n_jobs=1,
        final_model="bagged",
        target_transform=False,
        analysis=False,
    )
    return run(X, y, cfg)


@pytest.fixture(scope="module")
def runs():
    cache: dict[tuple[str, str], object] = {}

    def get(family: str, task: str):
        if (family, task) not in cache:
            cache[family, task] = _run(family, task)
        return cache[family, task]

    return get


CASES = [
    (family, task)
    for family in ("lightgbm", "xgboost", "catboost")
    for task in ("binary", "multiclass", "regression")
]


@pytest.mark.parametrize(("family", "task"), CASES)
def test_shap_values_and_bias_add_up_to_the_models_raw_margin(runs, family, task):
    rr = runs(family, task)
    Xp = rr.extra["inputs"]["Xp"]
    member = rr.predictor.members[0]
    assert member.family == family
    _, va = first_repeat_folds(rr.protocol)[0]
    est, rows = member.models[0], Xp.iloc[va[:60]].reset_index(drop=True)
    n_classes = rr.predictor.n_classes
    values, bias = explain.fold_shap(est, family, rows, n_classes)
    margin = values.sum(axis=1) + bias
    if task == "regression":
        assert values.shape == (len(rows), len(est.preprocessor_.get_feature_names_out()))
        np.testing.assert_allclose(margin, est.predict(rows), rtol=1e-4, atol=1e-3)
        return
    proba = est.predict_proba(rows)
    present = list(est.present_classes_)
    if task == "binary":  # one output: the log-odds of the second class
        assert not values[:, :, present[0]].any()
        np.testing.assert_allclose(expit(margin[:, present[1]]), proba[:, present[1]], atol=1e-5)
    else:  # one margin per class; their softmax is the predicted probabilities
        got = softmax(margin[:, present], axis=1)
        np.testing.assert_allclose(got, proba[:, present], atol=1e-5)


@pytest.mark.parametrize("family", ["xgboost", "catboost"])
def test_the_shap_section_explains_a_winning_xgboost_or_catboost(runs, family):
    rr = runs(family, "binary")
    out = _section(rr)
    assert out["available"] and out["family"] == family and out["units"] == "log-odds"
    assert out["n_rows"] == 500 and out["summary"][0]["mean_abs_shap"] > 0


def test_lightgbm_values_equal_shap_tree_explainer(runs):
    shap = pytest.importorskip("shap")
    rr = runs("lightgbm", "multiclass")
    Xp = rr.extra["inputs"]["Xp"]
    est = rr.predictor.members[0].models[0]
    values, _ = explain.fold_shap(est, "lightgbm", Xp, rr.predictor.n_classes)
    Xt = est.preprocessor_.transform(Xp)
    ref = shap.TreeExplainer(est.booster_).shap_values(
        Xt, tree_limit=est.n_iterations_, check_additivity=False
    )
    ref = np.asarray(ref) if not isinstance(ref, list) else np.stack(ref, axis=-1)
    np.testing.assert_allclose(values[:, :, list(est.present_classes_)], ref, atol=1e-10)


def test_a_forest_winner_is_not_explained_and_the_section_says_why():
    df, entry = load_dataset("penguins_species")
    X, y = df.drop(columns=[entry["target"]]), df[entry["target"]]
    cfg = RunConfig(
        time_limit=None,
        max_trials=1,
        families=["random_forest"],
        folds=2,
        repeats=1,
        n_jobs=1,
        final_model="bagged",
        analysis=False,
    )
    rr = run(X, y, cfg)
    out = _section(rr)
    assert out["available"] is False
    assert "boosters' own TreeSHAP" in out["reason"] and "forests" in out["reason"]
    assert "permutation importance and partial dependence" in out["reason"]
