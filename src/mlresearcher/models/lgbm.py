"""LightGBM: leaf-wise gradient boosting, usually the strongest single tabular family.

Trees are grown with early stopping on an inner validation split carved from the
training rows (never the caller's validation fold); the model keeps the best iteration.
Category codes from :func:`~mlresearcher.models.preprocess.tree_preprocessor` are passed
as native categorical features (missing and unseen levels share LightGBM's missing bin).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlresearcher.models._estimator import (
    TabularEstimator,
    common_params,
    deadline_passed,
    take_rows,
)
from mlresearcher.models.base import (
    FitContext,
    ModelFamily,
    suggest_target_transform,
    with_transformed_target,
)
from mlresearcher.models.preprocess import n_output_categories, tree_preprocessor

#: rounds without improvement on the inner validation split before stopping
EARLY_STOPPING_ROUNDS = 50


# Below this many training rows a LightGBM fit runs on one thread. Its per-iteration
# parallel regions cost more than they save on small data, and on a busy machine every
# one of them waits for a descheduled thread: 2 threads were 3x slower on the small dev
# tasks there (benchmarks/automl/lgbm_threads.py).
SINGLE_THREAD_ROWS = 10_000

# Below this many training rows the trained booster is kept as it is. ``lightgbm.train``
# otherwise rebuilds it from its own model string (text out, text in), which on small data
# took a quarter of the fit; the kept booster also holds its binned training rows, a
# memory cost worth paying only while they are few.
KEEP_BOOSTER_ROWS = 100_000


class LightGBMModel(TabularEstimator):
    """LightGBM booster with its preprocessing, early stopping and a deadline."""

    def __init__(
        self,
        *,
        task: str = "binary",
        n_classes: int = 2,
        feature_roles: dict[str, str] | None = None,
        seed: int = 0,
        n_jobs: int = 1,
        deadline: float | None = None,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_data_in_leaf: int = 20,
        feature_fraction: float = 0.9,
        bagging_fraction: float = 1.0,
        lambda_l1: float = 0.0,
        lambda_l2: float = 0.0,
        extra_trees: bool = False,
        cat_smooth: float = 10.0,
        max_bin: int = 255,
        num_boost_round: int = 10_000,
        early_stopping_rounds: int = EARLY_STOPPING_ROUNDS,
        validation_fraction: float = 0.1,
        target_transform: str | None = None,
    ):
        self.task = task
        self.n_classes = n_classes
        self.feature_roles = feature_roles
        self.seed = seed
        self.n_jobs = n_jobs
        self.target_transform = target_transform
        self.deadline = deadline
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.lambda_l1 = lambda_l1
        self.lambda_l2 = lambda_l2
        self.extra_trees = extra_trees
        self.cat_smooth = cat_smooth
        self.max_bin = max_bin
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction

    def _make_preprocessor(self, n_classes_present: int, n_rows: int) -> Any:
        return tree_preprocessor(self.feature_roles, seed=self.seed, min_frequency=3)

    def _booster_params(self, n_out: int) -> dict[str, Any]:
        if not self._is_classification:
            objective: dict[str, Any] = {"objective": "regression"}
        elif n_out == 2:
            objective = {"objective": "binary"}
        else:
            objective = {"objective": "multiclass", "num_class": n_out}
        bagging = self.bagging_fraction < 1.0
        return {
            **objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction if bagging else 1.0,
            "bagging_freq": 1 if bagging else 0,
            "lambda_l1": self.lambda_l1,
            "lambda_l2": self.lambda_l2,
            "extra_trees": bool(self.extra_trees),
            "cat_smooth": self.cat_smooth,
            "max_bin": self.max_bin,
            "min_data_per_group": 100,
            "max_cat_to_onehot": 4,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.n_jobs,
            "verbosity": -1,
        }

    def _fit_learner(self, Xt: Any, y: np.ndarray, n_out: int) -> None:
        import lightgbm as lgb

        n_cat = n_output_categories(self.feature_roles)
        categorical = list(range(n_cat))
        train_idx, valid_idx = self._split(y)
        params = self._booster_params(n_out)
        if len(train_idx) < SINGLE_THREAD_ROWS:
            params["num_threads"] = 1
        dtrain = lgb.Dataset(
            take_rows(Xt, train_idx),
            label=y[train_idx],
            categorical_feature=categorical,
            free_raw_data=True,
            params={"max_bin": self.max_bin, "verbosity": -1},
        )
        callbacks = [_deadline_callback(self.deadline)]
        valid_sets = []
        if valid_idx is not None:
            dvalid = lgb.Dataset(take_rows(Xt, valid_idx), label=y[valid_idx], reference=dtrain)
            valid_sets = [dvalid]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        rounds = self.num_boost_round if valid_idx is not None else min(self.num_boost_round, 200)
        self.booster_ = lgb.train(
            params,
            dtrain,
            num_boost_round=rounds,
            valid_sets=valid_sets,
            callbacks=callbacks,
            keep_training_booster=len(train_idx) < KEEP_BOOSTER_ROWS,
        )
        best = self.booster_.best_iteration
        self.n_iterations_ = int(best) if best and best > 0 else self.booster_.current_iteration()
        self.stopped_by_deadline_ = deadline_passed(self.deadline)
        if len(train_idx) < SINGLE_THREAD_ROWS:
            # Pickling turns the booster into its model string. Made here, it is made in
            # the fold's own thread, beside the other folds (small trials fit them side by
            # side), rather than one booster after another when the trial's checkpoint is
            # written; it is dropped once pickled. Only small data: the string is held in
            # memory until then, and a model that is never pickled keeps it.
            self._booster_text = self.booster_.model_to_string(num_iteration=-1)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # object's own is the live __dict__
        text = state.pop("_booster_text", None)
        self.__dict__.pop("_booster_text", None)  # pickled once; the memory goes back
        booster = state.get("booster_")
        if booster is not None:
            # what lightgbm.Booster.__getstate__ gives, with the string made at fit time
            inner = {
                k: v for k, v in booster.__dict__.items() if k not in ("train_set", "valid_sets")
            }
            handle = inner.get("_handle")
            if handle is not None and not isinstance(handle, str):
                inner["_handle"] = (
                    text if text is not None else booster.model_to_string(num_iteration=-1)
                )
            state["booster_"] = _BoosterState(inner)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        booster = state.get("booster_")
        if isinstance(booster, _BoosterState):
            import lightgbm as lgb

            restored = lgb.Booster.__new__(lgb.Booster)
            restored.__setstate__(booster.state)
            state = {**state, "booster_": restored}
        super().__setstate__(state)

    def _predict_learner(self, Xt: Any) -> np.ndarray:
        p = self.booster_.predict(Xt, num_iteration=self.n_iterations_)
        return np.asarray(p)


class _BoosterState:
    """A pickled booster's state, as LightGBM's own ``__getstate__`` makes it."""

    def __init__(self, state: dict[str, Any]):
        self.state = state


def _deadline_callback(deadline: float | None) -> Any:
    """A LightGBM callback that stops training once ``deadline`` has passed.

    It keeps the best iteration seen on the first validation metric so the model keeps
    the early-stopping choice made so far.
    """
    import lightgbm as lgb

    state: dict[str, Any] = {"best": None, "best_iter": 0, "best_list": []}

    def callback(env: Any) -> None:
        results = env.evaluation_result_list or []
        if results:
            _, _, score, higher_better = results[0][:4]
            best = state["best"]
            if best is None or (score > best if higher_better else score < best):
                state.update(best=score, best_iter=env.iteration, best_list=results)
        if deadline_passed(deadline):
            best_iter = state["best_iter"] if results else env.iteration
            raise lgb.callback.EarlyStopException(best_iter, state["best_list"] or results)

    callback.order = 40  # after LightGBM's early stopping (order 30): a regular stop wins
    return callback


class LightGBMFamily(ModelFamily):
    name = "lightgbm"
    requires = ("lightgbm",)
    cost = 2.0  # default fit time relative to linear (benchmarks/family_defaults.py)
    uses_text = True

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        configs = [
            # the family default
            {
                "learning_rate": 0.05,
                "num_leaves": 31,
                "min_data_in_leaf": 20,
                "feature_fraction": 0.9,
            },
            # AutoGluon's "GBMLarge": slower learning, bigger trees
            {
                "learning_rate": 0.03,
                "num_leaves": 128,
                "min_data_in_leaf": 3,
                "feature_fraction": 0.9,
            },
            # extremely randomised splits: a different bias, good in ensembles
            {
                "learning_rate": 0.05,
                "num_leaves": 31,
                "min_data_in_leaf": 20,
                "feature_fraction": 0.9,
                "extra_trees": True,
            },
            # strongly regularised, row- and column-subsampled
            {
                "learning_rate": 0.02,
                "num_leaves": 63,
                "min_data_in_leaf": 14,
                "feature_fraction": 0.7,
                "bagging_fraction": 0.8,
                "lambda_l2": 1.0,
            },
        ]
        return with_transformed_target(configs, ctx)

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        p = "lightgbm."
        return {
            "learning_rate": trial.suggest_float(p + "learning_rate", 5e-3, 0.2, log=True),
            "num_leaves": trial.suggest_int(p + "num_leaves", 8, 256, log=True),
            "min_data_in_leaf": trial.suggest_int(p + "min_data_in_leaf", 2, 100, log=True),
            "feature_fraction": trial.suggest_float(p + "feature_fraction", 0.4, 1.0),
            "bagging_fraction": trial.suggest_float(p + "bagging_fraction", 0.5, 1.0),
            "lambda_l1": trial.suggest_float(p + "lambda_l1", 1e-8, 10.0, log=True),
            "lambda_l2": trial.suggest_float(p + "lambda_l2", 1e-8, 10.0, log=True),
            "extra_trees": trial.suggest_categorical(p + "extra_trees", [False, True]),
            "cat_smooth": trial.suggest_float(p + "cat_smooth", 1.0, 100.0, log=True),
            **suggest_target_transform(trial, "lightgbm.", ctx),
        }

    def build(self, params: dict[str, Any], ctx: FitContext) -> LightGBMModel:
        return LightGBMModel(**common_params(ctx), **params)
