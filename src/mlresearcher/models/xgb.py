"""XGBoost: depth-wise (or loss-guided) histogram gradient boosting.

Early stopping on an inner validation split of the training rows; the model keeps the
best iteration. Category codes are native categorical features (``feature_types="c"``)
unless ``native_categorical`` is off, when they are used as ordered numbers.
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

EARLY_STOPPING_ROUNDS = 50


class XGBoostModel(TabularEstimator):
    """XGBoost booster with its preprocessing, early stopping and a deadline."""

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
        max_depth: int = 6,
        min_child_weight: float = 1.0,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        reg_lambda: float = 1.0,
        reg_alpha: float = 0.0,
        grow_policy: str = "depthwise",
        max_leaves: int = 0,
        native_categorical: bool = True,
        max_cat_to_onehot: int = 8,
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
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.grow_policy = grow_policy
        self.max_leaves = max_leaves
        self.native_categorical = native_categorical
        self.max_cat_to_onehot = max_cat_to_onehot
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction

    def _make_preprocessor(self, n_classes_present: int, n_rows: int) -> Any:
        return tree_preprocessor(self.feature_roles, seed=self.seed, min_frequency=3)

    def _booster_params(self, n_out: int) -> dict[str, Any]:
        if not self._is_classification:
            objective: dict[str, Any] = {"objective": "reg:squarederror", "eval_metric": "rmse"}
        elif n_out == 2:
            objective = {"objective": "binary:logistic", "eval_metric": "logloss"}
        else:
            objective = {
                "objective": "multi:softprob",
                "num_class": n_out,
                "eval_metric": "mlogloss",
            }
        return {
            **objective,
            "tree_method": "hist",
            "eta": self.learning_rate,
            "max_depth": self.max_depth,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "lambda": self.reg_lambda,
            "alpha": self.reg_alpha,
            "grow_policy": self.grow_policy,
            "max_leaves": self.max_leaves,
            "max_cat_to_onehot": self.max_cat_to_onehot,
            "seed": self.seed,
            "nthread": self.n_jobs,
            "verbosity": 0,
        }

    def _dmatrix(self, X: Any, y: np.ndarray | None = None) -> Any:
        import xgboost as xgb

        n_cat = n_output_categories(self.feature_roles)
        kinds = None
        if self.native_categorical and n_cat:
            kinds = ["c"] * n_cat + ["q"] * (X.shape[1] - n_cat)
        return xgb.DMatrix(
            np.asarray(X, dtype=np.float32),
            label=y,
            feature_types=kinds,
            enable_categorical=kinds is not None,
            nthread=self.n_jobs,
        )

    def _fit_learner(self, Xt: Any, y: np.ndarray, n_out: int) -> None:
        import xgboost as xgb

        train_idx, valid_idx = self._split(y)
        dtrain = self._dmatrix(take_rows(Xt, train_idx), y[train_idx])
        callbacks: list[Any] = [_deadline_callback(self.deadline)]
        evals = []
        early = None
        if valid_idx is not None:
            evals = [(self._dmatrix(take_rows(Xt, valid_idx), y[valid_idx]), "valid")]
            early = self.early_stopping_rounds
        rounds = self.num_boost_round if valid_idx is not None else min(self.num_boost_round, 200)
        self.booster_ = xgb.train(
            self._booster_params(n_out),
            dtrain,
            num_boost_round=rounds,
            evals=evals,
            early_stopping_rounds=early,
            callbacks=callbacks,
            verbose_eval=False,
        )
        if early is not None and self.booster_.attr("best_iteration") is not None:
            self.n_iterations_ = int(self.booster_.attr("best_iteration")) + 1
        else:
            self.n_iterations_ = int(self.booster_.num_boosted_rounds())
        self.stopped_by_deadline_ = deadline_passed(self.deadline)
        # predictions take the caller's OpenMP thread limit (see _thread_limit): a few rows
        # on one thread, not a team of n_jobs threads per call
        self.booster_.set_param({"nthread": 0})

    def _predict_learner(self, Xt: Any) -> np.ndarray:
        # straight from the array (the booster keeps the feature types): no DMatrix per call
        p = self.booster_.inplace_predict(
            np.asarray(Xt, dtype=np.float32), iteration_range=(0, self.n_iterations_)
        )
        return np.asarray(p, dtype=float)


def _deadline_callback(deadline: float | None) -> Any:
    """An XGBoost callback that stops training once ``deadline`` has passed."""
    import xgboost as xgb

    class DeadlineCallback(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            return deadline_passed(deadline)

    return DeadlineCallback()


class XGBoostFamily(ModelFamily):
    name = "xgboost"
    requires = ("xgboost",)
    extra = "boosters"
    cost = 3.0  # default fit time relative to linear (benchmarks/family_defaults.py)
    uses_text = True

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        configs = [
            # the family default (XGBoost's own, at a boosting-friendly learning rate)
            {"learning_rate": 0.05, "max_depth": 6, "min_child_weight": 1.0},
            # deep, slow, column-subsampled
            {
                "learning_rate": 0.02,
                "max_depth": 10,
                "min_child_weight": 0.6,
                "colsample_bytree": 0.7,
            },
            # shallow and fast
            {
                "learning_rate": 0.08,
                "max_depth": 4,
                "min_child_weight": 1.3,
                "colsample_bytree": 0.9,
            },
            # leaf-wise growth with row and column subsampling, codes as numbers
            {
                "learning_rate": 0.03,
                "max_depth": 0,
                "grow_policy": "lossguide",
                "max_leaves": 64,
                "subsample": 0.8,
                "colsample_bytree": 0.8,
                "native_categorical": False,
            },
        ]
        return with_transformed_target(configs, ctx)

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        p = "xgboost."
        return {
            "learning_rate": trial.suggest_float(p + "learning_rate", 5e-3, 0.3, log=True),
            "max_depth": trial.suggest_int(p + "max_depth", 3, 12),
            "min_child_weight": trial.suggest_float(p + "min_child_weight", 0.1, 20.0, log=True),
            "subsample": trial.suggest_float(p + "subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float(p + "colsample_bytree", 0.4, 1.0),
            "reg_lambda": trial.suggest_float(p + "reg_lambda", 1e-3, 10.0, log=True),
            "reg_alpha": trial.suggest_float(p + "reg_alpha", 1e-8, 1.0, log=True),
            "native_categorical": trial.suggest_categorical(
                p + "native_categorical", [True, False]
            ),
            **suggest_target_transform(trial, "xgboost.", ctx),
        }

    def build(self, params: dict[str, Any], ctx: FitContext) -> XGBoostModel:
        return XGBoostModel(**common_params(ctx), **params)
