"""Per-column statistics, computed on every row (vectorised, one pass per column).

Each column gets a plain dict (JSON-ready): its role (the one ``run`` would give it),
dtype, missing and distinct counts and, by kind, distribution statistics (numeric and
datetime: quantiles, moments, outliers; categorical and text: the most frequent values).
Outliers are values beyond the 3 x IQR fences (Tukey's "far out" values); skewness is the
adjusted Fisher-Pearson coefficient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.data.schema import ColumnInfo
from mlresearcher.profile._codes import numeric_values

QUANTILES = (0.01, 0.25, 0.5, 0.75, 0.99)
TOP_VALUES = 5


def column_stats(s: pd.Series, info: ColumnInfo) -> dict[str, Any]:
    n = len(s)
    n_missing = int(s.isna().sum())
    d: dict[str, Any] = {
        "name": info.name,
        "role": info.role,
        "dtype": info.dtype,
        "n_missing": n_missing,
        "missing_fraction": round(n_missing / n, 6) if n else 0.0,
        "n_unique": info.n_unique,
        "unique_fraction": round(info.n_unique / max(1, n - n_missing), 6),
    }
    kind = "datetime" if info.role == "time" else info.role
    v = numeric_values(s, kind) if kind in ("numeric", "datetime", "id") else None
    if v is not None:
        d.update(numeric_stats(v, raw=s))
        if kind == "datetime":
            d["min"] = _iso(d.get("min"))
            d["max"] = _iso(d.get("max"))
            for q in ("p01", "p25", "p50", "p75", "p99"):
                d[q] = _iso(d.get(q))
    if info.role in ("categorical", "high_cardinality", "text", "constant", "id") and v is None:
        d.update(top_values(s))
    if info.role == "text":
        words = s.dropna().head(5000).astype(str).str.split().str.len()
        d["mean_words"] = round(float(words.mean()), 3) if len(words) else None
    return d


def numeric_stats(v: np.ndarray, raw: pd.Series | None = None) -> dict[str, Any]:
    finite = v[~np.isnan(v)]
    out: dict[str, Any] = {}
    if raw is not None and pd.api.types.is_float_dtype(raw):
        r = raw.to_numpy(dtype="float64", na_value=np.nan)
        out["n_infinite"] = int(np.isinf(r).sum())
    if finite.size == 0:
        return out
    qs = np.quantile(finite, QUANTILES)
    mean = float(finite.mean())
    std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    n = finite.size
    skew = None
    if std > 0 and n > 2:
        m2 = float(np.mean((finite - mean) ** 2))
        m3 = float(np.mean((finite - mean) ** 3))
        g1 = m3 / m2**1.5
        skew = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    q1, q3 = qs[1], qs[3]
    iqr = q3 - q1
    n_out = int(((finite < q1 - 3 * iqr) | (finite > q3 + 3 * iqr)).sum()) if iqr > 0 else 0
    out.update(
        {
            "mean": mean,
            "std": std,
            "min": float(finite.min()),
            **{f"p{round(q * 100):02d}": float(x) for q, x in zip(QUANTILES, qs, strict=True)},
            "max": float(finite.max()),
            "skew": None if skew is None else round(float(skew), 4),
            "n_zeros": int((finite == 0).sum()),
            "n_outliers": n_out,
            "outlier_fraction": round(n_out / n, 6),
        }
    )
    return out


def top_values(s: pd.Series, k: int = TOP_VALUES) -> dict[str, Any]:
    try:
        counts = s.value_counts(dropna=True, sort=True)
    except TypeError:  # unhashable values
        counts = s.astype(str).value_counts(dropna=True)
    counts = counts[counts > 0]  # a categorical lists its unused levels too
    n = int(counts.sum())
    top = [[_plain(v), int(c)] for v, c in counts.head(k).items()]
    return {
        "top": top,
        "top_fraction": round(int(counts.iloc[0]) / n, 6) if n else None,
        "n_rare_levels": int((counts < 5).sum()),
    }


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    return str(v)


def _iso(seconds: Any) -> Any:
    if seconds is None:
        return None
    return pd.Timestamp(float(seconds), unit="s").isoformat()
