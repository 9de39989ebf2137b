"""The final predictor: a weighted average of the ensemble members.

Each member is either one model refit on all training rows (the default, see
:mod:`mlresearcher.search.refit`) or the fold models trained during cross-validation, each
on its training fold, averaged (``final_model="bagged"``, and members that could not be
refit). Members are combined with the ensemble weights chosen out of fold.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher import __version__
from mlresearcher.data.io import to_frame
from mlresearcher.data.schema import (
    Schema,
    prepare_arrays,
    prepare_column_arrays,
    prepare_features,
)
from mlresearcher.errors import DataError, RunNotFoundError
from mlresearcher.models.base import predict_scores

ARTIFACT = "model.joblib"


@dataclass
class Member:
    name: str  # leaderboard name, e.g. "lightgbm#3"
    family: str
    params: dict[str, Any]
    weight: float
    models: list[Any]  # fitted fold estimators (what the out-of-fold analysis reads)
    refit_model: Any = None  # the same configuration fitted on every training row
    # a forest's fold models not refit, each cut to every k-th of its trees (k folds):
    # one fold model's tree count in all, the trees shared with ``models``
    thinned: list[Any] | None = None

    @property
    def predicting(self) -> list[Any]:
        """The models a prediction averages: the refit model, else the thinned fold
        models, else the fold models."""
        if self.refit_model is not None:
            return [self.refit_model]
        return self.thinned or self.models

    def form(self) -> str:
        """How the member predicts, in words."""
        if self.refit_model is not None:
            return "refit on all rows"
        if self.thinned:
            trees = sum(getattr(m, "n_iterations_", 0) for m in self.thinned)
            return f"{trees} trees drawn from its {len(self.models)} fold models"
        return f"{len(self.models)} fold models"


@dataclass
class Predictor:
    schema: Schema
    target: str
    task: str
    classes: list[Any] | None
    metric: str
    members: list[Member]
    version: str = __version__
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes is not None else 0

    def prepare(self, X: Any) -> pd.DataFrame:
        return prepare_features(to_frame(X, infer_dtypes=False), self.schema)

    def compiled(self) -> Any:
        """The members as a :class:`~mlresearcher.models.compiled.CompiledEnsemble`
        (built on first use, kept in memory, never saved with the model)."""
        ensemble = self.__dict__.get("_compiled")
        if ensemble is None:
            from mlresearcher.models.compiled import CompiledEnsemble

            ensemble = CompiledEnsemble(
                self.members, self.task, self.n_classes, self.schema.feature_roles
            )
            self.__dict__["_compiled"] = ensemble
        return ensemble

    def predict_scores(
        self, X: Any, prepared: bool = False, *, compiled: bool = True
    ) -> np.ndarray:
        """Probabilities ``(n, k)`` for classifiers, values ``(n,)`` for regression.

        ``compiled=False`` sends every fold model through its own ``predict_proba`` on the
        prepared frame: the same numbers, bit for bit, only slower (the reference the
        compiled path is tested against).
        """
        if compiled and not prepared:
            # arrays straight from the input; the frame only if a fold model needs it
            df = to_frame(X, infer_dtypes=False)
            arrays = prepare_arrays(df, self.schema)
            n, features = len(df), list(self.schema.feature_roles)

            def frame() -> pd.DataFrame:
                return pd.DataFrame(arrays, index=pd.RangeIndex(n))[features]

            return self.compiled().scores(arrays, n, frame)
        Xp = X if prepared else self.prepare(X)
        if compiled:
            arrays = {c: Xp[c].to_numpy() for c in Xp.columns}
            return self.compiled().scores(arrays, len(Xp), Xp)
        total = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for m in self.members:
                avg = sum(
                    predict_scores(est, Xp, self.task, self.n_classes) for est in m.predicting
                ) / len(m.predicting)
                total = m.weight * avg if total is None else total + m.weight * avg
        assert total is not None
        if self.task != "regression":
            total = total / total.sum(axis=1, keepdims=True)
        return total

    def scores_from_columns(self, columns: dict[str, Any], n: int) -> np.ndarray:
        """:meth:`predict_scores` of a frame of at most ``FEW_ROWS`` rows, given as its
        column arrays by name (a caller that has checked the frame and holds them)."""
        arrays = prepare_column_arrays(columns, n, self.schema)
        features = list(self.schema.feature_roles)

        def frame() -> pd.DataFrame:
            return pd.DataFrame(arrays, index=pd.RangeIndex(n))[features]

        return self.compiled().scores(arrays, n, frame)

    def labels(self, scores: np.ndarray) -> np.ndarray:
        """Predicted labels (classification) or values (regression) from scores."""
        if self.task == "regression":
            return scores
        return np.asarray(self.classes)[np.argmax(scores, axis=1)]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_compiled", None)  # native handles; rebuilt on first use after loading
        return state

    def predict(self, X: Any) -> np.ndarray:
        return self.labels(self.predict_scores(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.task == "regression":
            raise DataError("predict_proba is only available for classification tasks")
        return self.predict_scores(X)

    def describe(self) -> str:
        parts = [f"{m.weight:.2f} x {m.name} ({m.form()})" for m in self.members]
        return "weighted average of " + " + ".join(parts)

    # persistence -------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        import joblib

        from mlresearcher.store.atomic import atomic_path

        target = Path(path) / ARTIFACT
        # uncompressed: compression of large forests or boosters costs seconds that the
        # time limit has to pay for, and disk is cheaper than the user's budget
        with atomic_path(target) as tmp:  # a crash never leaves a half-written model
            joblib.dump(self, tmp, compress=0)
        return target

    @staticmethod
    def load(path: str | Path) -> Predictor:
        import joblib

        p = Path(path)
        f = p / ARTIFACT if p.is_dir() else p
        if not f.exists():
            raise RunNotFoundError(
                f"no model artifact at {str(f)!r}; pass a run directory (runs/<run-id>) or a saved model folder"
            )
        try:
            obj = joblib.load(f)
        except Exception as e:
            raise DataError(f"cannot load the model at {str(f)!r}: {type(e).__name__}: {e}") from e
        if not isinstance(obj, Predictor):
            raise DataError(f"{str(f)!r} is not an mlresearcher model")
        if obj.version != __version__:
            warnings.warn(
                f"model saved with mlresearcher {obj.version}, loaded with {__version__}; predictions may differ",
                UserWarning,
                stacklevel=2,
            )
        return obj
