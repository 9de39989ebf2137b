"""Predictions from prepared feature arrays, without per-call scikit-learn and pandas overhead.

A final model is an average of many fold models (five per member, several members).
Through the regular ``predict_proba`` each fold model pays a ``ColumnTransformer`` on a
pandas frame, scikit-learn's input validation and a thread-pool limiter; for one row that
costs several milliseconds per fold model, far more than walking its trees.
:class:`CompiledEnsemble` gives exactly the same numbers (``tests/test_compiled.py`` checks
them bit for bit) from the columns of :func:`~mlresearcher.data.schema.prepare_features`
as numpy arrays:

1. every fold model whose preprocessing is the ``tree`` treatment without text (category
   codes and raw numbers: LightGBM, XGBoost, HistGradientBoosting, the forests) is
   *compiled*: its ordinal encoders become ``dict`` look-ups fixed at compile time (a
   batch looks up each distinct value once, after ``pandas.factorize``), then the learner
   predicts on the numpy matrix; a single row goes to a LightGBM booster through
   LightGBM's prepared single-row C API, and a few rows to HistGradientBoosting and the
   forests through a numpy walk over all their trees at once;
2. every CatBoost fold model without text is compiled the same way: category strings
   (missing -> the level CatBoost was trained with) and numbers in an object matrix, made
   into one CatBoost ``Pool`` that all fold models of the member read;
3. linear, kNN and MLP fold models with dense preprocessing run it block by block
   (:class:`BlockModel`): numbers are imputed, flagged and scaled (standard or quantile)
   with numpy, category columns (one-hot, target and ordinal encoding) are look-ups in
   tables the fitted blocks made at compile time, and for a few rows the linear and
   nearest-neighbour learners' arithmetic (coefficients and the logistic function; the
   neighbour search and vote) runs without scikit-learn's input checks, each checked
   against the learner on a probe when compiled (the MLP predicts with its own network, in NumPy for a few rows);
4. any other fold model (sparse text features) gets the prepared frame, built once per
   call, through its regular ``predict_proba``/``predict``.

Batches of :data:`PARALLEL_ROWS` rows or more spread the fold models over threads (the
boosters release the GIL while they predict); the sum is still taken in member and fold
order, so the result does not depend on which thread finishes first.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.models._estimator import _thread_limit, inverse_target
from mlresearcher.models.base import predict_scores

#: batch size from which fold models predict in parallel threads
PARALLEL_ROWS = 2_000
#: calls up to this many rows walk HistGradientBoosting trees with numpy
TREE_WALK_ROWS = 64


class _LightGBMRow:
    """LightGBM's single-row prediction API (``...SingleRowFast``) for one booster.

    The Python ``Booster.predict`` sets up a predictor, parses parameters and starts an
    OpenMP team on every call, which costs more than walking the trees for one row.
    LightGBM's C API has a prepared single-row path for exactly this; the same predict
    code runs behind it, so results are identical. The output buffer is this object's
    own, so a call holds a lock from the prediction until its copy (a server predicts
    from several threads).
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
        self.lock = threading.Lock()

    def __call__(self, row: np.ndarray) -> np.ndarray:
        row = np.ascontiguousarray(row, dtype=np.float64)
        with self.lock:
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


class _XGBoostRows:
    """XGBoost's in-place prediction from a dense float32 matrix, called straight through
    its C API (``XGBoosterPredictFromDense``) on a one-thread copy of the booster.

    ``Booster.inplace_predict`` rebuilds its JSON arguments, inspects the input for every
    data library it knows and checks the feature count on each call: more than the trees
    cost for a few rows. The arguments here are the ones it passes (made once), so the same
    predict code runs and the values are the same. The copy carries ``nthread=1``: the
    compiled ensemble predicts each model on one thread, and the caller's own booster keeps
    its setting.
    """

    def __init__(self, booster: Any, num_iteration: int):
        import ctypes
        import json

        from xgboost.core import _LIB, _check_call, c_bst_ulong

        self._lib, self._check, self._ct, self._ulong = _LIB, _check_call, ctypes, c_bst_ulong
        self.booster = booster.copy()  # keeps its handle alive; the original is untouched
        self.booster.set_param({"nthread": 1})
        self.width = int(self.booster.num_features())
        args = {  # Booster.inplace_predict's own arguments for these options
            "type": 0,
            "training": False,
            "iteration_begin": 0,
            "iteration_end": int(num_iteration),
            "missing": float("nan"),
            "strict_shape": False,
            "cache_id": 0,
        }
        self.args = json.dumps(args).encode()
        self.no_proxy = ctypes.c_void_p()

    def __call__(self, X: np.ndarray) -> np.ndarray:
        ct = self._ct
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.width:
            raise ValueError(f"expected {self.width} columns, got shape {X.shape}")
        data, (rows, cols) = X.__array_interface__["data"][0], X.shape
        interface = (
            f'{{"data": [{data}, true], "strides": null, "descr": [["", "<f4"]], '
            f'"typestr": "<f4", "shape": [{rows}, {cols}], "version": 3}}'
        ).encode()
        shape = ct.POINTER(self._ulong)()
        dims = self._ulong()
        preds = ct.POINTER(ct.c_float)()
        self._check(
            self._lib.XGBoosterPredictFromDense(
                self.booster.handle,
                interface,
                self.args,
                self.no_proxy,
                ct.byref(shape),
                ct.byref(dims),
                ct.byref(preds),
            )
        )
        out_shape = tuple(int(shape[i]) for i in range(dims.value))
        size = int(np.prod(out_shape)) if out_shape else 0
        # the values live in the booster's buffer until its next call: copy them out
        values = np.ctypeslib.as_array(preds, shape=(size,)).copy() if size else np.empty(0)
        return np.asarray(values.reshape(out_shape), dtype=float)


def _descend(
    walker: Any, X: np.ndarray, go_left: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """The leaf each (row, tree) pair of a tree table reaches: all pairs go down one level
    per step, ``go_left(idx, values)`` deciding at the nodes ``idx`` given the rows'
    ``values`` of the nodes' features. ``walker`` holds the flat node table (``roots``,
    ``is_leaf``, ``feature``, ``left``, ``right``, ``depth``)."""
    n = len(X)
    idx = np.broadcast_to(walker.roots, (n, len(walker.roots))).copy()
    rows = np.arange(n)[:, None]
    for _ in range(walker.depth + 1):
        active = ~walker.is_leaf[idx]
        if not active.any():
            break
        left = go_left(idx, X[rows, walker.feature[idx]])
        idx = np.where(active, np.where(left, walker.left[idx], walker.right[idx]), idx)
    return idx


class _HistGBTrees:
    """All trees of a fitted HistGradientBoosting model, walked together with numpy.

    Scikit-learn predicts tree by tree, one compiled call each (with an OpenMP team), which
    for a few rows costs microseconds per tree and thousands of trees per model. Here every
    tree's nodes sit in one flat table and all (row, tree) pairs descend one level per
    step, by scikit-learn's own rules (``_predictor.pyx``): NaN follows the node's missing
    direction; a category goes left when in the split's bitset, right when a known
    category, and otherwise (negative or unseen) like a missing value; a number goes left
    when ``<=`` the threshold. The leaf values are summed per class in tree order from
    the baseline, as scikit-learn adds them, and the same loss turns them into
    probabilities, so the result is the same to the last bit. Only for small calls
    (:data:`TREE_WALK_ROWS` rows): the (rows x trees) tables grow with the batch.
    """

    def __init__(self, learner: Any):
        predictors = learner._predictors
        self.learner = learner
        self.k = learner.n_trees_per_iteration_
        flat = [p for iteration in predictors for p in iteration]
        sizes = np.array([len(p.nodes) for p in flat])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        nodes = np.concatenate([p.nodes for p in flat])
        owner = np.repeat(np.arange(len(flat)), sizes)
        n_bitsets = np.array([len(p.raw_left_cat_bitsets) for p in flat])
        bitset_offsets = np.concatenate([[0], np.cumsum(n_bitsets)[:-1]])
        self.roots = offsets.astype(np.int64)
        self.is_leaf = nodes["is_leaf"].astype(bool)
        self.value = nodes["value"].astype(np.float64)
        self.feature = nodes["feature_idx"].astype(np.int64)
        self.threshold = nodes["num_threshold"].astype(np.float64)
        self.missing_left = nodes["missing_go_to_left"].astype(bool)
        self.left = nodes["left"].astype(np.int64) + offsets[owner]
        self.right = nodes["right"].astype(np.int64) + offsets[owner]
        self.categorical = nodes["is_categorical"].astype(bool)
        self.bitset = nodes["bitset_idx"].astype(np.int64) + bitset_offsets[owner]
        bitsets = [p.raw_left_cat_bitsets for p in flat if len(p.raw_left_cat_bitsets)]
        self.left_bits = (
            np.concatenate(bitsets).astype(np.uint32) if bitsets else np.zeros((1, 8), np.uint32)
        )
        known, f_idx_map = learner._bin_mapper.make_known_categories_bitsets()
        self.known_bits = np.asarray(known, dtype=np.uint32).reshape(-1, 8)
        if not len(self.known_bits):
            self.known_bits = np.zeros((1, 8), np.uint32)
        self.f_idx_map = np.asarray(f_idx_map, dtype=np.int64)
        self.baseline = np.asarray(learner._baseline_prediction, dtype=np.float64).reshape(-1)
        self.depth = int(nodes["depth"].max()) + 1 if len(nodes) else 1

    @staticmethod
    def _bit(bits: np.ndarray, row: np.ndarray, val: np.ndarray) -> np.ndarray:
        return ((bits[row, val // 32] >> (val % 32).astype(np.uint32)) & 1).astype(bool)

    def _go_left(self, idx: np.ndarray, v: np.ndarray) -> np.ndarray:
        nan = np.isnan(v)
        cat = self.categorical[idx]
        miss_left = self.missing_left[idx]
        go_left = v <= self.threshold[idx]
        if cat.any():
            ok = cat & ~nan & (v >= 0)
            # the uint8 cast scikit-learn makes; codes here are below 255
            val = np.where(ok, v, 0).astype(np.int64) & 0xFF
            in_left = self._bit(self.left_bits, np.where(ok, self.bitset[idx], 0), val)
            f_map = self.f_idx_map[self.feature[idx]] if len(self.f_idx_map) else 0
            in_known = self._bit(self.known_bits, np.where(ok, f_map, 0), val)
            cat_left = np.where(ok, np.where(in_left, True, ~in_known & miss_left), miss_left)
            go_left = np.where(cat, cat_left, go_left)
        return np.where(nan, miss_left, go_left)

    def raw(self, X: np.ndarray) -> np.ndarray:
        n = len(X)
        idx = _descend(self, X, self._go_left)
        leaves = self.value[idx]  # (n, iterations * k), iteration-major
        out = np.empty((n, self.k), dtype=np.float64, order="F")
        for j in range(self.k):
            per_class = np.concatenate(
                [np.broadcast_to(self.baseline[j], (n, 1)), leaves[:, j :: self.k]], axis=1
            )
            out[:, j] = np.add.accumulate(per_class, axis=1)[:, -1]  # in order, as += does
        return out

    def __call__(self, X: np.ndarray) -> np.ndarray:
        raw = self.raw(np.asarray(X, dtype=np.float64))
        loss = self.learner._loss
        if hasattr(self.learner, "classes_"):
            return loss.predict_proba(raw)
        return loss.link.inverse(raw.ravel())


class _ForestTrees:
    """All trees of a fitted random forest or extra-trees model, walked together with numpy.

    Scikit-learn calls every tree in turn (tens of microseconds each, hundreds of trees);
    here all (row, tree) pairs descend one level per step by the trees' own rule (NaN
    follows the node's missing direction, else ``x <= threshold`` goes left, the float32
    input compared in double precision as the compiled code does). Leaf values are summed
    over the trees in order from zero and divided by the number of trees, as the forest's
    ``predict``/``predict_proba`` does, so the result is the same to the last bit.
    """

    def __init__(self, learner: Any):
        trees = [e.tree_ for e in learner.estimators_]
        if not trees or any(t.n_outputs != 1 for t in trees):
            raise ValueError("only single-output forests are walked")
        sizes = np.array([t.node_count for t in trees])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        owner = np.repeat(np.arange(len(trees)), sizes)
        left = np.concatenate([t.children_left for t in trees]).astype(np.int64)
        right = np.concatenate([t.children_right for t in trees]).astype(np.int64)
        self.is_leaf = left == -1
        self.left = np.where(self.is_leaf, 0, left + offsets[owner])
        self.right = np.where(self.is_leaf, 0, right + offsets[owner])
        feature = np.concatenate([t.feature for t in trees]).astype(np.int64)
        self.feature = np.where(self.is_leaf, 0, feature)
        self.threshold = np.concatenate([t.threshold for t in trees]).astype(np.float64)
        self.missing_left = np.concatenate(
            [getattr(t, "missing_go_to_left", np.zeros(t.node_count, np.uint8)) for t in trees]
        ).astype(bool)
        self.classify = hasattr(learner, "classes_")
        values = np.concatenate([t.value[:, 0, :] for t in trees])
        self.value = values[:, : learner.n_classes_] if self.classify else values[:, 0]
        self.roots = offsets
        self.depth = max(t.max_depth for t in trees) + 1

    def _go_left(self, idx: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.where(
            np.isnan(v), self.missing_left[idx], v.astype(np.float64) <= self.threshold[idx]
        )

    def __call__(self, X: np.ndarray) -> np.ndarray:
        idx = _descend(self, np.asarray(X, dtype=np.float32), self._go_left)
        leaves = self.value[idx]  # (n, trees) or (n, trees, classes)
        total = np.add.accumulate(leaves, axis=1)[:, -1]  # in tree order, as += does
        return total / len(self.roots)


class _MergedForests:
    """The fold models of one forest member walked as one table: each fold model's trees
    read its own input matrix, laid side by side (tree features offset by the fold's
    place), so all folds descend together, one level per step, instead of one walk per
    fold model. Each fold's leaf values are summed in tree order and divided by its
    number of trees, as its own walk does: the same numbers to the last bit."""

    def __init__(self, walkers: list[_ForestTrees], width: int):
        offsets = np.cumsum([0] + [len(w.is_leaf) for w in walkers[:-1]]).astype(np.int64)
        self.is_leaf = np.concatenate([w.is_leaf for w in walkers])
        # a leaf's children and feature are never read, whatever the offset makes of them
        self.left = np.concatenate([w.left + o for w, o in zip(walkers, offsets, strict=True)])
        self.right = np.concatenate([w.right + o for w, o in zip(walkers, offsets, strict=True)])
        self.feature = np.concatenate([w.feature + f * width for f, w in enumerate(walkers)])
        self.width = width
        self.threshold = np.concatenate([w.threshold for w in walkers])
        self.missing_left = np.concatenate([w.missing_left for w in walkers])
        self.roots = np.concatenate([w.roots + o for w, o in zip(walkers, offsets, strict=True)])
        self.depth = max(w.depth for w in walkers)
        self.values = [w.value for w in walkers]
        self.node_offsets = offsets
        self.bounds = np.cumsum([0] + [len(w.roots) for w in walkers])

    _go_left = _ForestTrees._go_left

    def __call__(self, matrices: list[np.ndarray]) -> list[np.ndarray]:
        """Each fold model's output, as its own walk gives it, from its input matrix."""
        X = np.asarray(np.hstack(matrices), dtype=np.float32)
        idx = _descend(self, X, self._go_left)
        return [
            self._average(f, idx[:, self.bounds[f] : self.bounds[f + 1]])
            for f in range(len(self.values))
        ]

    def _average(self, f: int, idx: np.ndarray) -> np.ndarray:
        leaves = self.values[f][idx - self.node_offsets[f]]
        return np.add.accumulate(leaves, axis=1)[:, -1] / idx.shape[1]

    def fold(self, f: int) -> Callable[[np.ndarray], np.ndarray]:
        """Fold model ``f``'s own walk, over its part of the table (its own table is then
        not kept: the member's trees are held once)."""
        trees = slice(self.bounds[f], self.bounds[f + 1])

        def walk(X: np.ndarray) -> np.ndarray:
            wide = np.zeros((len(X), len(self.values) * self.width), dtype=np.float32)
            wide[:, f * self.width : (f + 1) * self.width] = np.asarray(X, dtype=np.float32)
            part = SimpleNamespace(**{**vars(self), "roots": self.roots[trees]})
            return self._average(f, _descend(part, wide, self._go_left))

        return walk


def _merge_forests(compiled: list[CompiledModel | None]) -> _MergedForests | None:
    """One walk for a member's forest fold models, when there are several, all compiled
    with a forest walk over numeric inputs of one width."""
    if len(compiled) < 2 or any(
        c is None or not isinstance(c.small_predict, _ForestTrees) or c.strings for c in compiled
    ):
        return None
    widths = {c.width for c in compiled if c is not None}
    if len(widths) != 1:
        return None
    return _MergedForests([c.small_predict for c in compiled if c is not None], widths.pop())


def forest_walker(learner: Any) -> Callable[[np.ndarray], np.ndarray]:
    """A numpy walk over all trees of a fitted scikit-learn forest at once, for a few rows
    (:data:`TREE_WALK_ROWS` or fewer); the same numbers as its ``predict`` or
    ``predict_proba``."""
    return _ForestTrees(learner)


_MISSING: list[str] = []


def _missing_level() -> str:
    if not _MISSING:  # imported on first use; kept, since one row calls this per model
        from mlresearcher.models.preprocess import MISSING_LEVEL

        _MISSING.append(MISSING_LEVEL)
    return _MISSING[0]


def _level_string(v: Any, missing: str) -> str:
    """What ``as_level_strings`` makes of one prepared category value."""
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return missing
    return v if isinstance(v, str) else str(v)


class CompiledModel:
    """One fold model whose preprocessing is category look-ups and passed-through numbers.

    ``parts`` lists the learner's input columns in order as ``(kind, prepared column,
    mapping)``: ``num`` (the number as is), ``cat`` (``mapping[level]``, NaN when unseen
    or missing) or ``str`` (the level string, CatBoost's missing level when missing).
    """

    def __init__(self, estimator: Any, parts: list[tuple[str, str, Any]], width: int):
        self.estimator = estimator
        self.parts = parts
        self.width = width
        self.strings = any(kind == "str" for kind, _, _ in parts)
        self.row_predict: Any = None
        self.small_predict: Any = None
        booster = getattr(estimator, "booster_", None)
        if width and type(booster).__module__.startswith("lightgbm"):
            try:
                self.row_predict = _LightGBMRow(booster, estimator.n_iterations_, width)
            except Exception:  # an older LightGBM without the API: the regular predict
                self.row_predict = None
        self.rows_predict: Any = None  # any number of rows, on one thread
        if width and type(booster).__module__.startswith("xgboost"):
            try:
                self.rows_predict = _XGBoostRows(booster, estimator.n_iterations_)
            except Exception:  # another XGBoost: the regular predict
                self.rows_predict = None
        learner = getattr(estimator, "learner_", None)
        walker = {
            "HistGradientBoostingClassifier": _HistGBTrees,
            "HistGradientBoostingRegressor": _HistGBTrees,
            "RandomForestClassifier": _ForestTrees,
            "RandomForestRegressor": _ForestTrees,
            "ExtraTreesClassifier": _ForestTrees,
            "ExtraTreesRegressor": _ForestTrees,
        }.get(type(learner).__name__)
        if width and walker is not None:
            try:
                self.small_predict = walker(learner)
            except Exception:  # another scikit-learn layout: the regular predict
                self.small_predict = None
        # CatBoost fold models of one member read the same matrix: one Pool serves them all
        self.share_key: tuple | None = None
        self.pool_args: dict[str, Any] | None = None
        if (
            width
            and type(learner).__module__.startswith("catboost")
            and all(kind in ("num", "str") for kind, _, _ in parts)
        ):
            try:
                self.pool_args = {
                    "cat_features": learner._get_cat_feature_indices(),
                    "text_features": learner._get_text_feature_indices(),
                    "embedding_features": learner._get_embedding_feature_indices(),
                    "thread_count": -1,  # what predict and predict_proba pass by default
                }
                self.share_key = (
                    "catboost",
                    tuple((kind, col) for kind, col, _ in parts),
                    *(tuple(v) for k, v in self.pool_args.items() if k != "thread_count"),
                )
            except Exception:  # another CatBoost: each fold model makes its own Pool
                self.pool_args = self.share_key = None

    def threads_free(self, n: int) -> bool:
        """Whether predicting ``n`` rows starts no thread pool that a thread limit governs:
        LightGBM's single-row API (one thread), the NumPy tree walks and learners, CatBoost
        (its own pool, which such a limit does not reach)."""
        if self.pool_args is not None or self.rows_predict is not None:
            return True
        if n == 1 and self.row_predict is not None:
            return True
        return n <= TREE_WALK_ROWS and self.small_predict is not None

    def matrix(self, prepared: dict[str, np.ndarray], n: int, factorized: dict) -> np.ndarray:
        """The learner's input: float64, or an object matrix when it takes strings."""
        Xt = np.empty((n, self.width), dtype=object if self.strings else np.float64)
        missing = _missing_level() if self.strings else ""
        for j, (kind, col, mapping) in enumerate(self.parts):
            if kind == "num":
                Xt[:, j] = prepared[col]
            elif n == 1:
                v = prepared[col][0]
                Xt[0, j] = _level_string(v, missing) if kind == "str" else mapping.get(v, np.nan)
            else:
                # one look-up per distinct value, then a gather (-1, missing, takes the last)
                codes, uniques = factorized[col]
                if kind == "str":
                    lut = np.array(
                        [_level_string(u, missing) for u in uniques] + [missing], dtype=object
                    )
                else:
                    lut = np.array([mapping.get(u, np.nan) for u in uniques] + [np.nan])
                Xt[:, j] = lut[codes]
        return Xt

    def scores(
        self,
        prepared: dict[str, np.ndarray],
        n: int,
        task: str,
        k: int,
        factorized: dict,
        shared: dict | None = None,
    ) -> np.ndarray:
        """``shared`` holds, for one call, inputs that several fold models read alike."""
        est = self.estimator
        if task != "regression" and est.constant_ is not None:
            out = np.zeros((n, k))
            out[:, est.constant_] = 1.0
            return out
        key = self.share_key
        if shared is not None and key is not None and key in shared:
            Xt = shared[key]
        else:
            Xt = self.matrix(prepared, n, factorized)
            if self.pool_args is not None:
                from catboost import Pool

                Xt = Pool(Xt, **self.pool_args)  # as CatBoost's predict would make it
            if shared is not None and key is not None:
                shared[key] = Xt
        if n == 1 and self.row_predict is not None:
            p = self.row_predict(Xt[0])
        elif n <= TREE_WALK_ROWS and self.small_predict is not None:
            p = self.small_predict(Xt)
        elif self.rows_predict is not None:
            p = self.rows_predict(Xt)
        else:
            p = est._predict_learner(Xt)
        return self.finish(p, n, task, k)

    def finish(self, p: Any, n: int, task: str, k: int) -> np.ndarray:
        """The learner's output ``p`` as scores: values on the target's scale, or
        probabilities over all ``k`` classes."""
        est = self.estimator
        if task == "regression":
            return inverse_target(est, p)
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
    if not _is_ordinal(pipeline):
        return None
    enc = pipeline.named_steps["codes"]
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


def _is_level_strings(trans: Any) -> bool:
    from sklearn.preprocessing import FunctionTransformer

    from mlresearcher.models.preprocess import as_level_strings

    return isinstance(trans, FunctionTransformer) and trans.func is as_level_strings


class BlockModel(CompiledModel):
    """A fold model whose preprocessing (imputation, scaling, one-hot and target encoding,
    text features) runs block by block on numpy arrays.

    The ``ColumnTransformer`` itself (pandas column selection, a joblib dispatch per
    block, output wrapping) costs more than the blocks' own arithmetic for a few rows.
    Each fitted block (a pipeline of scikit-learn transformers) is called directly on the
    prepared columns it selects, in the transformer's order, and the dense outputs are
    stacked as ``ColumnTransformer`` stacks them: the same matrix, the same learner.
    """

    def __init__(
        self, estimator: Any, blocks: list[tuple[Any, Any, bool]], after: list[Any] | None = None
    ):
        super().__init__(estimator, [], 0)
        # (fitted transformer or None for passthrough, column list or one name, numeric)
        self.blocks = blocks
        self.after = after or []  # the steps of a pipeline that follow the column blocks
        # numpy forms of the blocks and steps (None: the transformer's own transform)
        self.fast = [_fast_transform(trans, cols) for trans, cols, _ in blocks]
        self.fast_after = [_fast_transform(step, None) for step in self.after]
        self.small_predict = _linear_learner(estimator) or _knn_learner(estimator)

    def threads_free(self, n: int) -> bool:
        # scikit-learn's own transform for a block may use a thread pool
        return all(f is not None for f in self.fast + self.fast_after) and super().threads_free(n)

    def matrix(self, prepared: dict[str, np.ndarray], n: int, factorized: dict) -> np.ndarray:
        with warnings.catch_warnings():
            # the blocks were fitted on named columns; these arrays are the same columns
            warnings.simplefilter("ignore", UserWarning)
            return self._matrix(prepared, n)

    def _matrix(self, prepared: dict[str, np.ndarray], n: int) -> np.ndarray:
        outputs = []
        for i, (trans, cols, numeric) in enumerate(self.blocks):
            if isinstance(cols, str):  # one column given by name: the block takes a vector
                X = np.asarray(prepared[cols], dtype=np.float64 if numeric else object)
            elif numeric:
                X = np.column_stack([np.asarray(prepared[c], dtype=np.float64) for c in cols])
            else:
                X = np.empty((n, len(cols)), dtype=object)
                for j, c in enumerate(cols):
                    X[:, j] = prepared[c]
            fast = self.fast[i]
            out = X if trans is None else fast(X) if fast is not None else trans.transform(X)
            # a dense ColumnTransformer densifies sparse blocks before stacking them
            outputs.append(out.toarray() if hasattr(out, "toarray") else np.asarray(out))
        Xt = np.hstack(outputs) if outputs else np.empty((n, 0))
        for step, fast in zip(self.after, self.fast_after, strict=True):
            Xt = fast(Xt) if fast is not None else step.transform(Xt)
        return Xt


_UNSEEN = "\x00mlresearcher: a level never seen in training\x00"


def _fast_transform(trans: Any, cols: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """The numpy form of one fitted block of the ``linear`` and ``knn`` treatments, or
    ``None`` (the block's own ``transform`` is used) for any other kind.

    - numbers (``SimpleImputer`` with missing indicators, then ``StandardScaler``): the
      same element-wise operations, in the same order, without input validation;
    - categories (``as_categories``, then ``OneHotEncoder`` or ``TargetEncoder`` and a
      scaler): a table of output rows per column, made at compile time by the fitted
      block itself from every level it knows, a missing value and an unseen level; a
      value is then a look-up. A value that is neither a string nor missing (a number in
      an object column) sends the call to the block's own ``transform``.
    """
    try:
        if trans is None:
            return None
        from sklearn.preprocessing import StandardScaler

        if type(trans) is StandardScaler:
            return _scaler(trans)
        steps = getattr(trans, "named_steps", None)
        if not steps:
            return None
        names = list(steps)
        if names == ["impute", "scale"]:
            return _imputed_scaled(steps["impute"], steps["scale"])
        if names and names[0] == "clean" and not isinstance(cols, str):
            return _category_table(trans, list(cols))
    except Exception:  # another scikit-learn layout: the block's own transform
        return None
    return None


def _scaler(scaler: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    from sklearn.preprocessing import QuantileTransformer, StandardScaler

    if type(scaler) is QuantileTransformer:
        return _quantile(scaler)
    if type(scaler) is not StandardScaler:
        return None
    mean = scaler.mean_ if scaler.with_mean else None
    scale = scaler.scale_ if scaler.with_std else None

    def transform(X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)  # a copy, as StandardScaler makes
        if mean is not None:
            X -= mean
        if scale is not None:
            X /= scale
        return X

    return transform


def _quantile(qt: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """A fitted ``QuantileTransformer``'s forward transform: scikit-learn's interpolation
    column by column, then the normal quantile function (``ndtri``, which is what
    ``scipy.stats.norm.ppf`` computes) without scipy's per-call argument handling; checked
    against the transformer on a probe, else ``None``."""
    from scipy import special, stats
    from sklearn.preprocessing._data import BOUNDS_THRESHOLD

    if qt.output_distribution not in ("normal", "uniform") or qt.ignore_implicit_zeros:
        return None
    quantiles, refs = qt.quantiles_, qt.references_
    normal = qt.output_distribution == "normal"
    clip_min = stats.norm.ppf(BOUNDS_THRESHOLD - np.spacing(1))
    clip_max = stats.norm.ppf(1 - (BOUNDS_THRESHOLD - np.spacing(1)))

    # per column: the quantiles, both reversed and negated (sklearn's second interpolation)
    cols = [(q, -q[::-1], float(q[0]), float(q[-1])) for q in quantiles.T]
    neg_refs = -refs[::-1]

    def column(x: np.ndarray, c: tuple) -> np.ndarray:
        q, neg_q, _, _ = c
        with np.errstate(invalid="ignore"):
            if normal:
                low = x - BOUNDS_THRESHOLD < q[0]
                high = x + BOUNDS_THRESHOLD > q[-1]
            else:
                low, high = x == q[0], x == q[-1]
        finite = ~np.isnan(x)
        xf = x[finite]
        x[finite] = 0.5 * (np.interp(xf, q, refs) - np.interp(-xf, neg_q, neg_refs))
        x[high] = 1
        x[low] = 0
        if normal:
            with np.errstate(invalid="ignore"):
                x = np.clip(special.ndtri(x) * 1.0 + 0.0, clip_min, clip_max)
        return x

    def one_row(row: np.ndarray) -> np.ndarray:
        # the same steps on each value as a Python float (one interpolation call per side
        # instead of a dozen array operations per column), then one ndtri for the row
        out = np.empty(len(row))
        for j, (x, (q, neg_q, first, last)) in enumerate(zip(row.tolist(), cols, strict=True)):
            if x != x:  # NaN stays NaN
                out[j] = x
            elif (x - BOUNDS_THRESHOLD < first) if normal else (x == first):
                out[j] = 0.0
            elif (x + BOUNDS_THRESHOLD > last) if normal else (x == last):
                out[j] = 1.0
            else:
                out[j] = 0.5 * (np.interp(x, q, refs) - np.interp(-x, neg_q, neg_refs))
        if normal:
            with np.errstate(invalid="ignore"):
                out = np.clip(special.ndtri(out) * 1.0 + 0.0, clip_min, clip_max)
        return out.reshape(1, -1)

    def transform(X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        if X.shape[0] == 1:
            return one_row(X[0])
        for j in range(X.shape[1]):
            X[:, j] = column(X[:, j], cols[j])
        return X

    lo, hi = quantiles.min(axis=0), quantiles.max(axis=0)
    probe = np.vstack(
        [quantiles, (quantiles[:-1] + quantiles[1:]) / 2, lo - 1e9, hi + 1e9, lo * np.nan]
    )
    # single rows take their own path: check it on rows from every part of the probe
    for i in np.unique(np.linspace(0, len(probe) - 1, 24).astype(int)):
        if _checked(transform, qt.transform, probe[i : i + 1]) is None:
            return None
    return _checked(transform, qt.transform, probe)


def _checked(
    fast: Callable[[np.ndarray], np.ndarray],
    reference: Callable[[np.ndarray], Any],
    probe: np.ndarray,
) -> Callable[[np.ndarray], np.ndarray] | None:
    """``fast`` if it gives exactly ``reference``'s output on ``probe`` and on its first row
    alone (NaN where NaN), else ``None``: a library version that computes differently keeps
    its own path."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            same = all(
                np.array_equal(fast(x), np.asarray(reference(x)), equal_nan=True)
                for x in (probe, probe[:1])
            )
    except Exception:
        return None
    return fast if same else None


def _imputed_scaled(imputer: Any, scaler: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    from sklearn.impute import SimpleImputer

    scale = _scaler(scaler)
    stats = getattr(imputer, "statistics_", None)
    if (
        type(imputer) is not SimpleImputer
        or scale is None
        or stats is None
        or not (isinstance(imputer.missing_values, float) and np.isnan(imputer.missing_values))
        or np.isnan(stats).any()  # a column empty in training is dropped: not handled here
    ):
        return None
    indicator = imputer.indicator_.features_ if imputer.add_indicator else None
    stats = np.asarray(stats, dtype=np.float64)

    def transform(X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        missing = np.isnan(X)
        if missing.any():
            X[missing] = np.broadcast_to(stats, X.shape)[missing]
        if indicator is not None:
            X = np.hstack([X, missing[:, indicator]])
        return scale(X)

    return transform


def _category_widths(trans: Any) -> list[int] | None:
    """Output columns per input column of a fitted category block."""
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

    for step in trans.named_steps.values():
        if isinstance(step, OrdinalEncoder):
            return [1] * step.n_features_in_
        if isinstance(step, OneHotEncoder):
            return list(step._n_features_outs)
        if isinstance(step, TargetEncoder):
            per = len(step.classes_) if step.target_type_ == "multiclass" else 1
            return [per] * step.n_features_in_
    return None


def _category_table(trans: Any, cols: list[str]) -> Callable[[np.ndarray], np.ndarray] | None:
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    from mlresearcher.models.preprocess import as_categories

    steps = list(trans.named_steps.values())
    clean = steps[0]
    if not (isinstance(clean, FunctionTransformer) and clean.func is as_categories):
        return None
    if not all(isinstance(s, StandardScaler) for s in steps[2:]) or len(steps) < 2:
        return None
    widths = _category_widths(trans)
    encoder = steps[1]
    if widths is None or len(widths) != len(cols):
        return None
    if isinstance(encoder, OneHotEncoder) and encoder.drop is not None:
        return None
    levels = [[v for v in cats if isinstance(v, str)] for cats in encoder.categories_]
    if any(_UNSEEN in lv for lv in levels):
        return None
    size = max((len(v) for v in levels), default=0)
    # rows 0..size-1: each column's levels (padded with the unseen level), then a missing
    # value, then an unseen level
    probe = np.empty((size + 2, len(cols)), dtype=object)
    for j, lv in enumerate(levels):
        probe[:, j] = lv + [_UNSEEN] * (size - len(lv)) + [None, _UNSEEN]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = trans.transform(probe)
    out = np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=np.float64)
    if out.shape[1] != sum(widths):
        return None
    edges = np.cumsum([0, *widths])
    tables = [out[:, edges[j] : edges[j + 1]].copy() for j in range(len(cols))]
    index = [{v: i for i, v in enumerate(lv)} for lv in levels]
    missing_row, unseen_row = size, size + 1

    def row_of(known: dict[str, int], v: Any) -> int | None:
        """The table row of one value; ``None`` for a number among strings, whose string
        form ``as_categories`` decides."""
        if isinstance(v, str):
            return known.get(v, unseen_row)
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            return missing_row
        return None

    def transform(X: np.ndarray) -> np.ndarray:
        parts = []
        for j in range(X.shape[1]):
            if len(X) <= TREE_WALK_ROWS:  # a few rows: one look-up each
                found = [row_of(index[j], v) for v in X[:, j]]
                rows = None if None in found else np.array(found, dtype=np.intp)
            else:  # a batch: one look-up per distinct value (missing -> code -1)
                codes, uniques = pd.factorize(X[:, j], use_na_sentinel=True)
                found = [row_of(index[j], v) for v in uniques]
                lut = None if None in found else np.array([*found, missing_row], dtype=np.intp)
                rows = None if lut is None else lut[codes]
            if rows is None:
                out = trans.transform(X)
                return out.toarray() if hasattr(out, "toarray") else np.asarray(out)
            parts.append(tables[j][rows])
        return np.hstack(parts) if parts else np.empty((len(X), 0))

    return transform


def _linear_learner(estimator: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """``_predict_learner`` of a linear fold model as scikit-learn's own arithmetic (the
    product with the coefficients, then the logistic or softmax function) without its
    input validation; checked against the learner on a probe matrix, else ``None``."""
    from sklearn.linear_model import LogisticRegression, Ridge

    learner = getattr(estimator, "learner_", None)
    if type(learner) not in (LogisticRegression, Ridge):
        return None
    coef, intercept = learner.coef_, learner.intercept_
    if isinstance(learner, LogisticRegression):
        from scipy.special import expit

        binary = len(learner.classes_) <= 2

        def predict(X: np.ndarray) -> np.ndarray:
            scores = np.asarray(X, dtype=np.float64) @ coef.T + intercept
            if binary:
                p = expit(scores.reshape(-1))
                return np.stack([1 - p, p], axis=1)
            # scikit-learn's softmax, step by step, without its array-namespace dispatch
            scores -= scores.max(axis=1).reshape((-1, 1))
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=1).reshape((-1, 1))
            return scores

    else:
        y_scale, y_mean = estimator.y_scale_, estimator.y_mean_

        def predict(X: np.ndarray) -> np.ndarray:
            X = np.asarray(X, dtype=np.float64)
            scores = X @ coef + intercept if coef.ndim == 1 else X @ coef.T + intercept
            return scores * y_scale + y_mean

    probe = np.random.default_rng(0).standard_normal((3, learner.n_features_in_))
    return _checked(predict, estimator._predict_learner, probe)


def _knn_learner(estimator: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """``_predict_learner`` of a nearest-neighbours fold model: its own search
    (:func:`~mlresearcher.models.knn.nearest`) where it has one, else scikit-learn's
    neighbour search (its tree, or its brute-force reduction) called directly, with the
    vote or weighted mean after it, checked against the learner on a probe matrix, else
    ``None``. Uniform votes of a brute-force classifier keep the regular path."""
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    from mlresearcher.models.knn import vote

    learner = getattr(estimator, "learner_", None)
    if type(learner) not in (KNeighborsClassifier, KNeighborsRegressor):
        return None
    own = getattr(estimator, "own_search", lambda: None)()
    if own is not None:  # the function the learner's own prediction calls: nothing to check
        return own
    try:
        classify = isinstance(learner, KNeighborsClassifier)
        uniform = learner.weights == "uniform"
        k, method = learner.n_neighbors, learner._fit_method
        if learner.metric == "precomputed" or (classify and learner.outputs_2d_):
            return None
        if learner.weights not in ("uniform", "distance"):
            return None
        if method in ("kd_tree", "ball_tree"):
            tree = learner._tree

            def neighbours(X: np.ndarray) -> tuple[Any, np.ndarray]:
                if uniform:
                    return None, tree.query(X, k, False)
                return tree.query(X, k, True)

        elif method == "brute" and not (classify and uniform):
            from sklearn.metrics._pairwise_distances_reduction import ArgKmin

            fit_X = learner._fit_X
            metric, params = learner.effective_metric_, learner.effective_metric_params_

            def neighbours(X: np.ndarray) -> tuple[Any, np.ndarray]:
                if not ArgKmin.is_usable_for(X, fit_X, metric):
                    raise ValueError("not for the reduction")
                found = ArgKmin.compute(
                    X=X,
                    Y=fit_X,
                    k=k,
                    metric=metric,
                    metric_kwargs=params,
                    strategy="auto",
                    return_distance=not uniform,
                )
                return (None, found) if uniform else found

        else:
            return None
    except Exception:
        return None

    def predict(X: np.ndarray) -> np.ndarray:
        dist, ind = neighbours(np.ascontiguousarray(X, dtype=np.float64))
        return vote(learner, dist, ind)

    probe = np.random.default_rng(0).standard_normal((3, learner.n_features_in_))
    return _checked(predict, estimator._predict_learner, probe)


def _blocks(pre: Any, roles: dict[str, str]) -> list[tuple[Any, Any, bool]] | None:
    """The block-by-block form of a fitted dense ``ColumnTransformer`` with numpy output."""
    if getattr(pre, "sparse_output_", True):
        return None
    blocks = []
    for _, trans, cols in pre.transformers_:
        cols = cols if isinstance(cols, str) else list(cols)
        if (isinstance(trans, str) and trans == "drop") or not len(cols):
            continue
        if isinstance(trans, str) and trans != "passthrough":
            return None
        names = [cols] if isinstance(cols, str) else cols
        if not all(isinstance(c, str) and c in roles for c in names):
            return None  # columns by position or by mask
        numeric = all(roles[c] == "numeric" for c in names)
        blocks.append((None if _is_identity(trans) else trans, cols, numeric))
    return blocks


def _is_ordinal(trans: Any) -> bool:
    """The ``tree`` treatment's category block: ``clean -> OrdinalEncoder`` (NaN unknowns)."""
    from sklearn.preprocessing import OrdinalEncoder

    steps = getattr(trans, "named_steps", None)
    if not steps or list(steps) != ["clean", "codes"]:
        return False
    enc = steps["codes"]
    return isinstance(enc, OrdinalEncoder) and bool(np.isnan(enc.unknown_value))


def compile_estimator(estimator: Any) -> CompiledModel | None:
    """A compiled fold model, or ``None`` when its preprocessing is of another kind."""
    from sklearn.compose import ColumnTransformer

    if getattr(estimator, "constant_", None) is not None:
        return CompiledModel(estimator, [], 0)
    pre = getattr(estimator, "preprocessor_", None)
    if not hasattr(estimator, "_predict_learner"):
        return None
    roles = getattr(estimator, "feature_roles", None) or {}
    steps = getattr(pre, "steps", None)
    if steps and isinstance(steps[0][1], ColumnTransformer):  # columns, then e.g. a scaler
        blocks = _blocks(steps[0][1], roles)
        after = [step for _, step in steps[1:] if step is not None and step != "passthrough"]
        if blocks is None or any(isinstance(step, str) for step in after):
            return None
        return BlockModel(estimator, blocks, after)
    if not isinstance(pre, ColumnTransformer):
        return None
    pandas_out = getattr(pre, "_sklearn_output_config", {}).get("transform") == "pandas"
    if not pandas_out and any(
        not _is_identity(trans) and not _is_ordinal(trans)
        for _, trans, cols in pre.transformers_
        if not (isinstance(trans, str) and trans == "drop") and len(cols)
    ):
        blocks = _blocks(pre, roles)
        return BlockModel(estimator, blocks) if blocks is not None else None
    parts: list[tuple[str, str, Any]] = []
    for name, trans, cols in pre.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        cols = list(cols)
        if name == "remainder" and not cols:
            continue
        if _is_identity(trans):
            parts += [("num", c, None) for c in cols]
        elif pandas_out and _is_level_strings(trans):
            parts += [("str", c, None) for c in cols]
        elif pandas_out:
            return None  # text features for CatBoost
        else:
            maps = _category_mapping(trans, cols)
            if maps is None:
                return None
            parts += [("cat", c, m) for c, m in zip(cols, maps, strict=True)]
    return CompiledModel(estimator, parts, len(parts))


#: held while a prediction changes process-wide state (see CompiledEnsemble.scores)
_PROCESS_STATE = threading.RLock()


class CompiledEnsemble:
    """A final model's members, each fold model compiled where its preprocessing allows."""

    def __init__(self, members: list[Any], task: str, n_classes: int, feature_roles: dict):
        self.task = task
        self.k = n_classes
        self.features = list(feature_roles)
        self.category_inputs = [
            c for c, r in feature_roles.items() if r in ("categorical", "high_cardinality")
        ]
        self.members = [
            (m.weight, [(est, compile_estimator(est)) for est in m.predicting]) for m in members
        ]
        self.n_models = sum(len(models) for _, models in self.members)
        # a member's forest fold models walked as one table, for a few rows; each fold
        # model's own walk then reads that table instead of a copy of its own
        self.merged = [_merge_forests([c for _, c in models]) for _, models in self.members]
        for (_, models), merged in zip(self.members, self.merged, strict=True):
            for f, (_, c) in enumerate(models if merged is not None else []):
                assert c is not None
                c.small_predict = merged.fold(f)

    @property
    def compiled_fraction(self) -> float:
        """Share of fold models served by the compiled path."""
        flags = [c is not None for _, models in self.members for _, c in models]
        return sum(flags) / max(1, len(flags))

    def scores(
        self,
        prepared: dict[str, np.ndarray],
        n: int,
        frame: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
    ) -> np.ndarray:
        """Probabilities ``(n, k)`` or values ``(n,)`` from prepared feature arrays.

        ``frame`` is the prepared frame (or a function that builds it) for the fold models
        that are not compiled; by default it is built from ``prepared``.
        """
        factorized = {}
        if n > 1:
            for c in self.category_inputs:
                codes, uniques = pd.factorize(prepared[c], use_na_sentinel=True)
                factorized[c] = (codes, list(uniques))
        box: dict[str, pd.DataFrame] = {}
        shared: dict = {}  # inputs fold models share, in the one-thread path

        def prepared_frame() -> pd.DataFrame:
            if "frame" not in box:
                if isinstance(frame, pd.DataFrame):
                    box["frame"] = frame
                elif frame is not None:
                    box["frame"] = frame()
                else:
                    box["frame"] = pd.DataFrame(prepared)[self.features]
            return box["frame"]

        def one(item: tuple[Any, CompiledModel | None], rows: slice | None = None) -> np.ndarray:
            est, compiled = item
            if rows is None:
                if compiled is not None:
                    return compiled.scores(prepared, n, self.task, self.k, factorized, shared)
                return predict_scores(est, prepared_frame(), self.task, self.k)
            if compiled is None:
                return predict_scores(est, prepared_frame().iloc[rows], self.task, self.k)
            part = {c: v[rows] for c, v in prepared.items()}
            codes = {c: (v[0][rows], v[1]) for c, v in factorized.items()}
            m = len(range(n)[rows])
            return compiled.scores(part, m, self.task, self.k, codes)

        items = [item for _, models in self.members for item in models]
        # a small call runs on one thread (an OpenMP team per tree costs more than the
        # tree); a batch is cut into one block of rows per core, and every fold model
        # predicts every block in a thread of its own: equal tasks, so the cores finish
        # together (rows are predicted independently, so the numbers do not change)
        threads = (os.cpu_count() or 1) if n >= PARALLEL_ROWS else 1
        # setting the limit costs more than a one-row call of a model that needs none
        free = threads == 1 and all(c is not None and c.threads_free(n) for _, c in items)
        # Both contexts change process-wide state (the warning filters, the native thread
        # pools' sizes) and restore what they saw on entry: two threads interleaving them
        # (serve predicts in worker threads) would leave a thread cap or an "ignore"
        # filter behind for the whole process, so one call at a time changes it.
        with (
            _PROCESS_STATE,
            warnings.catch_warnings(),
            contextlib.nullcontext() if free else _thread_limit(1),
        ):
            warnings.simplefilter("ignore")
            if threads > 1:
                from concurrent.futures import ThreadPoolExecutor

                if any(c is None for _, c in items):
                    prepared_frame()  # built once, before the threads need it
                bounds = np.linspace(0, n, threads + 1).astype(int)
                blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
                with ThreadPoolExecutor(max_workers=threads) as pool:
                    futures = [[pool.submit(one, item, b) for b in blocks] for item in items]
                    parts = [np.concatenate([f.result() for f in fs]) for fs in futures]
            else:
                parts = []
                for (_, models), merged in zip(self.members, self.merged, strict=True):
                    if merged is not None and n <= TREE_WALK_ROWS:
                        compiled = [c for _, c in models]
                        mats = [c.matrix(prepared, n, factorized) for c in compiled]
                        outs = merged(mats)
                        parts += [
                            c.finish(p, n, self.task, self.k)
                            for c, p in zip(compiled, outs, strict=True)
                        ]
                    else:
                        parts += [one(item) for item in models]
        total = None
        i = 0
        for weight, models in self.members:
            avg = sum(parts[i : i + len(models)]) / len(models)
            i += len(models)
            total = weight * avg if total is None else total + weight * avg
        assert total is not None
        if self.task != "regression":
            total = total / total.sum(axis=1, keepdims=True)
        return total


__all__ = ["CompiledEnsemble", "CompiledModel", "compile_estimator", "PARALLEL_ROWS"]
