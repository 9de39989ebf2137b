"""The model-family contract.

A *family* (LightGBM, random forest, ...) knows three things: which configurations are
worth trying first (``default_configs``), how to sample its search space
(``search_space``), and how to build an unfitted scikit-learn estimator for one
configuration, preprocessing included (``build``).

Every estimator a family builds:

* is fitted with ``fit(X, y)`` where ``X`` is the *prepared* feature frame (see
  :func:`mlresearcher.data.schema.prepare_features`): numeric columns are floats (NaN for
  missing), categorical / high-cardinality / text columns are Python strings or ``None``;
  ``y`` is an ``int`` array of encoded classes ``0..k-1`` (classification) or ``float``
  (regression);
* learns every statistic (imputation, encoding, scaling, target encoding, vocabularies)
  from the rows passed to ``fit`` only, so cross-validation cannot leak;
* exposes ``predict_proba`` (classification, columns for classes ``0..k-1`` even when a
  class is absent from the training fold) or ``predict`` (regression);
* respects ``ctx.deadline``: iterative learners stop adding trees/epochs once
  ``time.monotonic()`` passes it (the fitted model stays valid);
* uses at most ``ctx.n_jobs`` threads and is deterministic for a given ``ctx.seed``.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlresearcher.data.schema import Schema


@dataclass(frozen=True)
class FitContext:
    """What a family needs to know about the problem when building an estimator."""

    task: str  # "binary" | "multiclass" | "regression"
    n_classes: int  # 0 for regression
    schema: Schema  # roles of the prepared feature columns
    n_rows: int  # rows in the full training data (folds are smaller)
    seed: int = 0
    n_jobs: int = 2
    deadline: float | None = None  # time.monotonic() value; None = no time limit
    #: target transforms worth a trial for this target (see :func:`target_transforms`)
    target_transforms: tuple[str, ...] = ()

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"


class ModelFamily(ABC):
    """One model family: its search space and how to build it."""

    #: short stable name used in configs, the store and ``--families``
    name: str = ""
    #: modules that must be importable for the family to run
    requires: tuple[str, ...] = ()
    #: relative cost of one default fit (1 = a linear model); orders cheap-first search
    cost: float = 1.0
    #: whether the family makes use of free-text columns
    uses_text: bool = False
    #: the optional extra of the package that installs ``requires`` ("" when none does)
    extra: str = ""

    def unavailable_reason(self) -> str | None:
        """Why the family cannot run here (missing package), or ``None``."""
        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if missing:
            hint = f" (install the '{self.extra}' extra)" if self.extra else ""
            return f"{self.name} needs {', '.join(missing)}, which is not installed{hint}"
        return None

    def applicable(self, ctx: FitContext) -> str | None:
        """Why the family does not apply to this problem, or ``None`` when it does."""
        usable = [c for c, r in ctx.schema.feature_roles.items() if r != "text" or self.uses_text]
        if not usable and not self.uses_text:
            return f"{self.name} has no usable feature columns (text-only data)"
        return None

    @abstractmethod
    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        """Known-strong configurations, best first. The first is the family default."""

    @abstractmethod
    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        """Sample one configuration with an ``optuna.Trial`` (parameter names unprefixed)."""

    @abstractmethod
    def build(self, params: dict[str, Any], ctx: FitContext) -> Any:
        """An unfitted estimator (preprocessing included) for ``params``."""


#: a non-negative regression target at least this skewed gets target-transformed trials
SKEWED_TARGET = 1.0


def target_transforms(task: str, y: Any) -> tuple[str, ...]:
    """The target transforms the tree families try for ``y``: the square root, then the
    log, for a non-negative regression target whose skewness is at least
    :data:`SKEWED_TARGET` (a price, a count, a duration); none otherwise."""
    if task != "regression":
        return ()
    from scipy.stats import skew

    v = np.asarray(y, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 3 or v.min() < 0 or v.min() == v.max():
        return ()
    return ("sqrt", "log1p") if float(skew(v)) >= SKEWED_TARGET else ()


def with_transformed_target(configs: list[dict[str, Any]], ctx: FitContext) -> list[dict[str, Any]]:
    """``configs`` with, second, the family default fitted on the first transformed target
    of ``ctx`` (when there is one): an early, cheap test of the transform."""
    if not ctx.target_transforms or not configs:
        return configs
    return [configs[0], {**configs[0], "target_transform": ctx.target_transforms[0]}, *configs[1:]]


def suggest_target_transform(trial: Any, prefix: str, ctx: FitContext) -> dict[str, Any]:
    """The sampled target transform (``None``: the target itself), when ``ctx`` has any."""
    if not ctx.target_transforms:
        return {}
    name = trial.suggest_categorical(prefix + "target_transform", ["none", *ctx.target_transforms])
    return {"target_transform": None if name == "none" else name}


def predict_scores(estimator: Any, X: Any, task: str, n_classes: int) -> np.ndarray:
    """Scores in the metric convention: probabilities ``(n, k)`` or values ``(n,)``."""
    if task == "regression":
        return np.asarray(estimator.predict(X), dtype=float).reshape(-1)
    proba = np.asarray(estimator.predict_proba(X), dtype=float)
    if proba.ndim == 1:
        proba = np.column_stack([1 - proba, proba])
    if proba.shape[1] != n_classes:
        raise RuntimeError(
            f"estimator returned {proba.shape[1]} probability columns, expected {n_classes}"
        )
    return proba
