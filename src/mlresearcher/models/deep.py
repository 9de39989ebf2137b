"""RealMLP: a tuned-by-default multilayer perceptron for tables, through ``pytabkit``.

RealMLP (Holzmüller et al., "Better by default: strong pre-tuned MLPs and boosted trees on
tabular data", NeurIPS 2024) bundles what makes an MLP competitive with boosted trees on
tables: robust scaling and smooth clipping of numbers, periodic numerical embeddings, a
learnable per-feature scaling layer, parametric activations, scheduled learning rate,
dropout and weight decay, and the best epoch chosen on a validation split. Its defaults
were meta-tuned on a benchmark of its own, which makes it a good zero-shot member of a
portfolio; ``pytabkit`` (the authors' package) implements it, and this module adapts it
to the family contract.

The preprocessing (:func:`~mlresearcher.models.preprocess.deep_preprocessor`) hands the
network category codes (missing and unseen levels share code 0), median-imputed numbers
with missing indicators and text SVD features; ``pytabkit`` one-hot encodes small
categories and embeds large ones itself. The deadline becomes the training's time limit,
after which the best epoch so far is kept. ``torch`` and ``pytabkit`` are imported
lazily: without them the family reports itself unavailable.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from mlresearcher.models._estimator import TabularEstimator, common_params, deadline_passed
from mlresearcher.models.base import FitContext, ModelFamily
from mlresearcher.models.preprocess import deep_preprocessor, n_output_categories

#: below this many seconds left, a fit trains one epoch and ignores the clock
MIN_SECONDS = 1.0
#: hidden-layer shapes of the search space: name -> (layers, width)
SHAPES = {"256x3": (3, 256), "64x5": (5, 64), "512x1": (1, 512)}
#: loggers of the training library quieted while fitting (restored afterwards)
_LOGGERS = (
    "lightning",
    "lightning.pytorch",
    "lightning.fabric",
    "pytorch_lightning",
    "lightning_fabric",
    "lightning_utilities",
)


_QUIET_LOCK = threading.Lock()
_QUIET_STATE: dict[str, Any] = {"depth": 0, "saved": None}


@contextlib.contextmanager
def _quiet(threads: int) -> Iterator[None]:
    """Within: the training library's info lines and warnings silenced and torch on
    ``threads`` threads; once the last of the fits and predictions running at the same
    time (fold models fit in threads) has left, every setting as it was before the first
    entered. Logger levels and torch's thread count belong to the process, so one fit
    restoring them while another still trains would let the other's lines through."""
    import torch

    loggers = [logging.getLogger(name) for name in _LOGGERS]
    with _QUIET_LOCK:
        if _QUIET_STATE["depth"] == 0:
            _QUIET_STATE["saved"] = (torch.get_num_threads(), [lg.level for lg in loggers])
            for lg in loggers:
                lg.setLevel(logging.ERROR)
            torch.set_num_threads(max(1, threads))
        _QUIET_STATE["depth"] += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        with _QUIET_LOCK:
            _QUIET_STATE["depth"] -= 1
            if _QUIET_STATE["depth"] == 0:
                before, levels = _QUIET_STATE["saved"]
                torch.set_num_threads(before)
                for lg, level in zip(loggers, levels, strict=True):
                    lg.setLevel(level)


class RealMLPModel(TabularEstimator):
    """RealMLP (``pytabkit``) with the family contract's preprocessing and deadline.

    Every hyperparameter left ``None`` takes RealMLP-TD's default. ``shape`` names a
    hidden-layer shape of :data:`SHAPES` (``None``: the default, three layers of 256).
    """

    def __init__(
        self,
        *,
        task: str = "binary",
        n_classes: int = 2,
        feature_roles: dict[str, str] | None = None,
        seed: int = 0,
        n_jobs: int = 1,
        deadline: float | None = None,
        n_epochs: int | None = None,
        lr: float | None = None,
        shape: str | None = None,
        num_emb_type: str | None = None,
        add_front_scale: bool | None = None,
        p_drop: float | None = None,
        wd: float | None = None,
        act: str | None = None,
        plr_sigma: float | None = None,
        ls_eps: float | None = None,
        val_metric_name: str | None = None,
        batch_size: int | None = None,
        val_fraction: float = 0.2,
    ):
        self.task = task
        self.n_classes = n_classes
        self.feature_roles = feature_roles
        self.seed = seed
        self.n_jobs = n_jobs
        self.deadline = deadline
        self.n_epochs = n_epochs
        self.lr = lr
        self.shape = shape
        self.num_emb_type = num_emb_type
        self.add_front_scale = add_front_scale
        self.p_drop = p_drop
        self.wd = wd
        self.act = act
        self.plr_sigma = plr_sigma
        self.ls_eps = ls_eps
        self.val_metric_name = val_metric_name
        self.batch_size = batch_size
        self.val_fraction = val_fraction

    def _make_preprocessor(self, n_classes_present: int, n_rows: int) -> Any:
        return deep_preprocessor(self.feature_roles, seed=self.seed)

    # ---- data --------------------------------------------------------------------
    def _frame(self, Xt: Any) -> Any:
        """The network's input frame: category codes as pandas categories (0 = missing or
        unseen), numbers as float32."""
        import pandas as pd

        Xt = np.asarray(Xt, dtype=np.float64)
        n_cat = n_output_categories(self.feature_roles)
        columns: dict[str, Any] = {}
        for j in range(n_cat):
            codes = np.where(np.isnan(Xt[:, j]), 0, Xt[:, j] + 1).astype(np.int64)
            codes = np.minimum(codes, self.levels_[j] - 1)
            columns[f"c{j}"] = pd.Categorical.from_codes(codes, categories=range(self.levels_[j]))
        for j in range(n_cat, Xt.shape[1]):
            columns[f"x{j}"] = np.nan_to_num(Xt[:, j], nan=0.0).astype(np.float32)
        return pd.DataFrame(columns)

    def _learner_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            name: getattr(self, name)
            for name in (
                "n_epochs",
                "lr",
                "num_emb_type",
                "add_front_scale",
                "p_drop",
                "wd",
                "act",
                "plr_sigma",
                "val_metric_name",
                "batch_size",
            )
            if getattr(self, name) is not None
        }
        if self.shape is not None:
            if self.shape not in SHAPES:
                raise ValueError(f"unknown shape {self.shape!r}; use one of {', '.join(SHAPES)}")
            params["n_hidden_layers"], params["hidden_width"] = SHAPES[self.shape]
        if self.ls_eps is not None and self._is_classification:
            params["use_ls"] = self.ls_eps > 0
            if self.ls_eps > 0:
                params["ls_eps"] = self.ls_eps
        return params

    # ---- training ----------------------------------------------------------------
    def _fit_learner(self, Xt: Any, y: np.ndarray, n_out: int) -> None:
        import torch
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

        n_cat = n_output_categories(self.feature_roles)
        Xt = np.asarray(Xt, dtype=np.float64)
        self.levels_ = [
            int(np.nanmax(Xt[:, j], initial=-1.0)) + 2 for j in range(n_cat)
        ]  # codes + 1, and 0
        frame = self._frame(Xt)
        params = self._learner_params()
        left = None if self.deadline is None else self.deadline - time.monotonic()
        if left is not None and left < MIN_SECONDS:
            params["n_epochs"], left = 1, None
        cls = RealMLP_TD_Classifier if self._is_classification else RealMLP_TD_Regressor
        self.learner_ = cls(
            device="cuda" if torch.cuda.is_available() else "cpu",
            random_state=self.seed,
            n_threads=max(1, self.n_jobs),
            val_fraction=self.val_fraction,
            verbosity=0,
            **params,
        )
        target = y.astype(np.int64) if self._is_classification else y.astype(np.float64)
        with _quiet(self.n_jobs):
            self.learner_.fit(frame, target, time_to_fit_in_seconds=left)
        self.stopped_by_deadline_ = deadline_passed(self.deadline)

    def _predict_learner(self, Xt: Any) -> np.ndarray:
        frame = self._frame(Xt)
        with _quiet(self.n_jobs):
            if self._is_classification:
                return np.asarray(self.learner_.predict_proba(frame), dtype=np.float64)
            return np.asarray(self.learner_.predict(frame), dtype=np.float64).reshape(-1)


class RealMLPFamily(ModelFamily):
    name = "realmlp"
    requires = ("torch", "pytabkit")
    extra = "torch"
    cost = 60.0  # default fit time relative to linear (about 1.5 x the mlp family's)
    uses_text = True

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        if ctx.is_classification:
            # the metrics here score probabilities (log loss, ROC AUC): the package's own
            # advice for them is cross-entropy for the best epoch and no label smoothing
            return [
                {"val_metric_name": "cross_entropy", "ls_eps": 0.0},
                {},  # RealMLP-TD as published: label smoothing, best epoch by error rate
                {"val_metric_name": "cross_entropy", "ls_eps": 0.0, "n_epochs": 64},
            ]
        return [{}, {"n_epochs": 64}]

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        # RealMLP's published tuning space
        p = "realmlp."
        params: dict[str, Any] = {
            "num_emb_type": trial.suggest_categorical(
                p + "num_emb_type", ["none", "pbld", "pl", "plr"]
            ),
            "add_front_scale": trial.suggest_categorical(p + "add_front_scale", [True, False]),
            "lr": trial.suggest_float(p + "lr", 2e-2, 3e-1, log=True),
            "p_drop": trial.suggest_categorical(p + "p_drop", [0.0, 0.15, 0.3]),
            "act": trial.suggest_categorical(p + "act", ["relu", "selu", "mish"]),
            "shape": trial.suggest_categorical(p + "shape", list(SHAPES)),
            "wd": trial.suggest_categorical(p + "wd", [0.0, 0.02]),
            "plr_sigma": trial.suggest_float(p + "plr_sigma", 0.05, 0.5, log=True),
        }
        if ctx.is_classification:
            params["ls_eps"] = trial.suggest_categorical(p + "ls_eps", [0.0, 0.1])
            params["val_metric_name"] = "cross_entropy"
        return params

    def build(self, params: dict[str, Any], ctx: FitContext) -> RealMLPModel:
        return RealMLPModel(**common_params(ctx), **params)
