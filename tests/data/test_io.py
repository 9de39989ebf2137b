"""Reading files: formats, sniffed delimiters and encodings, and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlresearcher.data.io import read_table, to_frame
from mlresearcher.errors import DataError

FRAME = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, None, 1.5]})


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_delimiter_is_sniffed(tmp_path, sep):
    p = tmp_path / "d.csv"
    FRAME.to_csv(p, sep=sep, index=False)
    df = read_table(p)
    assert list(df.columns) == ["a", "b", "c"]
    assert df["a"].tolist() == [1, 2, 3]
    assert np.isnan(df["c"][1])


def test_latin1_csv_is_decoded(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes("name,city\nJosé,Zürich\nAnaïs,Besançon\n".encode("latin-1"))
    df = read_table(p)
    assert df["name"].tolist() == ["José", "Anaïs"]
    assert df["city"].tolist() == ["Zürich", "Besançon"]


def test_utf8_bom_is_removed(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes("\ufeffa,b\n1,2\n".encode())
    assert list(read_table(p).columns) == ["a", "b"]


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".feather", ".tsv", ".csv.gz"])
def test_formats_round_trip(tmp_path, suffix):
    p = tmp_path / f"d{suffix}"
    if suffix == ".parquet":
        FRAME.to_parquet(p)
    elif suffix == ".jsonl":
        FRAME.to_json(p, orient="records", lines=True)
    elif suffix == ".feather":
        FRAME.to_feather(p)
    elif suffix == ".tsv":
        FRAME.to_csv(p, sep="\t", index=False)
    else:
        FRAME.to_csv(p, index=False, compression="gzip")
    df = read_table(p)
    assert df["b"].tolist() == ["x", "y", "z"]
    assert df["a"].tolist() == [1, 2, 3]


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "nope.csv")


def test_unknown_format_is_a_clear_error(tmp_path):
    p = tmp_path / "d.xlsx"
    p.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match="unknown file format '.xlsx'"):
        read_table(p)


def test_corrupt_parquet_is_a_clear_error(tmp_path):
    p = tmp_path / "d.parquet"
    p.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read .* as Parquet"):
        read_table(p)


def test_duplicate_columns_are_rejected(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(DataError, match="duplicate column names.*'a'"):
        read_table(p)


def test_empty_file_is_rejected(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("")
    with pytest.raises(DataError, match="empty"):
        read_table(p)


def test_in_memory_inputs_agree():
    import polars as pl

    expected = to_frame(FRAME)
    for obj in (pl.from_pandas(FRAME), pa.Table.from_pandas(FRAME)):
        got = to_frame(obj)
        assert list(got.columns) == ["a", "b", "c"]
        assert got["b"].tolist() == expected["b"].tolist()
    arr = to_frame(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert list(arr.columns) == ["x0", "x1"]
