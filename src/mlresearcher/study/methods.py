"""What a study compares: methods, and how one method is fitted and scored on one split.

Three kinds of method (one key each in the spec):

* ``preset: NAME`` -- the full mlresearcher campaign (:func:`mlresearcher.engine.run`) at
  the study's per-cell ``budget`` (its time limit); ``default`` uses every family, ``fast``
  only LightGBM, the linear model and HistGradientBoosting. ``params`` may set the
  campaign's ``max_trials``, ``folds``, ``repeats`` and ``time_limit`` (``null``: no time
  limit, so with ``max_trials`` the cell is deterministic and immune to a busy machine);
* ``family: NAME`` -- one model family (``linear``, ``lightgbm``, ...) with its default
  configuration updated by ``params``; with ``search: true`` the campaign restricted to
  that family (portfolio, then Bayesian optimisation) at the budget;
* ``estimator: PATH`` -- any scikit-learn-compatible estimator by import path
  (``sklearn.linear_model.LogisticRegression``) with ``params``; a mapping
  ``{classification: PATH, regression: PATH}`` picks one per task. It receives the dense
  scaled/one-hot preprocessing of the distance-based families, learned on the training
  rows only.

Every fit sees only training rows; scores are in the metric convention of
:mod:`mlresearcher.metrics` (class probabilities or values).
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.errors import ConfigError

PRESETS: dict[str, list[str] | None] = {
    "default": None,
    "fast": ["lightgbm", "linear", "hist_gb"],
}
KINDS = ("preset", "family", "estimator")
PRESET_PARAMS = ("max_trials", "folds", "repeats", "time_limit")


def method_kind(method: dict[str, Any]) -> str:
    kinds = [k for k in KINDS if k in method]
    if len(kinds) != 1:
        raise ConfigError(
            f"method {method.get('name', '?')!r} must have exactly one of preset:, family: or estimator:"
        )
    return kinds[0]


def estimator_path(method: dict[str, Any], task: str) -> str:
    est = method["estimator"]
    if isinstance(est, dict):
        key = "regression" if task == "regression" else "classification"
        if key not in est:
            raise ConfigError(
                f"method {method['name']!r} has no estimator for {key}; add `{key}: module.Class`"
            )
        return str(est[key])
    return str(est)


def import_estimator(path: str, what: str) -> type:
    module, _, name = path.rpartition(".")
    if not module:
        raise ConfigError(f"{what}: {path!r} is not an import path like sklearn.linear_model.Ridge")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"{what}: cannot import {path!r} ({e}); check the spelling") from None
    if not hasattr(cls, "fit"):
        raise ConfigError(f"{what}: {path!r} has no fit method; name an estimator class")
    return cls


def validate_method(method: dict[str, Any], tasks: set[str]) -> None:
    """Check a method before any compute (unknown preset/family, bad import, bad params)."""
    what = f"method {method['name']!r}"
    kind = method_kind(method)
    params = method.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{what}: params must be a mapping of name: value")
    if kind == "preset":
        if method["preset"] not in PRESETS:
            raise ConfigError(
                f"{what}: unknown preset {method['preset']!r}; choose from: {', '.join(PRESETS)}"
            )
        bad = set(params) - set(PRESET_PARAMS)
        if bad:
            raise ConfigError(
                f"{what}: unknown preset param(s) {', '.join(sorted(bad))}; allowed: {', '.join(PRESET_PARAMS)}"
            )
    elif kind == "family":
        from mlresearcher.models.registry import get_families

        fam = get_families([str(method["family"])])[0]
        reason = fam.unavailable_reason()
        if reason:
            raise ConfigError(f"{what}: {reason}")
    else:
        for task in tasks:
            cls = import_estimator(estimator_path(method, task), what)
            try:
                cls(**params)
            except TypeError as e:
                raise ConfigError(f"{what}: bad params for {cls.__name__}: {e}") from None


def _prepared(Xtr: pd.DataFrame, Xte: pd.DataFrame):
    from mlresearcher.data.schema import build_schema, infer_roles, prepare_features

    infos, _ = infer_roles(Xtr)
    schema = build_schema(Xtr, infos)
    return schema, prepare_features(Xtr, schema), prepare_features(Xte, schema)


def fit_predict(
    method: dict[str, Any],
    Xtr: pd.DataFrame,
    ytr: np.ndarray,
    Xte: pd.DataFrame,
    *,
    task: str,
    n_classes: int,
    seed: int = 0,
    budget: float = 30.0,
    n_jobs: int = 2,
) -> np.ndarray:
    """Fit ``method`` on ``(Xtr, ytr)`` and return its scores on ``Xte``.

    ``ytr`` is encoded (classes ``0..n_classes-1`` or floats). Probability columns follow
    that encoding even when a class is absent from the training rows."""
    kind = method_kind(method)
    params = dict(method.get("params") or {})
    if kind == "preset" or (kind == "family" and method.get("search")):
        families = PRESETS[method["preset"]] if kind == "preset" else [str(method["family"])]
        run_params = {"time_limit": float(budget), **(params if kind == "preset" else {})}
        return _campaign(Xtr, ytr, Xte, task, n_classes, families, seed, run_params, n_jobs)
    schema, Ptr, Pte = _prepared(Xtr, Xte)
    present = np.unique(ytr) if task != "regression" else None
    if task != "regression" and len(present) < n_classes:
        # fit on the classes present, then put their probabilities in the right columns
        remap = {c: i for i, c in enumerate(present)}
        y_fit = np.array([remap[c] for c in ytr])
        k_fit = len(present)
    else:
        y_fit, k_fit = ytr, n_classes
    if kind == "family":
        scores = _family(method, params, schema, Ptr, y_fit, Pte, task, k_fit, seed, n_jobs)
    else:
        scores = _estimator(method, params, schema, Ptr, y_fit, Pte, task, k_fit, seed)
    if task != "regression" and k_fit < n_classes:
        full = np.zeros((len(Pte), n_classes))
        full[:, present] = scores
        scores = full
    return scores


def _task_of(task: str, n_classes: int) -> str:
    if task == "regression":
        return task
    return "binary" if n_classes == 2 else "multiclass"


def _family(method, params, schema, Ptr, ytr, Pte, task, k, seed, n_jobs) -> np.ndarray:
    from mlresearcher.models.base import FitContext, predict_scores
    from mlresearcher.models.registry import get_families

    fam = get_families([str(method["family"])])[0]
    ctx = FitContext(
        _task_of(task, k), k if task != "regression" else 0, schema, len(Ptr), seed, n_jobs
    )
    reason = fam.unavailable_reason() or fam.applicable(ctx)
    if reason:
        raise ConfigError(reason)
    est = fam.build({**fam.default_configs(ctx)[0], **params}, ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(Ptr, ytr)
        return predict_scores(est, Pte, ctx.task, ctx.n_classes)


def _estimator(method, params, schema, Ptr, ytr, Pte, task, k, seed) -> np.ndarray:
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    from mlresearcher.models.preprocess import knn_preprocessor, target_type

    cls = import_estimator(estimator_path(method, task), f"method {method['name']!r}")
    est = cls(**params)
    if "random_state" in est.get_params() and "random_state" not in params:
        est.set_params(random_state=seed)
    prep = knn_preprocessor(
        schema.feature_roles, target_type=target_type(_task_of(task, k), k), seed=seed
    )
    pipe = Pipeline([("prep", prep), ("model", clone(est))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(Ptr, ytr)
        if task == "regression":
            return np.asarray(pipe.predict(Pte), float).reshape(-1)
        if hasattr(pipe, "predict_proba"):
            try:
                proba = np.asarray(pipe.predict_proba(Pte), float)
                if proba.shape[1] == k:
                    return proba
            except AttributeError:
                pass
        labels = np.asarray(pipe.predict(Pte)).astype(int)
        return np.eye(k)[labels]


def _campaign(Xtr, ytr, Xte, task, n_classes, families, seed, run_params, n_jobs) -> np.ndarray:
    from mlresearcher.engine import RunConfig, run

    cfg = RunConfig(
        **run_params,
        seed=seed,
        task=_task_of(task, n_classes) if task != "regression" else "regression",
        families=families,
        n_jobs=n_jobs,
    )
    y = pd.Series(ytr, name="__target__")
    rr = run(Xtr.reset_index(drop=True), y, cfg)
    scores = rr.predictor.predict_scores(Xte)
    if task == "regression":
        return scores
    full = np.zeros((len(Xte), n_classes))
    full[:, [int(c) for c in rr.target.classes]] = scores
    return full
