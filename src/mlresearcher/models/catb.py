"""CatBoost: symmetric (oblivious) trees with ordered target statistics for categories.

Strong out of the box, especially with categorical and high-cardinality columns, which
it receives as strings and encodes itself (unseen levels at predict time are handled by
CatBoost). It is the slowest booster on few cores, so ``max_iterations`` is bounded and
the deadline is checked after every iteration. Early stopping uses an inner validation
split of the training rows and the model keeps the best iteration.
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
from mlresearcher.models.preprocess import catboost_preprocessor, n_output_categories

EARLY_STOPPING_ROUNDS = 50


class CatBoostModel(TabularEstimator):
    """CatBoost with its preprocessing, early stopping and a deadline."""

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
        depth: int = 6,
        l2_leaf_reg: float = 3.0,
        random_strength: float = 1.0,
        bagging_temperature: float = 1.0,
        one_hot_max_size: int = 2,
        max_ctr_complexity: int = 4,
        max_iterations: int = 5000,
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
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.random_strength = random_strength
        self.bagging_temperature = bagging_temperature
        self.one_hot_max_size = one_hot_max_size
        self.max_ctr_complexity = max_ctr_complexity
        self.max_iterations = max_iterations
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction

    def _make_preprocessor(self, n_classes_present: int, n_rows: int) -> Any:
        return catboost_preprocessor(self.feature_roles, seed=self.seed)

    def _fit_learner(self, Xt: Any, y: np.ndarray, n_out: int) -> None:
        from catboost import CatBoostClassifier, CatBoostRegressor, Pool

        cat_features = list(range(n_output_categories(self.feature_roles)))
        train_idx, valid_idx = self._split(y)
        common = {
            "learning_rate": self.learning_rate,
            "depth": self.depth,
            "l2_leaf_reg": self.l2_leaf_reg,
            "random_strength": self.random_strength,
            "bagging_temperature": self.bagging_temperature,
            "one_hot_max_size": self.one_hot_max_size,
            "max_ctr_complexity": self.max_ctr_complexity,
            "iterations": self.max_iterations
            if valid_idx is not None
            else min(self.max_iterations, 300),
            "random_seed": self.seed,
            "thread_count": self.n_jobs,
            "allow_writing_files": False,
            "verbose": False,
        }
        if self._is_classification:
            loss = "Logloss" if n_out == 2 else "MultiClass"
            self.learner_ = CatBoostClassifier(
                loss_function=loss, class_names=list(range(n_out)), **common
            )
        else:
            self.learner_ = CatBoostRegressor(loss_function="RMSE", **common)
        train = Pool(take_rows(Xt, train_idx), y[train_idx], cat_features=cat_features)
        fit_args: dict[str, Any] = {
            # log loss is unit-free: below 1e-4 per 50 iterations nothing changes in practice
            "callbacks": [
                _DeadlineCallback(
                    self.deadline,
                    self.early_stopping_rounds,
                    min_abs_improvement=1e-4 if self._is_classification else 0.0,
                )
            ]
        }
        if valid_idx is not None:
            fit_args.update(
                eval_set=Pool(take_rows(Xt, valid_idx), y[valid_idx], cat_features=cat_features),
                early_stopping_rounds=self.early_stopping_rounds,
                use_best_model=True,
            )
        self.learner_.fit(train, **fit_args)
        self.n_iterations_ = int(self.learner_.tree_count_)
        self.stopped_by_deadline_ = deadline_passed(self.deadline)

    def _predict_learner(self, Xt: Any) -> np.ndarray:
        if self._is_classification:
            return self.learner_.predict_proba(Xt)
        return self.learner_.predict(Xt)


class _DeadlineCallback:
    """CatBoost callback: ``after_iteration`` returning ``False`` stops training.

    Stops at the deadline, and also when the validation loss has not improved by more
    than ``min_rel_improvement`` x loss + ``min_abs_improvement`` for ``patience``
    iterations. CatBoost's own early stopping counts any improvement, however tiny, so on
    separable data (where log loss creeps towards zero for ever) it would run every one of
    thousands of iterations.
    """

    def __init__(
        self,
        deadline: float | None,
        patience: int = EARLY_STOPPING_ROUNDS,
        min_rel_improvement: float = 1e-3,
        min_abs_improvement: float = 0.0,
    ):
        self.deadline = deadline
        self.patience = patience
        self.min_rel_improvement = min_rel_improvement
        self.min_abs_improvement = min_abs_improvement
        self.best = float("inf")
        self.best_iteration = 0

    def after_iteration(self, info: Any) -> bool:
        if deadline_passed(self.deadline):
            return False
        history = (getattr(info, "metrics", None) or {}).get("validation")
        if history:
            value = next(iter(history.values()))[-1]
            if self.best == float("inf"):
                self.best, self.best_iteration = value, info.iteration
            elif (
                value
                < self.best - self.min_rel_improvement * abs(self.best) - self.min_abs_improvement
            ):
                self.best, self.best_iteration = value, info.iteration
            elif info.iteration - self.best_iteration >= self.patience:
                return False
        return True


class CatBoostFamily(ModelFamily):
    name = "catboost"
    requires = ("catboost",)
    extra = "boosters"
    cost = 20.0  # default fit time relative to linear (benchmarks/family_defaults.py)
    uses_text = True

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        configs = [
            # the family default
            {"learning_rate": 0.05, "depth": 6, "l2_leaf_reg": 3.0},
            # fast: higher learning rate, simple category combinations (time-aware)
            {
                "learning_rate": 0.1,
                "depth": 6,
                "l2_leaf_reg": 3.0,
                "max_ctr_complexity": 1,
                "one_hot_max_size": 10,
            },
            # from AutoML portfolios: one-hot small categories, tuned regularisation
            {"learning_rate": 0.069, "depth": 6, "l2_leaf_reg": 2.15, "one_hot_max_size": 10},
            # deeper, slower
            {"learning_rate": 0.03, "depth": 8, "l2_leaf_reg": 1.5},
        ]
        return with_transformed_target(configs, ctx)

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        p = "catboost."
        return {
            "learning_rate": trial.suggest_float(p + "learning_rate", 1e-2, 0.2, log=True),
            "depth": trial.suggest_int(p + "depth", 4, 8),
            "l2_leaf_reg": trial.suggest_float(p + "l2_leaf_reg", 1.0, 10.0, log=True),
            "random_strength": trial.suggest_float(p + "random_strength", 0.1, 5.0, log=True),
            "bagging_temperature": trial.suggest_float(p + "bagging_temperature", 0.0, 1.0),
            "one_hot_max_size": trial.suggest_categorical(p + "one_hot_max_size", [2, 10]),
            "max_ctr_complexity": trial.suggest_int(p + "max_ctr_complexity", 1, 4),
            **suggest_target_transform(trial, "catboost.", ctx),
        }

    def build(self, params: dict[str, Any], ctx: FitContext) -> CatBoostModel:
        return CatBoostModel(**common_params(ctx), **params)
