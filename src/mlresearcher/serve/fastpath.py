"""Predictions straight from request columns, without a pandas round trip where possible.

:class:`FastPredictor` gives the same numbers as :meth:`Predictor.predict_scores` (to the
last bit; ``tests/serve/test_fastpath.py`` checks it) from columns of JSON values (floats
or ``None`` for numeric columns, strings or ``None`` for the others):

1. the prepared features of :func:`~mlresearcher.data.schema.prepare_features` are built
   as numpy arrays directly (a frame is built only when the schema has datetime columns);
2. every fold model whose preprocessing is the ``tree`` treatment without text (category
   codes and raw numbers: LightGBM, XGBoost, HistGradientBoosting, the forests) is
   *compiled*: its ordinal encoders become ``dict`` look-ups fixed at load time (a batch
   looks up each distinct value once, after ``pandas.factorize``), then the learner
   predicts on the numpy matrix; a single row goes to a LightGBM booster through
   LightGBM's prepared single-row C API;
3. any other fold model (linear, kNN, CatBoost, MLP, text features) gets the prepared
   frame, built once per request, through its regular ``predict_proba``/``predict``.

Scikit-learn's per-call validation, pandas indexing and the thread-pool limiter cost
more than a boosted-tree prediction of one row; skipping them is what makes single-row
latency small.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.data.schema import prepare_features
from mlresearcher.models.base import predict_scores
from mlresearcher.predictor import Predictor


class _LightGBMRow:
    """LightGBM's single-row prediction API (``...SingleRowFast``) for one booster.

    The Python ``Booster.predict`` sets up a predictor, parses parameters and starts an
    OpenMP team on every call, which costs more than walking the trees for one row.
    LightGBM's C API has a prepared single-row path for exactly this; the same predict
    code runs behind it, so results are identical.
    """

    def __init__(self, booster: Any, num_iteration: int, width: int):
        import ctypes

        from lightgbm.basic import _LIB, _safe_call

        self._lib, self._safe_call, self._ct = _LIB, _safe_call, ctypes
        self.booster = booster  # keeps the booster (and its handle) alive
        self.handle = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(0),  # C_API_PREDICT_NORMAL: probabilities / values
                ctypes.c_int(0),
                ctypes.c_int(int(num_iteration)),
                ctypes.c_int(1),  # C_API_DTYPE_FLOAT64
                ctypes.c_int32(width),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(self.handle),
            )
        )
        self.n_out = booster.num_model_per_iteration()
        self.out = np.empty(self.n_out, dtype=np.float64)
        self.out_ptr = self.out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self.out_len = ctypes.c_int64(0)

    def __call__(self, row: np.ndarray) -> np.ndarray:
        row = np.ascontiguousarray(row, dtype=np.float64)
        self._safe_call(
            self._lib.LGBM_BoosterPredictForMatSingleRowFast(
                self.handle,
                row.ctypes.data_as(self._ct.c_void_p),
                self._ct.byref(self.out_len),
                self.out_ptr,
            )
        )
        # the shapes Booster.predict gives for one row
        return self.out[:1].copy() if self.n_out == 1 else self.out.reshape(1, -1).copy()

    def __del__(self) -> None:
        handle = getattr(self, "handle", None)
        if handle is not None and handle.value:
            self._lib.LGBM_FastConfigFree(handle)


class _Compiled:
    """One fold model whose preprocessing is category look-ups and passed-through numbers."""

    def __init__(self, estimator: Any, parts: list[tuple[str, str, Any]], width: int):
        self.estimator = estimator
        self.parts = parts  # (kind, prepared column, mapping or None) in output order
        self.width = width
        self.row_predict: Any = None
        booster = getattr(estimator, "booster_", None)
        if width and type(booster).__module__.startswith("lightgbm"):
            try:
                self.row_predict = _LightGBMRow(booster, estimator.n_iterations_, width)
            except Exception:  # an older LightGBM without the API: the regular predict
                self.row_predict = None

    def matrix(self, prepared: dict[str, np.ndarray], n: int, factorized: dict) -> np.ndarray:
        Xt = np.empty((n, self.width), dtype=np.float64)
        for j, (kind, col, mapping) in enumerate(self.parts):
            if kind == "num":
                Xt[:, j] = prepared[col]
            elif n == 1:
                Xt[0, j] = mapping.get(prepared[col][0], np.nan)
            else:
                # one look-up per distinct value, then a gather (-1, missing, maps to NaN)
                codes, uniques = factorized[col]
                lut = np.array([mapping.get(u, np.nan) for u in uniques] + [np.nan])
                Xt[:, j] = lut[codes]
        return Xt

    def scores(
        self, prepared: dict[str, np.ndarray], n: int, task: str, k: int, factorized: dict
    ) -> np.ndarray:
        est = self.estimator
        if task != "regression" and est.constant_ is not None:
            out = np.zeros((n, k))
            out[:, est.constant_] = 1.0
            return out
        Xt = self.matrix(prepared, n, factorized)
        if n == 1 and self.row_predict is not None:
            p = self.row_predict(Xt[0])
        else:
            p = est._predict_learner(Xt)
        if task == "regression":
            return np.asarray(p, dtype=float).reshape(-1)
        # the same post-processing as TabularEstimator.predict_proba
        p = np.asarray(p, dtype=float)
        if p.ndim == 1:
            p = np.column_stack([1 - p, p])
        p = np.clip(p, 0.0, None)
        p /= np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
        out = np.zeros((n, k), dtype=float)
        out[:, est.present_classes_] = p
        return out


def _category_mapping(pipeline: Any, columns: list[str]) -> list[dict[str, float]] | None:
    """``{level: code}`` per column of a fitted ``clean -> OrdinalEncoder`` pipeline.

    The codes come from the fitted pipeline itself (transforming every known level), so
    grouping of infrequent levels is reproduced exactly; unknown and missing values map
    to NaN, as the encoder is configured to do.
    """
    from sklearn.preprocessing import OrdinalEncoder

    steps = getattr(pipeline, "named_steps", None)
    if not steps or list(steps) != ["clean", "codes"]:
        return None
    enc = steps["codes"]
    if not isinstance(enc, OrdinalEncoder) or not np.isnan(enc.unknown_value):
        return None
    levels = [[v for v in cats if isinstance(v, str)] for cats in enc.categories_]
    size = max((len(v) for v in levels), default=0)
    if size == 0:
        return [{} for _ in columns]
    # pad every column to the same length with its first level, transform once, read back
    frame = pd.DataFrame(
        {
            c: np.array(lv + [lv[0] if lv else None] * (size - len(lv)), dtype=object)
            for c, lv in zip(columns, levels, strict=True)
        }
    )
    codes = np.asarray(pipeline.transform(frame), dtype=np.float64)
    return [{lv: float(codes[i, j]) for i, lv in enumerate(levels[j])} for j in range(len(columns))]


def _is_identity(trans: Any) -> bool:
    """``"passthrough"``, which a fitted ColumnTransformer holds as an identity function."""
    from sklearn.preprocessing import FunctionTransformer

    if isinstance(trans, str):
        return trans == "passthrough"
    return isinstance(trans, FunctionTransformer) and trans.func is None


def compile_estimator(estimator: Any) -> _Compiled | None:
    """A compiled fold model, or ``None`` when its preprocessing is not the plain tree kind."""
    from sklearn.compose import ColumnTransformer

    if getattr(estimator, "constant_", None) is not None:
        return _Compiled(estimator, [], 0)
    pre = getattr(estimator, "preprocessor_", None)
    if not isinstance(pre, ColumnTransformer) or not hasattr(estimator, "_predict_learner"):
        return None
    if getattr(pre, "_sklearn_output_config", {}).get("transform") not in (None, "default"):
        return None  # pandas output (CatBoost's strings)
    parts: list[tuple[str, str, Any]] = []
    for name, trans, cols in pre.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        cols = list(cols)
        if name == "remainder" and not cols:
            continue
        if _is_identity(trans):
            parts += [("num", c, None) for c in cols]
            continue
        maps = _category_mapping(trans, cols)
        if maps is None:
            return None
        parts += [("cat", c, m) for c, m in zip(cols, maps, strict=True)]
    return _Compiled(estimator, parts, len(parts))


class FastPredictor:
    """A :class:`Predictor` that scores columns of JSON values (see the module docstring)."""

    def __init__(self, predictor: Predictor):
        self.predictor = predictor
        self.schema = predictor.schema
        self.task = predictor.task
        self.k = predictor.n_classes
        self.roles = {c.name: c.role for c in self.schema.columns}
        self.input_columns = self.schema.input_columns
        self._needs_frame_prep = any(self.roles[c] == "datetime" for c in self.input_columns)
        self.category_inputs = [
            c
            for c, r in self.schema.feature_roles.items()
            if r in ("categorical", "high_cardinality")
        ]
        self.members = [
            (m.weight, [(est, compile_estimator(est)) for est in m.models])
            for m in predictor.members
        ]

    @property
    def compiled_fraction(self) -> float:
        """Share of fold models served by the compiled path."""
        flags = [c is not None for _, models in self.members for _, c in models]
        return sum(flags) / max(1, len(flags))

    def prepare(self, columns: dict[str, list[Any]], n: int) -> dict[str, np.ndarray]:
        """Prepared feature arrays (the columns of ``prepare_features``) from JSON values."""
        if self._needs_frame_prep:
            frame = pd.DataFrame({c: pd.Series(columns[c], dtype=object) for c in columns})
            prepared = prepare_features(frame, self.schema)
            return {c: prepared[c].to_numpy() for c in prepared.columns}
        out: dict[str, np.ndarray] = {}
        for name in self.input_columns:
            values = columns[name]
            if self.roles[name] == "numeric":
                v = np.array(values, dtype=np.float64)  # None -> NaN, booleans -> 0/1
                v[~np.isfinite(v)] = np.nan
            else:
                v = np.empty(n, dtype=object)
                v[:] = values
            out[name] = v
        return out

    def predict_scores(self, columns: dict[str, list[Any]], n: int) -> np.ndarray:
        """Probabilities ``(n, k)`` or values ``(n,)``, as :meth:`Predictor.predict_scores`."""
        prepared = self.prepare(columns, n)
        factorized = {}
        if n > 1:
            for c in self.category_inputs:
                codes, uniques = pd.factorize(prepared[c], use_na_sentinel=True)
                factorized[c] = (codes, list(uniques))
        frame: pd.DataFrame | None = None
        total = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for weight, models in self.members:
                parts = []
                for est, compiled in models:
                    if compiled is not None:
                        parts.append(compiled.scores(prepared, n, self.task, self.k, factorized))
                    else:
                        if frame is None:
                            frame = pd.DataFrame(prepared)[list(self.schema.feature_roles)]
                        parts.append(predict_scores(est, frame, self.task, self.k))
                avg = sum(parts) / len(parts)
                total = weight * avg if total is None else total + weight * avg
        assert total is not None
        if self.task != "regression":
            total = total / total.sum(axis=1, keepdims=True)
        return total


__all__ = ["FastPredictor", "compile_estimator"]
