"""k-nearest neighbours on scaled, dense features (text via TF-IDF + SVD).

Cheap to fit, a useful diverse member for ensembles. Prediction cost grows with the
training rows; above :data:`MAX_REFERENCE_ROWS` rows a seeded random subsample is
kept as the reference set so that out-of-fold prediction stays affordable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlresearcher.models._estimator import TabularEstimator, common_params
from mlresearcher.models.base import FitContext, ModelFamily
from mlresearcher.models.preprocess import knn_preprocessor, target_type

#: training rows kept as neighbours at most
MAX_REFERENCE_ROWS = 50_000


#: queries with fewer rows than this run on one thread (the results are the same)
SMALL_QUERY = 1_000


class KNeighborsModel(TabularEstimator):
    """``KNeighbors{Classifier,Regressor}`` with dense scaled preprocessing."""

    def __init__(
        self,
        *,
        task: str = "binary",
        n_classes: int = 2,
        feature_roles: dict[str, str] | None = None,
        seed: int = 0,
        n_jobs: int = 1,
        deadline: float | None = None,
        n_neighbors: int = 15,
        weights: str = "distance",
        p: int = 2,
    ):
        self.task = task
        self.n_classes = n_classes
        self.feature_roles = feature_roles
        self.seed = seed
        self.n_jobs = n_jobs
        self.deadline = deadline
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.p = p

    def _make_preprocessor(self, n_classes_present: int, n_rows: int) -> Any:
        return knn_preprocessor(
            self.feature_roles,
            target_type=target_type(self.task, n_classes_present),
            seed=self.seed,
            min_frequency=max(2, n_rows // 1000),
        )

    def _fit_learner(self, Xt: Any, y: np.ndarray, n_out: int) -> None:
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        Xt = np.asarray(Xt, dtype=np.float64)
        if len(y) > MAX_REFERENCE_ROWS:
            keep = np.sort(
                np.random.RandomState(self.seed).permutation(len(y))[:MAX_REFERENCE_ROWS]
            )
            Xt, y = Xt[keep], y[keep]
        cls = KNeighborsClassifier if self._is_classification else KNeighborsRegressor
        self.learner_ = cls(
            n_neighbors=max(1, min(self.n_neighbors, len(y))),
            weights=self.weights,
            p=self.p,
            n_jobs=self.n_jobs,
        )
        self.learner_.fit(Xt, y)

    def _predict_learner(self, Xt: Any) -> np.ndarray:
        Xt = np.asarray(Xt, dtype=np.float64)
        # a thread pool costs milliseconds to start: worth it for a batch, not for a few rows
        self.learner_.n_jobs = self.n_jobs if len(Xt) >= SMALL_QUERY else 1
        if self._is_classification:
            return self.learner_.predict_proba(Xt)
        return self.learner_.predict(Xt)


class KNeighborsFamily(ModelFamily):
    name = "knn"
    requires = ("sklearn",)
    cost = 2.0  # default fit time relative to linear (benchmarks/family_defaults.py)
    uses_text = True

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        return [
            {"n_neighbors": 15, "weights": "distance"},
            {"n_neighbors": 5, "weights": "uniform"},
            {"n_neighbors": 50, "weights": "distance"},
        ]

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        p = "knn."
        return {
            "n_neighbors": trial.suggest_int(p + "n_neighbors", 1, 100, log=True),
            "weights": trial.suggest_categorical(p + "weights", ["uniform", "distance"]),
            "p": trial.suggest_categorical(p + "p", [1, 2]),
        }

    def build(self, params: dict[str, Any], ctx: FitContext) -> KNeighborsModel:
        return KNeighborsModel(**common_params(ctx), **params)
