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

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from mlresearcher.data.schema import Schema

#: rows above which a campaign compacts its features (the holdout threshold)
LARGE_ROWS = 250_000


def float32_if_exact(v: np.ndarray) -> np.ndarray:
    """``v`` (float64) as ``float32`` when every value survives the round trip, else ``v``."""
    v32 = v.astype(np.float32)
    return v32 if np.array_equal(v32.astype(np.float64), v, equal_nan=True) else v


def categorical_from_codes(codes: np.ndarray, levels: np.ndarray) -> pd.Categorical:
    """The categorical whose value ``i`` is ``levels[codes[i]]`` (missing where the code is
    -1), with the sorted, distinct strings that occur as categories: what
    ``pd.Categorical`` makes of the strings. ``levels`` may repeat a string; its entries
    then share one category."""
    uniq = pd.Categorical(levels)
    new = uniq.codes.astype(np.intp).take(np.maximum(codes, 0)) if len(levels) else codes
    new = np.where(codes < 0, -1, new)
    out = pd.Categorical.from_codes(new, dtype=pd.CategoricalDtype(uniq.categories))
    return out.remove_unused_categories()


def compact_features(X: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """``X`` with categoricals as codes and exact-in-float32 numbers as ``float32``.

    Columns are converted one at a time and the input's columns are not copied beyond
    that, so the peak stays near one column above the result.
    (:func:`mlresearcher.data.schema.prepare_features` with ``compact=True`` builds the
    same frame straight from the raw data.)
    """
    roles = schema.feature_roles
    out = {}
    for name in X.columns:
        col = X[name]
        role = roles.get(name)
        if role in ("categorical", "high_cardinality") and pd.api.types.is_string_dtype(col.dtype):
            # prepared category columns hold only strings: equal values print the same
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            out[name] = categorical_from_codes(codes, np.asarray(uniques, dtype=object))
        elif col.dtype == np.float64:
            out[name] = float32_if_exact(col.to_numpy())
        else:
            out[name] = col
    return pd.DataFrame(out, index=X.index)


def release_freed_memory() -> None:
    """Return the memory of freed temporaries to the operating system.

    Setting up large data frees many column-sized arrays; glibc keeps such freed heap
    pages in the process (its mmap threshold grows after the first large free), where they
    would count against the run's memory while trials run. ``malloc_trim`` gives them back;
    elsewhere than glibc this only collects garbage.
    """
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def frame_megabytes(X: pd.DataFrame) -> float:
    """Memory held by ``X``, strings included, in MB."""
    return float(X.memory_usage(deep=True).sum()) / 2**20


__all__ = [
    "LARGE_ROWS",
    "categorical_from_codes",
    "compact_features",
    "float32_if_exact",
    "frame_megabytes",
    "release_freed_memory",
]
