"""The row limit is enforced from the raw bytes, before a single row is built."""

from __future__ import annotations

import json
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlresearcher.serve.request as request_module
from mlresearcher.data.schema import ColumnInfo, Schema
from mlresearcher.serve.request import RequestError, RequestModel, rows_past_limit

# column names that a naive scan would miscount: a comma, a bracket, a quote, a backslash
COLUMNS = ["age", 'a,b"[c', "x\\y"]


def _model(max_rows: int) -> RequestModel:
    cols = [
        ColumnInfo(c, "numeric" if i == 0 else "categorical", "x", 3, 0.0)
        for i, c in enumerate(COLUMNS)
    ]
    return RequestModel(Schema(cols, {c.name: c.role for c in cols}), max_rows=max_rows)


def _row(i: int) -> dict:
    # strings with every character that is structure outside a string
    return {"age": i, 'a,b"[c': '[{"],}', "x\\y": "\\\\\"',"}


def _rows_in(obj: object) -> int:
    """The reference count: the longest array of rows, from the parsed JSON."""
    longest = 0
    for value in obj.values() if isinstance(obj, dict) else []:
        if isinstance(value, list):
            longest = max(longest, len(value))
        if isinstance(value, dict):
            for name, column in value.items():
                if name in COLUMNS and isinstance(column, list):
                    longest = max(longest, len(column))
    return longest


@pytest.mark.parametrize("block", [1, 3, 7, 64, 1 << 19])
def test_counts_rows_of_both_shapes_across_block_boundaries(monkeypatch, block):
    monkeypatch.setattr(request_module, "SCAN_BYTES", block)
    rows = [_row(i) for i in range(6)]
    records = json.dumps({"records": rows}).encode()
    columns = json.dumps({"columns": {c: [r[c] for r in rows] for c in COLUMNS}}).encode()
    for body in (records, columns):
        assert rows_past_limit(body, 6, COLUMNS) is None
        rows, exact = rows_past_limit(body, 5, COLUMNS)
        assert rows == 6 and (exact or block < len(body))


def test_ignored_columns_of_any_length_are_not_rows():
    cols = {c: [r[c] for r in (_row(0), _row(1))] for c in COLUMNS}
    cols |= {"notes": list(range(1000)), "[": list(range(1000))}
    body = json.dumps({"columns": cols}).encode()
    assert rows_past_limit(body, 2, COLUMNS) is None
    assert _model(2).parse(body).n_rows == 2  # and the parse takes it, as before


def test_a_key_written_with_escapes_is_the_same_column():
    body = b'{"columns": {"\\u0061ge": [' + b",".join([b"1"] * 11) + b"]}}"
    assert rows_past_limit(body, 10, COLUMNS) == (11, True)


def test_over_the_limit_is_413_with_one_line_and_the_count():
    body = json.dumps({"records": [_row(i) for i in range(11)]}).encode()
    with pytest.raises(RequestError) as e:
        _model(10).parse(body)
    assert e.value.status == 413
    assert e.value.detail == (
        "the request has 11 rows, more than the limit of 10; split it into smaller batches"
    )
    assert _model(11).parse(body).n_rows == 11


def test_rows_that_fail_validation_still_count():
    """Empty rows would each cost a validation error per column: they are refused first."""
    with pytest.raises(RequestError) as e:
        _model(1000).parse(b'{"records": [' + b",".join([b"{}"] * 5000) + b"]}")
    assert e.value.status == 413 and "\n" not in e.value.detail


def test_a_64_mib_body_of_tiny_rows_is_refused_in_a_few_mib(monkeypatch):
    """Validating such a body builds millions of rows (gigabytes); the scan stops in its
    first block (``benchmarks/serve_limits.py`` prints both side by side)."""
    body = b'{"records": [' + b",".join([b'{"age":1}'] * (64 * 2**20 // 10)) + b"]}"
    tracemalloc.start()
    try:
        with pytest.raises(RequestError) as e:
            _model(50_000).parse(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert e.value.status == 413 and "at least" in e.value.detail
    assert peak < 16 * 2**20, peak


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet='ab,[]{}":\\\n é\u2028', max_size=6),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)
_bodies = st.dictionaries(
    st.sampled_from(["records", "columns", "other", ","]),
    st.one_of(
        st.lists(
            st.one_of(st.dictionaries(st.sampled_from(COLUMNS), _scalars), _values), max_size=12
        ),
        st.dictionaries(
            st.sampled_from([*COLUMNS, "extra", "]"]), st.lists(_values, max_size=12), max_size=5
        ),
        _values,
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    obj=_bodies,
    limit=st.integers(1, 12),
    block=st.sampled_from([1, 2, 5, 64, 1 << 19]),
    indent=st.sampled_from([None, 2]),
    ascii_only=st.booleans(),
)
def test_the_scan_agrees_with_the_parsed_json(obj, limit, block, indent, ascii_only):
    body = json.dumps(obj, indent=indent, ensure_ascii=ascii_only).encode()
    request_module.SCAN_BYTES, saved = block, request_module.SCAN_BYTES
    try:
        found = rows_past_limit(body, limit, COLUMNS)
    finally:
        request_module.SCAN_BYTES = saved
    expected = _rows_in(obj)
    assert (found is not None) == (expected > limit)
    if found is not None:  # the rows of the first array found past the limit
        assert limit < found[0] <= expected
