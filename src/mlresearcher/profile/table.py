"""The table in the form the profile reads fast, and the roles a run would give it.

String columns become pandas categoricals once (one hashing pass): missing checks, counts,
top values, row hashes and codes then work on small integer codes instead of Python
strings, which is what makes a million rows cheap. :func:`roles` gives every column the
role :func:`mlresearcher.data.schema.infer_roles` would (same rules, same helpers; a test
holds the two equal on every dev dataset) while reading only the first 1,000 non-missing
values of a string column for the datetime and text checks, as ``infer_roles`` does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlresearcher.data.schema import (
    ColumnInfo,
    _is_integer_like,
    _name_says_id,
    _string_values,
    string_role,
)

HEAD = 1000  # infer_roles looks at the first 1,000 (text) and 200 (datetime) values


def is_stringish(s: pd.Series) -> bool:
    return not (
        pd.api.types.is_bool_dtype(s)
        or pd.api.types.is_numeric_dtype(s)
        or pd.api.types.is_datetime64_any_dtype(s)
    )


def compact(X: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """``X`` with string-like columns as categoricals, and each column's original dtype."""
    dtypes = {str(c): str(X[c].dtype) for c in X.columns}
    cols = {}
    for c in X.columns:
        s = X[c]
        if is_stringish(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            try:
                codes, uniques = pd.factorize(s, use_na_sentinel=True)
            except TypeError:  # unhashable cells (lists, dicts)
                codes, uniques = pd.factorize(s.astype(str), use_na_sentinel=True)
            s = pd.Series(
                pd.Categorical.from_codes(codes, pd.Index(np.asarray(uniques, dtype=object))),
                index=s.index,
                name=s.name,
            )
        cols[c] = s
    return pd.DataFrame(cols, index=X.index), dtypes


def head_values(s: pd.Series, k: int = HEAD) -> pd.Series:
    """The first ``k`` non-missing values of a column, as strings (``_string_values``)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        first = np.flatnonzero(codes >= 0)[:k]
        vals = pd.Series(np.asarray(s.cat.categories, dtype=object)[codes[first]])
    else:
        vals = s.dropna().head(k).reset_index(drop=True)
    return _string_values(vals)


def roles(
    X: pd.DataFrame, dtypes: dict[str, str], exclude: dict[str, str] | None = None
) -> list[ColumnInfo]:
    """The roles :func:`~mlresearcher.data.schema.infer_roles` gives (see the module doc)."""
    exclude = exclude or {}
    n = len(X)
    out = []
    for name in X.columns:
        s = X[name]
        if isinstance(s.dtype, pd.CategoricalDtype):
            n_missing = int((s.cat.codes.to_numpy() < 0).sum())
            n_unique = int(np.unique(s.cat.codes.to_numpy()[s.cat.codes.to_numpy() >= 0]).size)
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            v = s.to_numpy(dtype="float64", na_value=np.nan)
            ok = ~np.isnan(v)
            n_missing = int(n - ok.sum())
            if pd.api.types.is_integer_dtype(s):
                n_unique = int(np.unique(s.to_numpy()[ok]).size)  # exact for large integers
            else:
                n_unique = int(np.unique(v[ok]).size)
        else:
            n_missing = int(s.isna().sum())
            n_unique = int(s.nunique(dropna=True))
        missing = n_missing / n if n else 0.0
        if name in exclude:
            role = exclude[name]
        elif n_unique <= 1:
            role = "constant"
        elif pd.api.types.is_bool_dtype(s):
            role = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(s):
            role = "datetime"
        elif pd.api.types.is_numeric_dtype(s):
            role = "numeric"
            if (
                n_unique == n - n_missing
                and n >= 20
                and _is_integer_like(s)
                and (_name_says_id(str(name)) or s.dropna().is_monotonic_increasing)
            ):
                role = "id"
        else:
            role = string_role(str(name), head_values(s), n, n_unique, n_missing)
        out.append(ColumnInfo(str(name), role, dtypes[str(name)], n_unique, round(missing, 6)))
    return out
