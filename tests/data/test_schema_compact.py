"""String conversion, prepared features and their compact form on large data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_dataset

from mlresearcher.data.compact import compact_features
from mlresearcher.data.schema import (
    _string_values,
    build_schema,
    infer_roles,
    prepare_features,
    string_codes,
)
from mlresearcher.models.preprocess import as_categories, as_level_strings


def _one_by_one(s: pd.Series) -> list:
    """The reference conversion: every value on its own, ``None`` for missing."""
    return [None if pd.isna(v) else (v if isinstance(v, str) else str(v)) for v in s]


COLUMNS = {
    "categorical": pd.Series(pd.Categorical(["b", None, "a", "b", "c"])),
    "numeric categories": pd.Series(pd.Categorical([1, 2, None, 2, 10])),
    "str": pd.Series(["x", None, "y", "x", "z"], dtype="str"),
    "object strings": pd.Series(["x", None, "y", np.nan, "x"], dtype=object),
    # values that compare equal but print differently must stay apart
    "mixed objects": pd.Series([1, 1.0, True, "1", None], dtype=object),
    "floats": pd.Series([0.5, np.nan, 1.0, 0.5, 2.0]),
    "all missing": pd.Series(pd.Categorical([None, None, None], categories=[])),
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_string_values_convert_each_value_as_written(name):
    s = COLUMNS[name]
    codes, levels = string_codes(s)
    got = [None if c < 0 else levels[c] for c in codes]
    assert got == _one_by_one(s)
    assert all(type(v) is str for v in got if v is not None)
    assert [None if pd.isna(v) else v for v in _string_values(s)] == _one_by_one(s)


@pytest.mark.parametrize("name", list(COLUMNS))
def test_as_categories_reads_every_representation_alike(name):
    s = COLUMNS[name]
    out = as_categories(s.to_frame())[:, 0]
    want = _one_by_one(s)
    assert [None if isinstance(v, float) and np.isnan(v) else v for v in out] == want
    assert list(as_level_strings(s.to_frame())[:, 0]) == [
        "__missing__" if v is None else v for v in want
    ]


def _compact_reference(Xp: pd.DataFrame, schema) -> pd.DataFrame:
    """Category columns as ``pd.Categorical`` of their strings, floats as float32 if exact."""
    out = {}
    for c in Xp.columns:
        v = Xp[c]
        if schema.feature_roles[c] in ("categorical", "high_cardinality"):
            out[c] = pd.Categorical(v.to_numpy(dtype=object))
        elif v.dtype == np.float64:
            v32 = v.to_numpy().astype(np.float32)
            exact = np.array_equal(v32.astype(np.float64), v.to_numpy(), equal_nan=True)
            out[c] = v32 if exact else v.to_numpy()
        else:
            out[c] = v
    return pd.DataFrame(out)


@pytest.mark.parametrize("dataset", ["gss_happiness", "police_stop_search", "diamond_price"])
def test_compact_frame_holds_the_prepared_values(dataset):
    df, entry = load_dataset(dataset, n=5000)
    X = df.drop(columns=[entry["target"]])
    schema = build_schema(X, infer_roles(X)[0])
    Xp = prepare_features(X, schema)
    want = _compact_reference(Xp, schema)
    direct = prepare_features(X, schema, compact=True)
    pd.testing.assert_frame_equal(direct, want)
    pd.testing.assert_frame_equal(compact_features(Xp, schema), want)
    cats = schema.features_with("categorical", "high_cardinality")
    assert cats and all(isinstance(direct[c].dtype, pd.CategoricalDtype) for c in cats)
    # the families read the compact frame as the ordinary one
    a, b = as_categories(Xp[cats]), as_categories(direct[cats])
    assert pd.DataFrame(a).equals(pd.DataFrame(b))


def test_compact_categories_merge_levels_that_print_alike():
    X = pd.DataFrame({"c": pd.Series([1, "1", 2.5, None, "b"] * 10, dtype=object)})
    schema = build_schema(X, infer_roles(X)[0])
    col = prepare_features(X, schema, compact=True)["c"]
    assert list(col.cat.categories) == ["1", "2.5", "b"]
    assert [None if pd.isna(v) else v for v in col] == ["1", "1", "2.5", None, "b"] * 10


def test_compact_categories_are_the_levels_that_occur():
    raw = pd.Categorical(["a", "b", None, "a"], categories=["z", "b", "a"])
    X = pd.DataFrame({"c": pd.Series(list(raw) * 10, dtype=raw.dtype)})
    schema = build_schema(X, infer_roles(X)[0])
    col = prepare_features(X, schema, compact=True)["c"]
    assert list(col.cat.categories) == ["a", "b"]


def test_a_few_rows_are_prepared_exactly_as_in_a_large_batch():
    from mlresearcher.data.schema import FEW_ROWS, prepare_arrays

    n = 3 * FEW_ROWS
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "f": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "i": rng.integers(0, 9, n),
            "nullable": pd.array(
                np.where(rng.random(n) < 0.2, None, rng.integers(0, 5, n)), "Int64"
            ),
            "inf": np.where(rng.random(n) < 0.1, np.inf, rng.normal(size=n)),
            "b": rng.random(n) < 0.5,
            "s": pd.Series(rng.choice(["a", "b", None], n), dtype="str"),
            "obj": pd.Series(rng.choice([1, 2.5, "x", None], n), dtype=object),
            "cat": pd.Categorical(rng.choice([1.0, 2.0, np.nan], n)),
            "y": rng.integers(0, 2, n),
        }
    )
    infos, _ = infer_roles(df.drop(columns="y"))
    schema = build_schema(df, infos)
    full = prepare_arrays(df, schema)
    for i in range(0, n, 7):
        one = prepare_arrays(df.iloc[[i]], schema)
        for c, v in full.items():
            expected, got = v[i : i + 1], one[c]
            assert got.dtype == expected.dtype, c
            if got.dtype == object:
                assert list(got) == list(expected), (c, i)
            else:
                np.testing.assert_array_equal(got, expected, err_msg=f"{c} row {i}")


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_calendar_features_of_a_few_rows_equal_those_of_a_large_batch(unit):
    """A few rows' calendar features come from NumPy date arithmetic, a large batch's from
    pandas' ``.dt`` fields: the same floats, for dates before and after 1970, at any hour,
    with sub-second parts and missing times."""
    from mlresearcher.data.schema import FEW_ROWS, prepare_arrays

    n = 3 * FEW_ROWS
    rng = np.random.default_rng(2)
    ticks = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    seconds = rng.integers(-80 * 365 * 86400, 80 * 365 * 86400, n)  # 1890 to 2050
    values = seconds * ticks + rng.integers(0, ticks, n)
    times = values.astype(f"datetime64[{unit}]")
    times[rng.random(n) < 0.1] = np.datetime64("NaT")
    times[:4] = np.array(["1969-12-31T23:59:59", "1970-01-01", "2000-02-29T12:00", "1900-03-01"])
    df = pd.DataFrame({"t": times, "x": rng.normal(size=n), "y": rng.integers(0, 2, n)})
    assert df["t"].dtype == np.dtype(f"datetime64[{unit}]")
    schema = build_schema(df, infer_roles(df.drop(columns="y"))[0])
    assert "t__hour" in schema.feature_roles and "t__epoch_days" in schema.feature_roles
    full = prepare_arrays(df, schema)
    for i in list(range(8)) + list(range(8, n, 5)):
        one = prepare_arrays(df.iloc[[i]], schema)
        for c, v in full.items():
            np.testing.assert_array_equal(one[c], v[i : i + 1], err_msg=f"{c} row {i}")
    some = prepare_arrays(df.iloc[: FEW_ROWS - 1], schema)
    for c, v in full.items():
        np.testing.assert_array_equal(some[c], v[: FEW_ROWS - 1], err_msg=c)


def test_a_few_rows_without_pandas_internals_are_prepared_alike(monkeypatch):
    """The column arrays come from pandas' internal iterator; without it (another pandas)
    the public route gives the same prepared values."""
    from mlresearcher.data.io import column_arrays
    from mlresearcher.data.schema import prepare_arrays

    df = pd.DataFrame(
        {
            "f": [1.5, np.nan, np.inf],
            "i": [1, 2, 3],
            "nullable": pd.array([1, None, 3], "Int64"),
            "s": pd.Series(["a", None, "b"], dtype="str"),
            "cat": pd.Categorical(["x", "y", None]),
            "y": [0, 1, 0],
        }
    )
    schema = build_schema(df, infer_roles(df.drop(columns="y"))[0])
    inside = prepare_arrays(df, schema)
    arrays = column_arrays(df)
    monkeypatch.delattr(pd.DataFrame, "_iter_column_arrays")
    public = column_arrays(df)
    assert [type(a) for a in public] == [type(a) for a in arrays]
    for a, b in zip(arrays, public, strict=True):
        assert list(pd.isna(a)) == list(pd.isna(b))
    outside = prepare_arrays(df, schema)
    assert list(inside) == list(outside)
    for c, v in inside.items():
        assert outside[c].dtype == v.dtype, c
        assert [str(x) for x in outside[c]] == [str(x) for x in v], c
