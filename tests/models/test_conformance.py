"""One conformance suite for every model family (the contract in ``models/base.py``).

Each family x task (binary, multiclass, regression) is checked on a small subsample of a
real dataset for what the search relies on: JSON-able configurations, a search space
whose samples build, probabilities over all classes, robustness to unseen and missing
values, determinism, pickling, the deadline, and fold hygiene (no leakage).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
from functools import cache
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from conftest import DATASETS  # noqa: E402
from sklearn.base import clone

from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
from mlresearcher.models.base import FitContext, predict_scores
from mlresearcher.models.registry import FAMILIES as ALL_FAMILIES
from mlresearcher.models.registry import get_families

# (dataset, target): binary with a high-cardinality column and a date, multiclass with
# missing values, regression with a high-cardinality column
TASKS = {
    "binary": ("recidivism_two_year.parquet", "two_year_recid"),
    "multiclass": ("penguins_species.parquet", "species"),
    "regression": ("restaurant_inspection_score.parquet", "inspection_score"),
}
TEXT = ("food_review_sentiment.parquet", "score")
N_ROWS = 300

# keep the suite fast: fewer trees/epochs than the defaults (the deadline test uses the
# real defaults)
FAST = {
    "lightgbm": {"num_boost_round": 60},
    "xgboost": {"num_boost_round": 60},
    "catboost": {"max_iterations": 60},
    "hist_gb": {"max_iter": 60},
    "random_forest": {"n_estimators": 20},
    "extra_trees": {"n_estimators": 20},
    "mlp": {"max_epochs": 6},
    "realmlp": {"n_epochs": 8},
}

FAMILIES = get_families(ALL_FAMILIES)  # the opt-in families too
FAMILY_IDS = [f.name for f in FAMILIES]


optuna.logging.set_verbosity(optuna.logging.WARNING)


# ---------------------------------------------------------------------------------- data
class Task:
    """A subsampled, prepared dataset split 80/20 into training and test rows."""

    def __init__(self, task: str, file: str, target: str):
        df = pd.read_parquet(DATASETS / file)
        df = df.sample(n=min(N_ROWS, len(df)), random_state=0).reset_index(drop=True)
        raw = df.drop(columns=[target])
        infos, _ = infer_roles(raw)
        self.schema = build_schema(raw, infos)
        self.X = prepare_features(raw, self.schema)
        self.task = task
        if task == "regression":
            self.y = df[target].to_numpy(dtype=float)
            self.n_classes = 0
        else:
            labels = df[target].astype(str)
            classes = np.unique(labels)
            self.y = np.searchsorted(classes, labels)
            self.n_classes = len(classes)
        rng = np.random.RandomState(0)
        order = rng.permutation(len(df))
        cut = int(0.8 * len(df))
        self.train, self.test = np.sort(order[:cut]), np.sort(order[cut:])

    def ctx(self, **kw: Any) -> FitContext:
        return FitContext(
            task=self.task,
            n_classes=self.n_classes,
            schema=self.schema,
            n_rows=len(self.train),
            seed=kw.pop("seed", 0),
            n_jobs=2,
            **kw,
        )

    @property
    def X_train(self) -> pd.DataFrame:
        return self.X.iloc[self.train].reset_index(drop=True)

    @property
    def X_test(self) -> pd.DataFrame:
        return self.X.iloc[self.test].reset_index(drop=True)


@cache
def load(task: str) -> Task:
    if task == "text":
        return Task("binary", *TEXT)
    return Task(task, *TASKS[task])


def family(name: str) -> Any:
    fam = next(f for f in FAMILIES if f.name == name)
    reason = fam.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    return fam


def fast_config(fam: Any, ctx: FitContext, index: int = 0) -> dict[str, Any]:
    return {**fam.default_configs(ctx)[index], **FAST.get(fam.name, {})}


@cache
def fitted(name: str, task: str, seed: int = 0) -> tuple[Any, np.ndarray]:
    """A fitted default estimator and its test-row scores (cached across tests)."""
    fam, t = family(name), load(task)
    ctx = t.ctx(seed=seed)
    est = fam.build(fast_config(fam, ctx), ctx).fit(t.X_train, t.y[t.train])
    return est, predict_scores(est, t.X_test, t.task, t.n_classes)


def check_scores(scores: np.ndarray, t: Task, n: int) -> None:
    assert np.all(np.isfinite(scores))
    if t.task == "regression":
        assert scores.shape == (n,)
    else:
        assert scores.shape == (n, t.n_classes)
        assert np.all(scores >= 0)
        np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-6)


params_fam = pytest.mark.parametrize("name", FAMILY_IDS)
params_task = pytest.mark.parametrize("task", list(TASKS))


# --------------------------------------------------------------------------- the contract
def test_registry_lists_every_family_once():
    from mlresearcher.models.registry import FAMILIES as NAMES

    assert FAMILY_IDS == NAMES
    for fam in FAMILIES:
        assert fam.name and fam.cost > 0 and isinstance(fam.requires, tuple)


@params_fam
@params_task
def test_default_configs_are_json_scalars(name, task):
    fam, t = family(name), load(task)
    configs = fam.default_configs(t.ctx())
    assert configs, "a family needs at least its default configuration"
    for cfg in configs:
        assert json.loads(json.dumps(cfg)) == cfg
        assert all(isinstance(v, bool | int | float | str) or v is None for v in cfg.values())
        fam.build(cfg, t.ctx())  # every default builds


@params_fam
@params_task
def test_search_space_samples_build_and_fit(name, task):
    fam, t = family(name), load(task)
    ctx = t.ctx()
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    trial = study.ask()
    params = fam.search_space(trial, ctx)
    assert params and json.loads(json.dumps(params)) == params
    # names are prefixed in the shared Optuna space, unprefixed in the returned dict
    assert all(k.startswith(f"{name}.") for k in trial.params)
    assert not any("." in k for k in params)
    est = fam.build({**params, **FAST.get(name, {})}, ctx)
    clone(est)  # a scikit-learn estimator: parameters round-trip through get_params
    est.fit(t.X_train, t.y[t.train])
    check_scores(predict_scores(est, t.X_test, t.task, t.n_classes), t, len(t.test))


@params_fam
@params_task
def test_fit_predict_gives_scores_in_metric_convention(name, task):
    t = load(task)
    _, scores = fitted(name, task)
    check_scores(scores, t, len(t.test))


@params_fam
def test_all_classes_scored_when_training_fold_lacks_one(name):
    fam, t = family(name), load("multiclass")
    ctx = t.ctx()
    keep = t.train[t.y[t.train] != 2]  # class 2 never seen in training
    est = fam.build(fast_config(fam, ctx), ctx).fit(t.X.iloc[keep], t.y[keep])
    scores = predict_scores(est, t.X_test, t.task, t.n_classes)
    check_scores(scores, t, len(t.test))
    np.testing.assert_allclose(scores[:, 2], 0.0, atol=1e-12)


@params_fam
def test_training_fold_with_a_single_class(name):
    fam, t = family(name), load("binary")
    ctx = t.ctx()
    keep = t.train[t.y[t.train] == 1]
    est = fam.build(fast_config(fam, ctx), ctx).fit(t.X.iloc[keep], t.y[keep])
    scores = predict_scores(est, t.X_test, t.task, t.n_classes)
    np.testing.assert_allclose(scores[:, 1], 1.0)


def _hostile(t: Task) -> pd.DataFrame:
    """Test rows with unseen category levels, and a second half entirely missing."""
    X = t.X_test.copy()
    half = len(X) // 2
    for col, role in t.schema.feature_roles.items():
        if role in ("categorical", "high_cardinality", "text"):
            X[col] = X[col].astype(object)
            X.loc[: half - 1, col] = "a level never seen in training"
            X.loc[half:, col] = None
        else:
            X.loc[half:, col] = np.nan
    return X


@params_fam
@params_task
def test_unseen_levels_and_all_missing_rows_predict(name, task):
    t = load(task)
    est, _ = fitted(name, task)
    X = _hostile(t)
    check_scores(predict_scores(est, X, t.task, t.n_classes), t, len(X))


@params_fam
@params_task
def test_same_seed_gives_identical_predictions(name, task):
    fam, t = family(name), load(task)
    _, first = fitted(name, task)
    ctx = t.ctx()
    again = fam.build(fast_config(fam, ctx), ctx).fit(t.X_train, t.y[t.train])
    np.testing.assert_allclose(
        predict_scores(again, t.X_test, t.task, t.n_classes), first, rtol=1e-7, atol=1e-12
    )


@params_fam
@params_task
def test_pickle_round_trip_predicts_the_same(name, task):
    t = load(task)
    est, scores = fitted(name, task)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(predict_scores(back, t.X_test, t.task, t.n_classes), scores)


def test_unpickled_models_predict_in_a_fresh_process(tmp_path):
    t = load("binary")
    names = [f.name for f in FAMILIES if f.unavailable_reason() is None]
    expected = {}
    for name in names:
        est, expected[name] = fitted(name, "binary")
        import joblib

        joblib.dump(est, tmp_path / f"{name}.joblib")
    t.X_test.to_pickle(tmp_path / "X.pkl")
    code = (
        "import sys, joblib, numpy as np, pandas as pd\n"
        "from mlresearcher.models.base import predict_scores\n"
        f"X = pd.read_pickle({str(tmp_path / 'X.pkl')!r})\n"
        f"for name in {names!r}:\n"
        f"    est = joblib.load({str(tmp_path)!r} + '/' + name + '.joblib')\n"
        f"    np.save({str(tmp_path)!r} + '/' + name + '.npy', predict_scores(est, X, 'binary', 2))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    for name in names:
        np.testing.assert_array_equal(
            np.load(tmp_path / f"{name}.npy"), expected[name], err_msg=name
        )


@params_fam
@params_task
def test_deadline_in_the_past_still_gives_a_usable_model(name, task):
    fam, t = family(name), load(task)
    ctx = t.ctx(deadline=time.monotonic() - 1.0)
    est = fam.build(fam.default_configs(ctx)[0], ctx)  # real defaults: thousands of rounds
    start = time.monotonic()
    est.fit(t.X_train, t.y[t.train])
    assert time.monotonic() - start < 10.0
    check_scores(predict_scores(est, t.X_test, t.task, t.n_classes), t, len(t.test))


@params_fam
@params_task
def test_predictions_of_a_row_do_not_depend_on_other_rows(name, task):
    # no batch statistics at predict time: scoring a row alone or among perturbed rows
    t = load(task)
    est, scores = fitted(name, task)
    X = t.X_test.copy()
    mixed = pd.concat([X.iloc[:1], _hostile(t).iloc[1:]], ignore_index=True)
    # (float32 networks may differ in the last bits with the batch's shape: RealMLP's
    # layers, run by torch on matrices of another row count, by about 1e-6)
    rtol = 1e-5 if name == "realmlp" else 1e-6
    np.testing.assert_allclose(
        predict_scores(est, X.iloc[:1], t.task, t.n_classes), scores[:1], rtol=rtol
    )
    np.testing.assert_allclose(
        predict_scores(est, mixed, t.task, t.n_classes)[:1], scores[:1], rtol=rtol
    )


@params_fam
@params_task
def test_preprocessing_learns_from_training_rows_only(name, task):
    # the preprocessing inside a fitted estimator equals one fitted on the training rows
    # alone, and transforming other rows does not change it
    t = load(task)
    est, _ = fitted(name, task)
    assert hasattr(est, "preprocessor_"), (
        "every test task has several classes, so a model is learned"
    )
    y = t.y[t.train]
    y_local = np.searchsorted(est.present_classes_, y) if t.task != "regression" else y
    n_out = len(est.present_classes_) if t.task != "regression" else 0
    alone = est._make_preprocessor(n_out, len(y)).fit(t.X_train, y_local)
    inside, outside = (_frame(p.transform(t.X_test)) for p in (est.preprocessor_, alone))
    pd.testing.assert_frame_equal(inside, outside)
    # the held-out rows' values are never part of what was learned
    before = _frame(est.preprocessor_.transform(t.X_test.iloc[:5]))
    est.preprocessor_.transform(_hostile(t))
    pd.testing.assert_frame_equal(_frame(est.preprocessor_.transform(t.X_test.iloc[:5])), before)


def _frame(m: Any) -> pd.DataFrame:
    if hasattr(m, "toarray"):
        m = m.toarray()
    return pd.DataFrame(np.asarray(m))


# ---------------------------------------------------------------------------------- text
@params_fam
def test_text_only_frame(name):
    fam, t = family(name), load("text")
    ctx = t.ctx()
    assert set(t.schema.feature_roles.values()) == {"text"}
    reason = fam.applicable(ctx)
    if reason is not None:
        assert fam.name in reason and not fam.uses_text
        return
    est = fam.build(fast_config(fam, ctx), ctx).fit(t.X_train, t.y[t.train])
    scores = predict_scores(est, t.X_test, t.task, t.n_classes)
    check_scores(scores, t, len(t.test))
    if name == "linear":  # sparse TF-IDF: clearly better than chance on review sentiment
        from sklearn.metrics import roc_auc_score

        assert roc_auc_score(t.y[t.test], scores[:, 1]) > 0.6


# ------------------------------------------------------------------------------- imports
def test_family_modules_import_without_torch():
    code = (
        "import sys\n"
        "class NoTorch:  # makes any 'import torch' fail, as if it were not installed\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "from mlresearcher.models.registry import get_families\n"
        "fams = {f.name: f for f in get_families()}\n"
        "assert 'mlp' in fams and 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
