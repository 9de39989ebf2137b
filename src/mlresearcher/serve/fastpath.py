"""Predictions straight from request columns, without a pandas round trip where possible.

:class:`FastPredictor` gives the same numbers as :meth:`Predictor.predict_scores` (to the
last bit; ``tests/serve/test_fastpath.py`` checks it) from columns of JSON values (floats
or ``None`` for numeric columns, strings or ``None`` for the others): the prepared
features of :func:`~mlresearcher.data.schema.prepare_features` are built as numpy arrays
directly (a frame is built only when the schema has datetime columns), then scored by
the predictor's compiled ensemble (:mod:`mlresearcher.models.compiled`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.data.schema import prepare_features
from mlresearcher.predictor import Predictor


class FastPredictor:
    """A :class:`Predictor` that scores columns of JSON values (see the module docstring)."""

    def __init__(self, predictor: Predictor):
        self.predictor = predictor
        self.schema = predictor.schema
        self.roles = {c.name: c.role for c in self.schema.columns}
        self.input_columns = self.schema.input_columns
        self._needs_frame_prep = any(self.roles[c] == "datetime" for c in self.input_columns)
        self.ensemble = predictor.compiled()

    @property
    def compiled_fraction(self) -> float:
        """Share of fold models served by the compiled path."""
        return self.ensemble.compiled_fraction

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
        return self.ensemble.scores(self.prepare(columns, n), n)


__all__ = ["FastPredictor"]
