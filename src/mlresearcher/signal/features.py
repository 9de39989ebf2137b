"""Lagged and rolling features built from the past only.

For a row observed at time ``t`` (of entity ``e`` in a panel), every feature made here uses
only rows of the same entity observed *strictly before* ``t``:

* ``lag k`` of column ``x`` (``k >= 1``): the value of ``x`` ``k`` rows earlier;
* ``rolling w`` of ``x``: mean and standard deviation of the ``w`` rows before ``t``
  (the row itself excluded, so the target can be rolled without seeing its own value).

A feature value therefore never changes when later rows change, which is what lets a
walk-forward protocol build them once for all folds: no value a training row sees can
depend on a test period that comes after it. The target may be lagged too; with a label
that looks ``h`` periods ahead, use lags ``>= h`` (an earlier label is not yet known).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlresearcher.errors import ConfigError


def parse_column_ints(items: list[str] | None, what: str) -> dict[str, list[int]]:
    """``["x:1,2,5", "y:3"]`` -> ``{"x": [1, 2, 5], "y": [3]}`` (each integer >= 1)."""
    out: dict[str, list[int]] = {}
    for item in items or []:
        col, sep, nums = str(item).rpartition(":")
        try:
            values = [int(v) for v in nums.split(",") if v.strip()]
        except ValueError:
            values = []
        if not sep or not col or not values or min(values) < 1:
            raise ConfigError(
                f"{what} expects COLUMN:N[,N...] with whole numbers >= 1, got {item!r}"
            )
        out.setdefault(col, []).extend(v for v in values if v not in out.get(col, []))
    return out


def add_past_features(
    df: pd.DataFrame,
    time: str,
    *,
    lags: dict[str, list[int]] | None = None,
    rolling: dict[str, list[int]] | None = None,
    entity: str | None = None,
) -> pd.DataFrame:
    """``df`` (same row order) with columns ``{x}_lag{k}``, ``{x}_mean{w}``, ``{x}_std{w}``.

    Rows are ordered by ``time`` within each ``entity`` (stable, so rows that share a time
    stamp keep their input order); non-numeric source columns are an error.
    """
    lags, rolling = lags or {}, rolling or {}
    for col in list(lags) + list(rolling):
        if col not in df.columns:
            raise ConfigError(f"cannot build lags of {col!r}: no such column")
        if not pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            raise ConfigError(f"cannot build lags of {col!r}: it is not numeric")
    from mlresearcher.signal.walkforward import to_time

    when = to_time(df[time]).to_numpy()  # strings are parsed: their text order is not time
    if entity:
        order = df.index[np.lexsort((when, df[entity].astype(str).to_numpy()))]
    else:
        order = df.index[np.argsort(when, kind="stable")]
    d = df.loc[order]
    groups = d.groupby(entity, sort=False, dropna=False) if entity else None
    new: dict[str, pd.Series] = {}
    for col, ks in lags.items():
        for k in ks:
            s = groups[col].shift(k) if groups is not None else d[col].shift(k)
            new[f"{col}_lag{k}"] = s
    for col, ws in rolling.items():
        past = groups[col].shift(1) if groups is not None else d[col].shift(1)
        for w in ws:
            if groups is not None:
                g = past.groupby(d[entity], sort=False, dropna=False)
                mean = g.transform(lambda s, w=w: s.rolling(w, min_periods=1).mean())
                std = g.transform(lambda s, w=w: s.rolling(w, min_periods=2).std())
            else:
                mean = past.rolling(w, min_periods=1).mean()
                std = past.rolling(w, min_periods=2).std()
            new[f"{col}_mean{w}"] = mean
            new[f"{col}_std{w}"] = std
    clash = [c for c in new if c in df.columns]
    if clash:
        raise ConfigError(
            f"feature name(s) {', '.join(clash)} already exist in the data; rename them"
        )
    feats = pd.DataFrame(new, index=d.index).reindex(df.index)
    return pd.concat([df, feats.astype(np.float64)], axis=1)


def forward_label(
    df: pd.DataFrame, column: str, horizon: int, time: str, entity: str | None = None
) -> pd.Series:
    """The sum of ``column`` over the next ``horizon`` rows of the same entity (a forward
    return over ``horizon`` periods when ``column`` holds one-period returns); NaN where the
    future is not observed. The label of row ``t`` looks ``horizon`` periods ahead."""
    if horizon < 1:
        raise ConfigError(f"the label horizon must be at least 1 period, got {horizon}")
    keys = [entity, time] if entity else [time]
    d = df.sort_values(keys, kind="stable")
    x = d[column].astype(float)
    parts = []
    for h in range(1, horizon + 1):
        parts.append(x.groupby(d[entity], sort=False).shift(-h) if entity else x.shift(-h))
    label = sum(parts)
    return label.reindex(df.index).rename(f"{column}_fwd{horizon}")


def features_for_run(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    target_name: str,
    time: str | None,
    *,
    lags: list[str] | None,
    rolling: list[str] | None,
    entity: str | None = None,
) -> pd.DataFrame:
    """The ``run`` command's ``--lag``/``--rolling`` features added to ``X`` (the target may
    be named as a source column: its past values become features, never its own value)."""
    from mlresearcher.data.task import find_target_column

    lag_map = parse_column_ints(lags, "--lag")
    roll_map = parse_column_ints(rolling, "--rolling")
    if time is None:
        raise ConfigError("--lag, --rolling and --entity need --time COL to order the rows")
    find_target_column(list(X.columns), time, "--time column")
    if entity:
        find_target_column(list(X.columns), entity, "--entity column")
    for col in list(lag_map) + list(roll_map):
        if col != target_name:
            find_target_column(list(X.columns), col, "--lag/--rolling column")
    if not lag_map and not roll_map:
        return X
    uses_target = target_name in lag_map or target_name in roll_map
    df = X.copy()
    if uses_target:
        if target_name in df.columns:
            raise ConfigError(f"a feature column is also called {target_name!r}; rename it")
        df[target_name] = np.asarray(y, dtype=float)
    out = add_past_features(df, time, lags=lag_map, rolling=roll_map, entity=entity)
    return out.drop(columns=[target_name]) if uses_target else out
