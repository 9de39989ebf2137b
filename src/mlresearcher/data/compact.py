"""Memory-frugal feature frames for large data.

:func:`compact_features` turns the prepared frame into the same values in less memory:
category and high-cardinality columns become pandas categoricals (small integer codes
plus one copy of each level, instead of one Python string per row), and numeric columns
become ``float32`` where every value survives the round trip exactly (so no model sees a
different number). Text columns are left as strings. Every family's preprocessing reads
categoricals through :func:`mlresearcher.models.preprocess.as_categories`, which accepts
both representations, so models fitted on the compact frame predict the same on the
ordinary one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlresearcher.data.schema import Schema

#: rows above which a campaign compacts its features (the holdout threshold)
LARGE_ROWS = 250_000


def compact_features(X: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """``X`` with categoricals as codes and exact-in-float32 numbers as ``float32``.

    Columns are converted one at a time and the input's columns are not copied beyond
    that, so the peak stays near one column above the result.
    """
    roles = schema.feature_roles
    out = {}
    for name in X.columns:
        col = X[name]
        role = roles.get(name)
        if role in ("categorical", "high_cardinality") and col.dtype == object:
            out[name] = pd.Categorical(col)
        elif col.dtype == np.float64:
            v = col.to_numpy()
            v32 = v.astype(np.float32)
            same = np.array_equal(v32.astype(np.float64), v, equal_nan=True)
            out[name] = v32 if same else v
        else:
            out[name] = col
    return pd.DataFrame(out, index=X.index)


def frame_megabytes(X: pd.DataFrame) -> float:
    """Memory held by ``X``, strings included, in MB."""
    return float(X.memory_usage(deep=True).sum()) / 2**20


__all__ = ["LARGE_ROWS", "compact_features", "frame_megabytes"]
