"""k-nearest neighbours on scaled, dense features (text via TF-IDF + SVD).

Cheap to fit, a useful diverse member for ensembles. Prediction cost grows with the
training rows; above :data:`MAX_REFERENCE_ROWS` rows a seeded random subsample is
kept as the reference set so that out-of-fold prediction stays affordable.

Where scikit-learn searches by brute force with euclidean distances (more than a few
features), the search is :func:`nearest`: one matrix product per block of query rows
shortlists each row's neighbours, and the shortlist's exact distances (sums of squared
differences) decide, ties by reference row. Each row's neighbours then depend on that row
alone, in a batch or on its own, and a single row costs one matrix-vector product (0.3
to 0.7 ms over 35,000 reference rows, against 1 to 3 ms for scikit-learn's reduction).
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
#: query rows that :func:`nearest` shortlists by one matrix product (more: by
#: scikit-learn's reduction, which keeps a heap per row instead of every distance)
FEW_ROWS = 64
#: query rows of one call of the search (a larger query is cut into such blocks)
BLOCK_ROWS = 4_096
#: shortlisted rows per query row beyond the k nearest by the matrix product's distances
SHORTLIST_EXTRA = 8
#: float64 rounding, times a generous count of operations: a bound on how far the matrix
#: product's squared distances can lie from the exact ones, relative to the norms
ROUNDING = 64 * np.finfo(np.float64).eps


def nearest(
    ref: np.ndarray, ref_norms: np.ndarray, X: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The euclidean distances ``(n, k)`` and indices ``(n, k)`` of each row of ``X``'s
    ``k`` nearest rows of ``ref`` (``ref_norms``: their squared norms), nearest first,
    ties by index: exact, and the same for a row whatever rows it comes with.

    A shortlist of ``k +`` :data:`SHORTLIST_EXTRA` rows comes from squared distances
    ``|x|^2 + |r|^2 - 2 x.r`` (a matrix-vector product for a few rows, scikit-learn's
    reduction for more), which lie within ``eps = ROUNDING * (d + 4) * (|x|^2 + max |r|^2)``
    of the exact ones. Every row whose exact distance is at most the k-th smallest then
    lies within ``2 eps`` of the shortlist's k-th smallest: the rows within that bound are
    ranked by their exact distances; where the shortlist ends inside the bound (ties), all
    rows within it are."""
    if len(X) > BLOCK_ROWS:  # the shortlists' rows held at once stay bounded
        parts = [
            nearest(ref, ref_norms, X[i : i + BLOCK_ROWS], k) for i in range(0, len(X), BLOCK_ROWS)
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    n_ref, d = ref.shape
    k = min(k, n_ref)
    m = min(n_ref, k + SHORTLIST_EXTRA)
    top = float(ref_norms.max()) if n_ref else 0.0
    x_norms = np.einsum("ij,ij->i", X, X)
    bound_of = 2.0 * ROUNDING * (d + 4) * (x_norms + top)
    if m == n_ref:
        short = np.broadcast_to(np.arange(n_ref), (len(X), n_ref))
        near = ref_norms[None, :] - 2.0 * (X @ ref.T) + x_norms[:, None]
    elif len(X) <= FEW_ROWS:
        approx = ref_norms[None, :] - 2.0 * (X @ ref.T) + x_norms[:, None]
        short = np.argpartition(approx, m - 1, axis=1)[:, :m]
        near = np.take_along_axis(approx, short, axis=1)
    else:
        from sklearn.metrics._pairwise_distances_reduction import ArgKmin

        found, short = ArgKmin.compute(
            X=X, Y=ref, k=m, metric="euclidean", chunk_size=None, return_distance=True
        )
        near = found * found
    bound = np.partition(near, k - 1, axis=1)[:, k - 1] + bound_of
    exact = np.where(near <= bound[:, None], _squared(ref[short] - X[:, None, :]), np.inf)
    order = np.lexsort((short, exact), axis=1)[:, :k]
    dist = np.sqrt(np.take_along_axis(exact, order, axis=1))
    ind = np.take_along_axis(short, order, axis=1).astype(np.intp)
    if m < n_ref:
        for i in np.flatnonzero(near.max(axis=1) <= bound):
            approx_i = ref_norms - 2.0 * (ref @ X[i]) + x_norms[i]
            cand = np.flatnonzero(approx_i <= bound[i])
            sq = _squared(ref[cand][None, :, :] - X[i][None, None, :])[0]
            pick = np.lexsort((cand, sq))[:k]
            dist[i], ind[i] = np.sqrt(sq[pick]), cand[pick]
    return dist, ind


def _squared(diff: np.ndarray) -> np.ndarray:
    """Sums of squares over the last axis, by one reduction whatever the leading axes (so
    a pair's exact distance is the same number in every call)."""
    return np.add.reduce(diff * diff, axis=-1)


def vote(learner: Any, dist: np.ndarray | None, ind: np.ndarray) -> np.ndarray:
    """A fitted scikit-learn neighbours model's output from its neighbours: class
    probabilities ``(n, classes)`` or values, uniform or weighted by inverse distance
    (``dist`` is ``None`` for uniform votes), as its ``predict_proba`` or ``predict``."""
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neighbors._base import _get_weights

    y = learner._y
    weights = _get_weights(dist, learner.weights) if dist is not None else None
    if not isinstance(learner, KNeighborsClassifier):
        _y = y.reshape((-1, 1)) if y.ndim == 1 else y
        if weights is None:
            out = np.mean(_y[ind], axis=1)
        else:
            out = np.empty((len(ind), _y.shape[1]), dtype=np.float64)
            denom = np.sum(weights, axis=1)
            for j in range(_y.shape[1]):
                out[:, j] = np.sum(_y[ind, j] * weights, axis=1) / denom
        return out.ravel() if y.ndim == 1 else out
    if weights is None:
        weights = np.ones_like(ind)
    rows = np.arange(len(ind))
    proba = np.zeros((len(ind), learner.classes_.size))
    for i, labels in enumerate(y[ind].T):
        proba[rows, labels] += weights[:, i]
    proba /= proba.sum(axis=1)[:, np.newaxis]
    return proba


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
        self.ref_norms_ = None  # None: scikit-learn's own search (a tree, or another metric)
        if self.p == 2 and getattr(self.learner_, "_fit_method", None) == "brute":
            ref = self.learner_._fit_X
            self.ref_norms_ = np.einsum("ij,ij->i", ref, ref)

    def own_search(self) -> Any:
        """``_predict_learner`` by :func:`nearest` (a function of the learner's input
        matrix), or ``None`` where scikit-learn's search predicts."""
        if getattr(self, "ref_norms_", None) is None:  # or fitted before there was one
            return None
        learner, norms = self.learner_, self.ref_norms_
        uniform = learner.weights == "uniform"

        def predict(Xt: np.ndarray) -> np.ndarray:
            Xt = np.ascontiguousarray(Xt, dtype=np.float64)
            dist, ind = nearest(learner._fit_X, norms, Xt, learner.n_neighbors)
            return vote(learner, None if uniform else dist, ind)

        return predict

    def _predict_learner(self, Xt: Any) -> np.ndarray:
        Xt = np.asarray(Xt, dtype=np.float64)
        own = self.own_search()
        if own is not None:
            return own(Xt)
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
