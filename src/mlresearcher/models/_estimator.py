"""The estimator shape every family builds, and helpers they share.

:class:`TabularEstimator` is a scikit-learn estimator for one task (``task`` is a
constructor parameter, so one class serves classification and regression; its tags say
which it is). ``fit`` encodes the classes present in the training rows, fits the
family's preprocessing on those rows only, and hands the transformed matrix to the
family's learner; ``predict_proba`` maps the learner's columns back onto all
``n_classes`` classes (zeros for classes the fold never saw). A fold with a single class
gets a constant model.

Subclasses implement ``_make_preprocessor`` and ``_fit_learner`` / ``_predict_learner``;
every hyperparameter is an explicit keyword argument of their ``__init__``.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from mlresearcher.errors import NotFittedError


def deadline_passed(deadline: float | None) -> bool:
    """Whether ``time.monotonic()`` has passed ``deadline`` (``None`` = never)."""
    return deadline is not None and time.monotonic() > deadline


def grow_until_deadline(
    fit_to: Callable[[int], bool], total: int, deadline: float | None, *, first: int
) -> int:
    """Grow an ensemble to ``total`` members, stopping once ``deadline`` passes.

    ``fit_to(n)`` grows the learner to ``n`` members (a warm start) and returns ``True``
    when the learner stopped by itself (early stopping). Without a deadline it is called
    once. With one, a first chunk of ``first`` members measures the time per member and
    every later chunk is sized to the time left (at most doubling), so the deadline is
    overshot by little more than one member's time. Returns the members requested last.
    """
    if deadline is None:
        fit_to(total)
        return total
    n = min(first, total)
    start = time.monotonic()
    done = fit_to(n)
    while not done and n < total:
        now = time.monotonic()
        left = deadline - now
        if left <= 0:
            break
        per_member = max((now - start) / n, 1e-6)
        n_next = min(total, n + max(1, min(int(0.9 * left / per_member), n)))
        if n_next <= n:
            break
        n = n_next
        done = fit_to(n)
    return n


def inner_validation_split(
    y: np.ndarray, *, classification: bool, seed: int, fraction: float = 0.1, min_rows: int = 30
) -> tuple[np.ndarray, np.ndarray | None]:
    """Indices ``(train, valid)`` of an early-stopping split carved from training rows.

    Classification splits per class (stratified) and keeps at least one row of every
    class on the training side. Returns ``valid=None`` below ``min_rows`` rows, where
    early stopping is not worth the rows it costs.
    """
    n = len(y)
    idx = np.arange(n)
    if n < min_rows:
        return idx, None
    rng = np.random.RandomState(seed)
    if classification:
        valid_parts = []
        for c in np.unique(y):
            members = rng.permutation(idx[y == c])
            take = min(int(round(fraction * len(members))), len(members) - 1)
            valid_parts.append(members[:take])
        valid = np.sort(np.concatenate(valid_parts))
    else:
        valid = np.sort(rng.permutation(n)[: max(1, int(round(fraction * n)))])
    if len(valid) == 0:
        return idx, None
    train = np.setdiff1d(idx, valid, assume_unique=True)
    return train, valid


_CONTROLLER: list[Any] = []  # [modules loaded when it was built, ThreadpoolController]


def _thread_limit(n_jobs: int | None, blas: int | None = None) -> Any:
    """Cap BLAS and OpenMP pools (scikit-learn, SciPy, boosters) at ``n_jobs`` threads,
    the BLAS pool at ``blas`` when that is smaller.

    Finding the pools means reading every loaded shared library (milliseconds), which a
    one-row prediction cannot afford on every call: the controller is kept and rebuilt
    only after Python modules (and with them new native libraries) were imported.
    """
    import sys

    from threadpoolctl import ThreadpoolController

    if not _CONTROLLER or _CONTROLLER[0] != len(sys.modules):
        _CONTROLLER[:] = [len(sys.modules), ThreadpoolController()]
    n = max(1, int(n_jobs or 1))
    if blas is None or blas >= n:
        return _CONTROLLER[1].limit(limits=n)
    return _CONTROLLER[1].limit(limits={"blas": max(1, blas), "openmp": n})


#: transforms of a non-negative regression target a learner may fit instead of the target
#: itself, with their inverses (predictions are mapped back, so every score, ensemble and
#: served value stays on the target's own scale). A skewed target such as a price has an
#: error that grows with its size; on the square-root or log scale a tree's squared-error
#: splits weigh cheap and dear rows more evenly.
TARGET_TRANSFORMS: dict[str, tuple[Any, Any]] = {
    "sqrt": (np.sqrt, lambda v: np.square(np.maximum(v, 0.0))),
    "log1p": (np.log1p, np.expm1),
}


def inverse_target(estimator: Any, values: Any) -> np.ndarray:
    """A regression learner's raw output mapped back to the target's scale."""
    values = np.asarray(values, dtype=float).reshape(-1)
    name = getattr(estimator, "target_transform", None)
    return TARGET_TRANSFORMS[name][1](values) if name else values


def _rows(X: Any, index: np.ndarray) -> Any:
    if hasattr(X, "iloc"):
        return X.iloc[index]
    return X[index]


class TabularEstimator(BaseEstimator, ABC):
    """Base of every family's estimator: class bookkeeping, preprocessing, learner.

    Common parameters (set by the family from the :class:`FitContext`): ``task``
    (``"binary" | "multiclass" | "regression"``), ``n_classes`` (0 for regression),
    ``feature_roles`` (prepared column -> role), ``seed``, ``n_jobs`` and ``deadline``
    (a ``time.monotonic()`` value after which iterative learners stop growing). The tree
    families' regressors also take ``target_transform`` (a key of
    :data:`TARGET_TRANSFORMS` or ``None``): the learner fits the transformed target and
    ``predict`` maps its output back.
    """

    #: threads of the BLAS pool while fitting and predicting (``None``: ``n_jobs``). A
    #: learner whose BLAS calls are vector operations sets 1: threads only cost it time.
    blas_threads: int | None = None

    # ---- each family implements these --------------------------------------------------------------
    @abstractmethod
    def _make_preprocessor(self, n_classes_present: int, n_rows: int) -> Any:
        """The unfitted preprocessing for a fold of ``n_rows`` rows."""

    @abstractmethod
    def _fit_learner(self, Xt: Any, y: np.ndarray, n_out: int) -> None:
        """Fit on transformed rows; ``y`` holds classes ``0..n_out-1`` (or floats)."""

    @abstractmethod
    def _predict_learner(self, Xt: Any) -> np.ndarray:
        """Probabilities ``(n, n_out)`` for classification, values ``(n,)`` otherwise."""

    # ---- scikit-learn surface ------------------------------------------------------
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        if getattr(self, "task", "regression") == "regression":
            from sklearn.utils import RegressorTags

            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        else:
            from sklearn.utils import ClassifierTags

            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        tags.input_tags.allow_nan = True
        return tags

    @property
    def _is_classification(self) -> bool:
        return self.task != "regression"

    def fit(self, X: Any, y: Any) -> TabularEstimator:
        with _thread_limit(self.n_jobs, self.blas_threads):
            return self._fit(X, y)

    def _fit(self, X: Any, y: Any) -> TabularEstimator:
        y = np.asarray(y)
        if self._is_classification:
            y = y.astype(int)
            self.classes_ = np.arange(self.n_classes)
            self.present_classes_ = np.unique(y)
            y_local = np.searchsorted(self.present_classes_, y)
            self.constant_ = None
            if len(self.present_classes_) == 1:
                # nothing to learn: predict the only class seen
                self.constant_ = int(self.present_classes_[0])
                self.n_features_in_ = X.shape[1]
                return self
            n_out = len(self.present_classes_)
        else:
            y_local = y.astype(float)
            name = getattr(self, "target_transform", None)
            if name:
                if name not in TARGET_TRANSFORMS:
                    known = ", ".join(TARGET_TRANSFORMS)
                    raise ValueError(f"unknown target_transform {name!r}; use one of {known}")
                if np.nanmin(y_local) < 0:
                    raise ValueError(f"target_transform {name!r} needs a non-negative target")
                y_local = TARGET_TRANSFORMS[name][0](y_local)
            n_out = 1
        self.preprocessor_ = self._make_preprocessor(
            n_out if self._is_classification else 0, len(y)
        )
        Xt = self.preprocessor_.fit_transform(X, y_local)
        self.n_features_in_ = X.shape[1]
        self._fit_learner(Xt, y_local, n_out)
        return self

    def memory_bytes(self) -> int:
        """An estimate of the memory the fitted model holds: the numpy and sparse arrays
        reachable from it (its preprocessing included). Families whose learner keeps its
        model outside Python's objects (the forests' trees) count that part themselves;
        the boosters' native models are small and are not counted."""
        return reachable_array_bytes(self)

    def thinned(self, part: int, of: int) -> TabularEstimator | None:
        """Share ``part`` of ``of`` of this model, for a member served by a share of each
        of its ``of`` fold models (only an average of interchangeable parts, a forest's
        trees, can be shared out; ``None`` for every other model)."""
        return None

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def predict_proba(self, X: Any) -> np.ndarray:
        self._check_fitted()
        if not self._is_classification:
            raise AttributeError("predict_proba is only available for classification")
        n = X.shape[0]
        out = np.zeros((n, self.n_classes), dtype=float)
        if self.constant_ is not None:
            out[:, self.constant_] = 1.0
            return out
        with _thread_limit(self.n_jobs, self.blas_threads):
            p = np.asarray(self._predict_learner(self.preprocessor_.transform(X)), dtype=float)
        if p.ndim == 1:
            p = np.column_stack([1 - p, p])
        p = np.clip(p, 0.0, None)
        p /= np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
        out[:, self.present_classes_] = p
        return out

    def predict(self, X: Any) -> np.ndarray:
        self._check_fitted()
        if self._is_classification:
            return np.argmax(self.predict_proba(X), axis=1)
        with _thread_limit(self.n_jobs, self.blas_threads):
            pred = self._predict_learner(self.preprocessor_.transform(X))
        return inverse_target(self, pred)

    def _split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return inner_validation_split(
            y,
            classification=self._is_classification,
            seed=self.seed,
            fraction=self.validation_fraction,
        )


def reachable_array_bytes(obj: Any, depth: int = 6) -> int:
    """Bytes of the distinct numpy arrays (and scipy sparse matrices' arrays) reachable
    from ``obj`` through attributes, lists, tuples and dicts, at most ``depth`` levels down;
    a torch module counts its parameters and buffers (when torch is loaded)."""
    import sys

    torch = sys.modules.get("torch")
    seen: set[int] = set()

    def walk(o: Any, level: int) -> int:
        if id(o) in seen or level > depth:
            return 0
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            return int(o.nbytes) if o.base is None or id(o.base) not in seen else 0
        if torch is not None and isinstance(o, torch.nn.Module):
            tensors = {id(t): t for t in (*o.parameters(), *o.buffers()) if id(t) not in seen}
            seen.update(tensors)
            return sum(int(t.nbytes) for t in tensors.values())
        if isinstance(o, (str, bytes, int, float, bool, type(None))):
            return 0
        if isinstance(o, dict):
            return sum(walk(v, level + 1) for v in o.values())
        if isinstance(o, (list, tuple, set)):
            return sum(walk(v, level + 1) for v in o)
        attrs = getattr(o, "__dict__", None)
        return sum(walk(v, level + 1) for v in attrs.values()) if attrs else 0

    return walk(obj, 0)


def common_params(ctx: Any) -> dict[str, Any]:
    """The constructor arguments every family's estimator takes from a ``FitContext``."""
    return {
        "task": ctx.task,
        "n_classes": int(ctx.n_classes),
        "feature_roles": dict(ctx.schema.feature_roles),
        "seed": int(ctx.seed),
        # scikit-learn's -1 ("all cores") as a count every library understands
        "n_jobs": int(ctx.n_jobs) if ctx.n_jobs and ctx.n_jobs > 0 else (os.cpu_count() or 1),
        "deadline": ctx.deadline,
    }


def take_rows(X: Any, index: np.ndarray) -> Any:
    """Rows ``index`` of a numpy/scipy matrix or pandas frame."""
    return _rows(X, index)


__all__ = [
    "TabularEstimator",
    "common_params",
    "deadline_passed",
    "grow_until_deadline",
    "inner_validation_split",
    "take_rows",
    "reachable_array_bytes",
    "TARGET_TRANSFORMS",
    "inverse_target",
]
