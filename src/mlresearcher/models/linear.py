"""Linear models: L2-regularised logistic regression (classification), ridge (regression).

Cheap, strong on text (sparse 1-2-gram TF-IDF) and a well-calibrated baseline. The
preprocessing is :func:`~mlresearcher.models.preprocess.linear_preprocessor`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from mlresearcher.models._estimator import TabularEstimator, common_params
from mlresearcher.models.base import FitContext, ModelFamily
from mlresearcher.models.preprocess import linear_preprocessor, target_type


class LinearModel(TabularEstimator):
    """Logistic regression (``C``) or ridge regression (``alpha``) on scaled features."""

    # L-BFGS works on coefficient vectors, where BLAS threads only add wake-ups: one
    # thread fits gss_happiness (17k rows, 3 classes) 2.5-3.7x faster than two
    # (benchmarks/automl/linear_threads.py)
    blas_threads = 1

    def __init__(
        self,
        *,
        task: str = "binary",
        n_classes: int = 2,
        feature_roles: dict[str, str] | None = None,
        seed: int = 0,
        n_jobs: int = 1,
        deadline: float | None = None,
        C: float = 1.0,
        alpha: float = 1.0,
        scaling: str = "standard",
        max_iter: int = 1000,
    ):
        self.task = task
        self.n_classes = n_classes
        self.feature_roles = feature_roles
        self.seed = seed
        self.n_jobs = n_jobs
        self.deadline = deadline
        self.C = C
        self.alpha = alpha
        self.scaling = scaling
        self.max_iter = max_iter

    def _make_preprocessor(self, n_classes_present: int, n_rows: int) -> Any:
        return linear_preprocessor(
            self.feature_roles,
            target_type=target_type(self.task, n_classes_present),
            seed=self.seed,
            scaling=self.scaling,
            # group levels seen in fewer than ~0.1% of rows (at least 2) as "infrequent"
            min_frequency=max(2, n_rows // 1000),
            n_rows=n_rows,
        )

    def _fit_learner(self, Xt: Any, y: np.ndarray, n_out: int) -> None:
        from sklearn.linear_model import LogisticRegression, Ridge

        if self._is_classification:
            self.learner_ = LogisticRegression(
                C=self.C, max_iter=self.max_iter, random_state=self.seed, solver="lbfgs"
            )
        else:
            # standardise the target so that alpha means the same thing on any scale
            self.y_mean_, self.y_scale_ = float(np.mean(y)), float(np.std(y)) or 1.0
            y = (y - self.y_mean_) / self.y_scale_
            self.learner_ = Ridge(alpha=self.alpha, random_state=self.seed)
        with warnings.catch_warnings():
            # lbfgs may stop at max_iter on hard problems; the model is still usable
            warnings.filterwarnings("ignore", message=".*(converge|max_iter|iteration).*")
            self.learner_.fit(Xt, y)

    def _predict_learner(self, Xt: Any) -> np.ndarray:
        if self._is_classification:
            return self.learner_.predict_proba(Xt)
        return self.learner_.predict(Xt) * self.y_scale_ + self.y_mean_


class LinearFamily(ModelFamily):
    name = "linear"
    requires = ("sklearn",)
    cost = 1.0  # the unit of cost
    uses_text = True

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        if ctx.is_classification:
            return [
                {"C": 1.0, "scaling": "standard"},
                {"C": 0.1, "scaling": "standard"},
                {"C": 1.0, "scaling": "quantile"},
                {"C": 10.0, "scaling": "standard"},
            ]
        return [
            {"alpha": 1.0, "scaling": "standard"},
            {"alpha": 10.0, "scaling": "standard"},
            {"alpha": 1.0, "scaling": "quantile"},
            {"alpha": 0.1, "scaling": "standard"},
        ]

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if ctx.is_classification:
            params["C"] = trial.suggest_float("linear.C", 1e-3, 1e2, log=True)
        else:
            params["alpha"] = trial.suggest_float("linear.alpha", 1e-3, 1e3, log=True)
        params["scaling"] = trial.suggest_categorical("linear.scaling", ["standard", "quantile"])
        return params

    def build(self, params: dict[str, Any], ctx: FitContext) -> LinearModel:
        return LinearModel(**common_params(ctx), **params)
