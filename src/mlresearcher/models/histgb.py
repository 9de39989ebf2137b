"""scikit-learn's HistGradientBoosting: LightGBM-style boosting with no extra dependency.

Early stopping on an inner validation split of the training rows (passed as
``X_val``/``y_val``); under a deadline, trees are added in chunks with ``warm_start``
and the deadline is checked between chunks. Category codes are native categorical
features (at most 250 levels per column; rarer levels are grouped).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlresearcher.models._estimator import (
    TabularEstimator,
    common_params,
    deadline_passed,
    grow_until_deadline,
    take_rows,
)
from mlresearcher.models.base import (
    FitContext,
    ModelFamily,
    suggest_target_transform,
    with_transformed_target,
)
from mlresearcher.models.preprocess import n_output_categories, tree_preprocessor

#: iterations before the first deadline check (later chunks are sized to the time left)
FIRST_CHUNK = 20


class HistGradientBoostingModel(TabularEstimator):
    """``HistGradientBoosting{Classifier,Regressor}`` with preprocessing and a deadline."""

    def __init__(
        self,
        *,
        task: str = "binary",
        n_classes: int = 2,
        feature_roles: dict[str, str] | None = None,
        seed: int = 0,
        n_jobs: int = 1,
        deadline: float | None = None,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        max_features: float = 1.0,
        max_iter: int = 10_000,
        n_iter_no_change: int = 20,
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
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_features = max_features
        self.max_iter = max_iter
        self.n_iter_no_change = n_iter_no_change
        self.validation_fraction = validation_fraction

    def _make_preprocessor(self, n_classes_present: int, n_rows: int) -> Any:
        # HGB needs fewer category codes than bins (255)
        return tree_preprocessor(
            self.feature_roles, seed=self.seed, min_frequency=3, max_categories=250
        )

    def _fit_learner(self, Xt: Any, y: np.ndarray, n_out: int) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        n_cat = n_output_categories(self.feature_roles)
        mask = np.zeros(Xt.shape[1], dtype=bool)
        mask[:n_cat] = True
        train_idx, valid_idx = self._split(y)
        early = valid_idx is not None
        cls = (
            HistGradientBoostingClassifier
            if self._is_classification
            else HistGradientBoostingRegressor
        )
        max_iter = self.max_iter if early else min(self.max_iter, 200)
        self.learner_ = cls(
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            max_features=self.max_features,
            categorical_features=mask if n_cat else None,
            early_stopping=early,
            n_iter_no_change=self.n_iter_no_change,
            max_iter=min(FIRST_CHUNK, max_iter),
            warm_start=True,
            random_state=self.seed,
        )
        fit_args: dict[str, Any] = {}
        if early:
            fit_args = {"X_val": take_rows(Xt, valid_idx), "y_val": y[valid_idx]}
        X_train, y_train = take_rows(Xt, train_idx), y[train_idx]

        def fit_to(n: int) -> bool:
            self.learner_.set_params(max_iter=n)
            self.learner_.fit(X_train, y_train, **fit_args)
            return self.learner_.n_iter_ < n  # early stopping ended it

        grow_until_deadline(fit_to, max_iter, self.deadline, first=FIRST_CHUNK)
        self.n_iterations_ = int(self.learner_.n_iter_)
        self.stopped_by_deadline_ = deadline_passed(self.deadline)

    def _predict_learner(self, Xt: Any) -> np.ndarray:
        if self._is_classification:
            return self.learner_.predict_proba(Xt)
        return self.learner_.predict(Xt)


class HistGradientBoostingFamily(ModelFamily):
    name = "hist_gb"
    requires = ("sklearn",)
    cost = 2.0  # default fit time relative to linear (benchmarks/family_defaults.py)
    uses_text = True

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        configs = [
            # scikit-learn's defaults (with early stopping on an inner split)
            {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20},
            # slower learning, bigger trees, L2
            {
                "learning_rate": 0.05,
                "max_leaf_nodes": 63,
                "min_samples_leaf": 10,
                "l2_regularization": 1.0,
            },
            # small trees, feature subsampling
            {
                "learning_rate": 0.03,
                "max_leaf_nodes": 15,
                "min_samples_leaf": 30,
                "max_features": 0.7,
            },
        ]
        return with_transformed_target(configs, ctx)

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        p = "hist_gb."
        return {
            "learning_rate": trial.suggest_float(p + "learning_rate", 1e-2, 0.3, log=True),
            "max_leaf_nodes": trial.suggest_int(p + "max_leaf_nodes", 8, 256, log=True),
            "min_samples_leaf": trial.suggest_int(p + "min_samples_leaf", 2, 100, log=True),
            "l2_regularization": trial.suggest_float(p + "l2_regularization", 1e-6, 10.0, log=True),
            "max_features": trial.suggest_float(p + "max_features", 0.4, 1.0),
            **suggest_target_transform(trial, "hist_gb.", ctx),
        }

    def build(self, params: dict[str, Any], ctx: FitContext) -> HistGradientBoostingModel:
        return HistGradientBoostingModel(**common_params(ctx), **params)
