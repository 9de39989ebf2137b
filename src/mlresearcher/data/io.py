"""Reading tables from files and from in-memory objects into pandas.

Files are read with pyarrow (CSV/TSV with a sniffed delimiter and encoding, Parquet,
JSON Lines, Feather/Arrow). In-memory inputs may be pandas, polars or pyarrow tables, or
NumPy arrays. Every failure becomes a one-line :class:`DataError`.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.errors import DataError

CSV_SUFFIXES = {".csv", ".tsv", ".tab", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
ARROW_SUFFIXES = {".feather", ".arrow", ".ipc"}
SUPPORTED = "CSV/TSV (.csv .tsv .txt, optionally .gz), Parquet (.parquet), JSON Lines (.jsonl .json), Feather (.feather)"


def _suffix(path: Path) -> tuple[str, str | None]:
    """The format suffix and compression of ``path`` (``data.csv.gz`` -> ``.csv``, gzip)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {".gz", ".bz2", ".zst"}:
        comp = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}[suffixes[-1]]
        return (suffixes[-2] if len(suffixes) > 1 else ""), comp
    return (suffixes[-1] if suffixes else ""), None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a data file (or a folder of Parquet files) into a DataFrame."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"file not found: {str(path)!r}; check the path")
    if p.is_dir():
        if not any(p.rglob("*.parquet")):
            raise DataError(f"{str(path)!r} is a folder without Parquet files; pass a data file")
        return _read_parquet(p)
    suffix, comp = _suffix(p)
    try:
        if p.stat().st_size == 0:
            raise DataError(f"{str(path)!r} is empty")
        with open(p, "rb"):
            pass
    except PermissionError as e:
        raise DataError(f"cannot read {str(path)!r}: permission denied") from e
    if suffix in PARQUET_SUFFIXES:
        df = _read_parquet(p)
    elif suffix in CSV_SUFFIXES:
        df = _read_csv(p, comp, tab=suffix in {".tsv", ".tab"})
    elif suffix in JSONL_SUFFIXES:
        df = _read_jsonl(p)
    elif suffix in ARROW_SUFFIXES:
        df = _read_arrow(p)
    else:
        raise DataError(
            f"unknown file format {suffix or '(no extension)'!r} for {str(path)!r}; supported: {SUPPORTED}"
        )
    check_columns(df)
    return df


def _read_parquet(p: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        # one file: read directly (a folder needs the dataset reader, a slower import)
        table = pq.read_table(p) if p.is_dir() else pq.ParquetFile(p).read()
    except Exception as e:  # pyarrow raises several types for corrupt files
        raise DataError(f"cannot read {str(p)!r} as Parquet: {_first_line(e)}") from e
    return _arrow_to_pandas(table)


def _read_arrow(p: Path) -> pd.DataFrame:
    import pyarrow.feather as feather

    try:
        return _arrow_to_pandas(feather.read_table(p))
    except Exception as e:
        raise DataError(f"cannot read {str(p)!r} as Feather/Arrow: {_first_line(e)}") from e


def _read_jsonl(p: Path) -> pd.DataFrame:
    import pyarrow.json as pj

    head = p.open("rb").read(64).lstrip()
    if head.startswith(b"["):  # a JSON array of records rather than JSON Lines
        try:
            return pd.read_json(p, orient="records")
        except ValueError as e:
            raise DataError(f"cannot read {str(p)!r} as JSON: {_first_line(e)}") from e
    try:
        return _arrow_to_pandas(pj.read_json(p))
    except Exception as e:
        raise DataError(
            f"cannot read {str(p)!r} as JSON Lines (one JSON object per line): {_first_line(e)}"
        ) from e


def sniff_encoding(sample: bytes) -> str:
    """The text encoding of ``sample``: UTF-8 when it decodes, else charset detection."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        if e.start > len(sample) - 4:  # a multi-byte character cut by the sample's end
            return "utf-8"
    from charset_normalizer import from_bytes

    matches = list(from_bytes(sample))
    if not matches:
        return "cp1252"
    best = min(matches, key=lambda m: m.chaos)
    # Short samples fit several single-byte code pages equally well; prefer Western
    # European (the most common non-UTF-8 encoding of tabular data) when it fits as well.
    western = [m for m in matches if m.encoding in ("cp1252", "latin_1", "iso8859_15")]
    if western and min(m.chaos for m in western) <= best.chaos + 0.01:
        return "cp1252"
    return best.encoding


def sniff_delimiter(text: str, default: str = ",") -> str:
    """The field delimiter of CSV ``text`` among , ; tab and |."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return default
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = Counter({d: lines[0].count(d) for d in ",;\t|"})
        d, c = counts.most_common(1)[0]
        return d if c > 0 else default


def _read_csv(p: Path, compression: str | None, tab: bool) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    raw = pa.input_stream(str(p), compression=compression) if compression else open(p, "rb")
    with raw as f:
        sample = f.read(1 << 16)
    encoding = sniff_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    delimiter = "\t" if tab else sniff_delimiter(text)
    header = next(csv.reader([text.splitlines()[0] if text else ""], delimiter=delimiter), [])
    if len(header) != len(set(header)):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise DataError(
            f"duplicate column names in {str(p)!r}: {', '.join(map(repr, dupes))}; rename them so each is unique"
        )
    try:
        table = pcsv.read_csv(
            p,
            read_options=pcsv.ReadOptions(encoding=encoding.replace("utf-8-sig", "utf8")),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(strings_can_be_null=True),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as e:
        raise DataError(
            f"cannot parse {str(p)!r} as CSV (delimiter {delimiter!r}, encoding {encoding}): {_first_line(e)}"
        ) from e
    return _arrow_to_pandas(table)


def _arrow_to_pandas(table: Any) -> pd.DataFrame:
    names = list(table.column_names)
    if len(names) != len(set(names)):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise DataError(
            f"duplicate column names: {', '.join(map(repr, dupes))}; rename them so each is unique"
        )
    # Strings as Python objects (not pyarrow-backed) and dictionaries as categoricals keep
    # every downstream library on its well-trodden path.
    df = table.to_pandas(strings_to_categorical=False, self_destruct=False)
    for c in df.columns:
        if isinstance(df[c].dtype, pd.StringDtype):
            df[c] = df[c].astype(object)
    return df


def _first_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return msg[0] if msg else type(e).__name__


def check_columns(df: pd.DataFrame, names: list[Any] | None = None) -> None:
    """Reject frames with duplicate column names (``names``: ``list(df.columns)``, when
    the caller already has it)."""
    cols = [str(c) for c in (df.columns if names is None else names)]
    if len(cols) != len(set(cols)):
        dupes = sorted({c for c in cols if cols.count(c) > 1})
        raise DataError(
            f"duplicate column names: {', '.join(map(repr, dupes))}; rename them so each is unique"
        )


def to_frame(X: Any, columns: list[str] | None = None, infer_dtypes: bool = True) -> pd.DataFrame:
    """Any supported in-memory table as a pandas DataFrame with string column names.

    Accepts pandas, polars and pyarrow tables, NumPy arrays (columns named ``x0``, ``x1``,
    ... unless ``columns`` is given) and lists of rows. The columns of an object array get
    their dtype inferred (numbers stored as objects become numeric) unless ``infer_dtypes``
    is False: pass False at prediction, where the schema already fixes each column's role
    and inference from a batch would depend on which rows the batch holds.
    """
    if isinstance(X, pd.DataFrame):
        df = X
    elif isinstance(X, pd.Series):
        df = X.to_frame()
    elif type(X).__module__.startswith("polars"):
        df = X.to_pandas() if hasattr(X, "to_pandas") else pd.DataFrame(X)
    elif type(X).__module__.startswith("pyarrow"):
        df = _arrow_to_pandas(X if hasattr(X, "column_names") else X.to_table())
    else:
        if hasattr(X, "toarray") or hasattr(X, "tocsr"):
            raise DataError("sparse matrices are not supported; pass a dense array or a DataFrame")
        arr = np.asarray(X)
        if arr.ndim == 1:
            raise DataError(
                "X must be 2-dimensional (rows x columns); reshape a single feature with X.reshape(-1, 1)"
            )
        if arr.ndim != 2:
            raise DataError(f"X must be 2-dimensional, got an array with {arr.ndim} dimensions")
        names = columns or [f"x{i}" for i in range(arr.shape[1])]
        df = pd.DataFrame(arr, columns=names)
        if arr.dtype == object and infer_dtypes:
            df = df.infer_objects()
    names = list(df.columns)  # once: iterating a pandas index costs per pass
    if not all(isinstance(c, str) for c in names):
        df = df.rename(columns={c: str(c) for c in names})
    check_columns(df, names)
    return df


def column_arrays(df: pd.DataFrame) -> list[Any]:
    """Each column's values, in column order, as the NumPy array or pandas extension array
    that holds them (no copy).

    ``df[name]`` builds a Series per column, tens of microseconds each: more than the
    arithmetic of a one-row prediction. pandas' internal column iterator gives the arrays
    alone; where it is missing (another pandas), each column's ``.array`` is read by
    position.
    """
    iterate = getattr(df, "_iter_column_arrays", None)
    if iterate is not None:
        try:
            arrays = list(iterate())
            if len(arrays) == df.shape[1]:
                return arrays
        except Exception:  # another pandas' internals: the public route below
            pass
    columns = [df.iloc[:, i] for i in range(df.shape[1])]
    return [c.to_numpy() if isinstance(c.dtype, np.dtype) else c.array for c in columns]


def data_hash(df: pd.DataFrame) -> str:
    """A SHA-256 fingerprint of the frame's columns, dtypes and values (index ignored).

    Columns are taken by position, so a name that occurs twice (an in-memory target named
    like one of the features) is hashed twice rather than breaking the lookup.
    """
    h = hashlib.sha256()
    h.update("|".join(f"{c}:{t}" for c, t in zip(df.columns, df.dtypes, strict=True)).encode())
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        try:
            values = pd.util.hash_pandas_object(col, index=False).to_numpy()
        except TypeError:
            values = pd.util.hash_pandas_object(col.astype(str), index=False).to_numpy()
        h.update(values.tobytes())
    return h.hexdigest()
