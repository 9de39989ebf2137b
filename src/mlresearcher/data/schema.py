"""Column roles and the prepared feature frame.

``infer_schema`` looks at every column once and gives it a role:

=================  ==========================================================
role               meaning and treatment
=================  ==========================================================
numeric            numbers (and booleans, as 0/1); kept as float
categorical        a few distinct values (at most ``HIGH_CARDINALITY`` of them)
high_cardinality   many distinct values, but repeated; encoded per family
text               free text (several words per value); TF-IDF for linear models
datetime           expanded into calendar features (stateless, so leak-free)
id                 unique per row (an identifier); dropped with a finding
constant           one value (or all missing); dropped with a finding
group / time       the ``--group`` / ``--time`` column; used by the protocol only
=================  ==========================================================

``prepare_features`` turns any frame with the training columns into the frame every
family's estimator consumes (see :mod:`mlresearcher.models.base`). It learns nothing from
the data it transforms, so applying it before cross-validation cannot leak.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.data.compact import categorical_from_codes, float32_if_exact
from mlresearcher.data.io import column_arrays
from mlresearcher.errors import DataError
from mlresearcher.findings import Finding

HIGH_CARDINALITY = 32
FEATURE_ROLES = ("numeric", "categorical", "high_cardinality", "text")


@dataclass
class ColumnInfo:
    name: str
    role: str
    dtype: str
    n_unique: int
    missing_fraction: float


@dataclass
class Schema:
    """The roles of the input columns and the prepared feature columns they become."""

    columns: list[ColumnInfo]
    feature_roles: dict[str, str]  # prepared column -> one of FEATURE_ROLES
    datetime_parts: dict[str, list[str]] = field(default_factory=dict)  # input col -> parts

    @property
    def input_columns(self) -> list[str]:
        """Input columns a prediction request must carry."""
        used = {"numeric", "categorical", "high_cardinality", "text", "datetime"}
        return [c.name for c in self.columns if c.role in used]

    def role(self, column: str) -> str:
        for c in self.columns:
            if c.name == column:
                return c.role
        raise KeyError(column)

    def features_with(self, *roles: str) -> list[str]:
        return [c for c, r in self.feature_roles.items() if r in roles]

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [asdict(c) for c in self.columns],
            "feature_roles": dict(self.feature_roles),
            "datetime_parts": {k: list(v) for k, v in self.datetime_parts.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        return cls(
            columns=[ColumnInfo(**c) for c in d["columns"]],
            feature_roles=dict(d["feature_roles"]),
            datetime_parts={k: list(v) for k, v in d.get("datetime_parts", {}).items()},
        )


def _is_integer_like(s: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(s):
        return True
    if pd.api.types.is_float_dtype(s):
        v = s.dropna().to_numpy()
        return v.size > 0 and bool(np.all(np.mod(v, 1) == 0))
    return False


def _looks_like_datetime(s: pd.Series) -> bool:
    sample = s.dropna().astype(str).head(200)
    if sample.empty or sample.str.len().median() < 6:
        return False
    if not sample.str.contains(r"\d{4}|\d{1,2}[/-]\d{1,2}", regex=True).all():
        return False
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.95)


def _text_like(s: pd.Series) -> bool:
    sample = s.dropna().astype(str).head(1000)
    if sample.empty:
        return False
    words = sample.str.count(r"\s+") + 1
    return bool(words.mean() >= 5 and sample.nunique() > 0.5 * len(sample))


def _as_str(v: Any) -> str:
    return v if isinstance(v, str) else str(v)


def string_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column as ``(codes, levels)``: value ``i`` is the string ``levels[codes[i]]``, and
    ``codes[i] == -1`` where it is missing. ``levels`` is an object array of ``str``.

    Each distinct value is converted once: the categories of a categorical, the distinct
    values of a column that holds only strings. A column of mixed Python objects is
    converted value by value, because values that compare equal (``1``, ``1.0``, ``True``)
    print differently; then ``levels`` has one entry per row.
    """
    missing = s.isna().to_numpy()
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.intp)
        levels = [_as_str(v) for v in s.cat.categories.astype(object)]
    elif pd.api.types.is_string_dtype(s.dtype) and (
        s.dtype != object or pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")
    ):
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        codes = codes.astype(np.intp, copy=False)
        levels = [_as_str(v) for v in np.asarray(uniques, dtype=object)]
    else:
        codes = np.full(len(s), -1, dtype=np.intp)
        codes[~missing] = np.arange(len(s) - int(missing.sum()))
        levels = [_as_str(v) for v in s.to_numpy(dtype=object)[~missing]]
    codes[missing] = -1
    return codes, np.array(levels, dtype=object).reshape(-1)


def _string_array(s: pd.Series) -> np.ndarray:
    """A column's values as an object array of Python strings with ``None`` for missing."""
    codes, levels = string_codes(s)
    out = levels.take(np.maximum(codes, 0)) if len(levels) else np.empty(len(codes), object)
    out[codes < 0] = None
    return out


#: up to this many rows (a prediction request) strings are converted value by value
FEW_ROWS = 64


def _few_strings(s: pd.Series | np.ndarray | Any) -> np.ndarray:
    """:func:`_string_array` for a few rows: each value on its own, which for a handful of
    rows costs less than finding the distinct ones (the same strings either way). ``s``
    may also be the column's array (NumPy or pandas extension array)."""
    values = s.to_numpy(dtype=object) if hasattr(s, "to_numpy") else np.asarray(s, dtype=object)
    missing = pd.isna(values)
    return np.array(
        [None if m else _as_str(v) for v, m in zip(values, missing, strict=True)], dtype=object
    ).reshape(-1)


def _string_values(s: pd.Series) -> pd.Series:
    """A column's values as Python strings with ``None`` for missing (pandas may store them
    in its string dtype, where missing reads as NaN)."""
    return pd.Series(_string_array(s), index=s.index, name=s.name)


def _head_strings(s: pd.Series, k: int = 1000) -> pd.Series:
    """The first ``k`` non-missing values of a column as strings: all that the datetime and
    text rules of :func:`string_role` read."""
    return _string_values(s.dropna().head(k).reset_index(drop=True))


def _name_says_id(name: str) -> bool:
    n = name.lower().strip()
    return (
        n in {"id", "uuid", "guid", "index", "key", "row", "rowid"}
        or n.endswith(("_id", " id", "id_"))
        or n.startswith(("id_", "id "))
    )


def string_role(name: str, text: list[str], n: int, n_unique: int, n_missing: int) -> str:
    """The role of a string column from a sample of its values (``text``) and its counts."""
    ratio = n_unique / max(1, n - n_missing)
    if _looks_like_datetime(text):
        return "datetime"
    if _text_like(text):
        return "text"
    if n >= 20 and ratio > 0.95 and n_unique > HIGH_CARDINALITY:
        return "id"
    if _name_says_id(name) and n_unique > 0.5 * n and n >= 20:
        return "id"
    if n_unique > HIGH_CARDINALITY:
        return "high_cardinality"
    return "categorical"


def infer_roles(
    df: pd.DataFrame,
    exclude: dict[str, str] | None = None,
) -> tuple[list[ColumnInfo], list[Finding]]:
    """Give each column of ``df`` a role. ``exclude`` maps columns to fixed roles."""
    exclude = exclude or {}
    infos: list[ColumnInfo] = []
    findings: list[Finding] = []
    n = len(df)
    for name in df.columns:
        s = df[name]
        missing = float(s.isna().mean()) if n else 0.0
        try:
            n_unique = int(s.nunique(dropna=True))
        except TypeError:  # unhashable values (lists, dicts)
            s = s.astype(str)
            n_unique = int(s.nunique(dropna=True))
        dtype = str(s.dtype)
        if name in exclude:
            role = exclude[name]
        elif n_unique <= 1:
            role = "constant"
            findings.append(
                Finding(
                    "constant_column",
                    "info",
                    f"column {name!r} has {'no values' if n_unique == 0 else 'a single value'} and was dropped",
                    column=name,
                    evidence={"n_unique": n_unique, "missing_fraction": missing},
                    action="none needed; it carries no information",
                )
            )
        elif pd.api.types.is_bool_dtype(s):
            role = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(s):
            role = "datetime"
        elif pd.api.types.is_numeric_dtype(s):
            role = "numeric"
            if (
                _is_integer_like(s)
                and n_unique == n - int(s.isna().sum())
                and n >= 20
                and (_name_says_id(str(name)) or s.dropna().is_monotonic_increasing)
            ):
                role = "id"
        else:
            role = string_role(str(name), _head_strings(s), n, n_unique, int(s.isna().sum()))
        if role == "id":
            findings.append(
                Finding(
                    "id_like_column",
                    "warning",
                    f"column {name!r} looks like an identifier (unique per row) and was dropped",
                    column=name,
                    evidence={"n_unique": n_unique, "n_rows": n},
                    action="if it carries meaning, convert it to a meaningful feature before the run",
                )
            )
        infos.append(ColumnInfo(str(name), role, dtype, n_unique, round(missing, 6)))
    return infos, findings


def _parse_datetime(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = pd.to_datetime(_string_values(s), errors="coerce", format="mixed")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def build_schema(df: pd.DataFrame, infos: list[ColumnInfo]) -> Schema:
    """Decide the prepared feature columns for the roles in ``infos``."""
    feature_roles: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    for c in infos:
        if c.role in FEATURE_ROLES:
            feature_roles[c.name] = c.role
        elif c.role == "datetime":
            d = _parse_datetime(df[c.name])
            use = ["year", "month", "day", "day_of_week", "day_of_year", "epoch_days"]
            if d.notna().any() and bool((d.dt.hour.fillna(0) != 0).any()):
                use.insert(5, "hour")
            parts[c.name] = use
            for p in use:
                feature_roles[f"{c.name}__{p}"] = "numeric"
    if not feature_roles:
        raise DataError(
            "no usable feature columns remain after dropping identifier and constant columns; "
            "check the data or the --target/--group/--time options"
        )
    return Schema(columns=infos, feature_roles=feature_roles, datetime_parts=parts)


def prepare_features(df: pd.DataFrame, schema: Schema, *, compact: bool = False) -> pd.DataFrame:
    """The frame families consume (see :func:`prepare_arrays` for the columns)."""
    out = prepare_arrays(df, schema, compact=compact)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))[list(schema.feature_roles)]


def prepare_arrays(df: pd.DataFrame, schema: Schema, *, compact: bool = False) -> dict[str, Any]:
    """The columns families consume, by name in feature order: numeric floats,
    strings/``None``, calendar features.

    ``compact=True`` gives the same values in less memory, as
    :func:`mlresearcher.data.compact.compact_features` would, without first building the
    ordinary frame: category and high-cardinality columns as pandas categoricals, numbers
    as ``float32`` where exact.

    Raises ``DataError`` naming any training column that ``df`` lacks. Extra columns are
    ignored.
    """
    names = list(df.columns)
    few = len(df) <= FEW_ROWS and not compact
    # a few rows (a prediction request): each column's array, not a Series per column
    source: Any = dict(zip(names, column_arrays(df), strict=True)) if few else df
    if few and len(source) < len(names):
        source = df  # duplicate names: df[name] says which one is meant (or fails)
    return _prepare(source, set(names), len(df), schema, compact=compact)


def prepare_column_arrays(columns: dict[str, Any], n: int, schema: Schema) -> dict[str, Any]:
    """:func:`prepare_arrays` of a frame with at most :data:`FEW_ROWS` rows given as its
    column arrays by name (see :func:`~mlresearcher.data.io.column_arrays`): the same
    values, for a caller that already holds the arrays."""
    if n > FEW_ROWS:
        raise ValueError(f"{n} rows: prepare_column_arrays takes at most {FEW_ROWS}")
    return _prepare(columns, columns.keys(), n, schema, compact=False)


def _prepare(source: Any, present: Any, n: int, schema: Schema, *, compact: bool) -> dict[str, Any]:
    """:func:`prepare_arrays` of the columns ``source[name]`` (Series or arrays) of ``n``
    rows; ``present`` holds the names ``source`` has."""
    needed = schema.input_columns
    missing = [c for c in needed if c not in present]
    if missing:
        raise DataError(
            f"the data lacks {len(missing)} column(s) the model was trained on: "
            f"{', '.join(map(repr, missing[:10]))}{' ...' if len(missing) > 10 else ''}"
        )
    out: dict[str, Any] = {}
    roles = {c.name: c.role for c in schema.columns}
    few = n <= FEW_ROWS and not compact
    for name in needed:
        s = source[name]
        role = roles[name]
        if role == "numeric" and s.dtype.kind in "fiu":
            # numbers already: the same floats as the general path, without its per-call cost
            if isinstance(s.dtype, np.dtype):  # NumPy storage: no missing marker to convert
                v = np.array(s, dtype=np.float64)
            else:  # pandas' nullable numbers: NA becomes NaN
                v = s.to_numpy(dtype="float64", na_value=np.nan, copy=True)
            if s.dtype.kind == "f":
                v[~np.isfinite(v)] = np.nan
            out[name] = float32_if_exact(v) if compact else v
            continue
        if few and role in ("categorical", "high_cardinality", "text"):
            out[name] = _few_strings(s)
            continue
        if not isinstance(s, pd.Series):  # the general rules below read a Series
            s = pd.Series(s, copy=False, name=name)
        if role == "numeric":
            if pd.api.types.is_bool_dtype(s) or s.dtype == object:
                s = pd.to_numeric(s.map(_bool_or_number), errors="coerce")
            v = pd.to_numeric(s, errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan, copy=True
            )
            v[~np.isfinite(v)] = np.nan  # infinities carry no usable magnitude
            out[name] = float32_if_exact(v) if compact else v
        elif role in ("categorical", "high_cardinality") and compact:
            out[name] = categorical_from_codes(*string_codes(s))
        elif role in ("categorical", "high_cardinality", "text"):
            out[name] = _string_array(s)
        elif role == "datetime" and few and _plain_datetimes(s):
            for p, v in _calendar_parts(np.asarray(s), schema.datetime_parts[name]).items():
                out[f"{name}__{p}"] = v
        elif role == "datetime":
            d = _parse_datetime(s)
            for p in schema.datetime_parts[name]:
                if p == "epoch_days":
                    v = (d - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
                else:
                    v = getattr(d.dt, p)
                v = pd.to_numeric(v, errors="coerce").astype("float64").to_numpy()
                out[f"{name}__{p}"] = float32_if_exact(v) if compact else v
    return {c: out[c] for c in schema.feature_roles}


#: datetime64 units whose values pandas keeps as they are (its resolutions)
_PANDAS_UNITS = ("s", "ms", "us", "ns")


def _plain_datetimes(s: Any) -> bool:
    """Whether ``s`` holds time-zone-free datetime64 values in a unit pandas keeps."""
    dtype = s.dtype
    return (
        isinstance(dtype, np.dtype)
        and dtype.kind == "M"
        and np.datetime_data(dtype)[0] in _PANDAS_UNITS
    )


def _calendar_parts(d: np.ndarray, parts: list[str]) -> dict[str, np.ndarray]:
    """The calendar features of time-zone-free datetime64 values by NumPy calendar
    arithmetic: the same floats as the ``.dt`` fields of the general path (NaT gives NaN),
    without its pandas objects per field, which cost more than predicting a row. Days
    count from 1970-01-01, a Thursday (day of week 3, Monday being 0); NumPy's unit casts
    and ``%`` round towards minus infinity, so dates before 1970 come out right."""
    nat = np.isnat(d)
    unit = np.datetime_data(d.dtype)[0]
    days = d.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    years = d.astype("datetime64[Y]")
    out: dict[str, np.ndarray] = {}
    for p in parts:
        if p == "year":
            v = years.astype(np.int64) + 1970
        elif p == "month":
            v = months.astype(np.int64) % 12 + 1
        elif p == "day":
            v = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
        elif p == "day_of_week":
            v = (days.astype(np.int64) + 3) % 7
        elif p == "day_of_year":
            v = (days - years.astype("datetime64[D]")).astype(np.int64) + 1
        elif p == "hour":
            v = (d.astype("datetime64[h]") - days).astype(np.int64)
        elif p == "epoch_days":  # pandas' own seconds of the time since 1970, as the frame's
            since = pd.TimedeltaIndex(d - np.datetime64(0, unit))
            v = since.total_seconds().to_numpy(dtype=np.float64) / 86400.0
        else:
            raise ValueError(f"unknown calendar part {p!r}")
        v = v.astype(np.float64)
        v[nat] = np.nan
        out[p] = v
    return out


def _bool_or_number(v: Any) -> Any:
    if v is None or isinstance(v, float) and np.isnan(v):
        return np.nan
    if isinstance(v, bool | np.bool_):
        return float(v)
    if isinstance(v, str):
        low = v.strip().lower()
        if low in {"true", "yes", "t", "y"}:
            return 1.0
        if low in {"false", "no", "f", "n"}:
            return 0.0
    return v
