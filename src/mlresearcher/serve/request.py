"""The prediction request, derived from the training schema, and its validation.

A request carries rows in one of two shapes:

* ``{"records": [{"col": value, ...}, ...]}``: one object per row;
* ``{"columns": {"col": [value, ...], ...}}``: one array per column, all the same length.

Every input column the model was trained on is a required key; its value may be
``null`` (missing, handled as in training). Numeric columns take numbers (numeric
strings are converted); categorical, high-cardinality, text and datetime columns take
strings (a category never seen in training is treated like a missing one; a date that
does not parse becomes missing, as in training). Other keys are ignored and reported.

Validation runs in pydantic-core on the raw bytes (one pass, no intermediate objects),
and its errors are turned into one-line messages that name the column (and the row).
Before it, :func:`rows_past_limit` counts the rows in the raw bytes, without building
them: a body over the row limit is refused (413) at the cost of a byte scan, where
validating it would build every row first (a 64 MiB body of tiny rows: millions of
objects, seconds and gigabytes; ``benchmarks/serve_limits.py`` measures both).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlresearcher.data.schema import Schema

#: JSON types per column role, with a description for the OpenAPI schema
_ROLE_TYPES: dict[str, tuple[Any, str]] = {
    "numeric": (float, "number (null when missing)"),
    "categorical": (str, "category (null when missing; unseen levels are treated as missing)"),
    "high_cardinality": (str, "category with many levels (null when missing)"),
    "text": (str, "free text (null when missing)"),
    "datetime": (str, "date or date-time, e.g. 2024-05-31T12:00:00 (null when missing)"),
}


class RequestError(Exception):
    """A request the server rejects: an HTTP status and a one-line detail."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []


@dataclass
class ParsedRequest:
    columns: dict[str, list[Any]]  # every input column, n values each
    n_rows: int
    ignored: list[str] = field(default_factory=list)


class RequestModel:
    """The request shape for one training schema: validator and OpenAPI JSON schema."""

    def __init__(self, schema: Schema, *, max_rows: int):
        from typing import Annotated

        from pydantic import ConfigDict, Field, TypeAdapter, with_config

        # typing_extensions' TypedDict: pydantic needs it before Python 3.12
        from typing_extensions import TypedDict

        self.schema = schema
        self.max_rows = max_rows
        self.roles = {c.name: c.role for c in schema.columns}
        self.inputs = schema.input_columns
        self._input_set = frozenset(self.inputs)
        row_fields: dict[str, Any] = {}
        column_fields: dict[str, Any] = {}
        for name in self.inputs:
            py, desc = _ROLE_TYPES[self.roles[name]]
            row_fields[name] = Annotated[py | None, Field(description=desc)]
            column_fields[name] = Annotated[
                list[py | None],
                Field(description=f"{desc}, one value per row"),
            ]
        allow = ConfigDict(extra="allow")
        Row = with_config(allow)(TypedDict("Row", row_fields))  # type: ignore[operator]
        Columns = with_config(allow)(TypedDict("Columns", column_fields))  # type: ignore[operator]
        Request = with_config(ConfigDict(extra="forbid"))(
            TypedDict(  # type: ignore[operator]
                "PredictRequest",
                {
                    "records": Annotated[
                        list[Row],
                        Field(description="rows as objects; give this or `columns`"),
                    ],
                    "columns": Annotated[
                        Columns,
                        Field(description="rows as one array per column; give this or `records`"),
                    ],
                },
                total=False,
            )
        )
        self.adapter = TypeAdapter(Request)

    def json_schema(self) -> dict[str, Any]:
        """The request's JSON schema, definitions under ``#/components/schemas``."""
        return self.adapter.json_schema(ref_template="#/components/schemas/{model}")

    def parse(self, body: bytes) -> ParsedRequest:
        """Validated columns from a request body; :class:`RequestError` when it is unusable."""
        from pydantic import ValidationError

        if not body.strip():
            raise RequestError(400, "empty request body; send JSON with `records` or `columns`")
        past = rows_past_limit(body, self.max_rows, self._input_set)
        if past is not None:
            n, exact = past
            raise RequestError(
                413,
                f"the request has {'' if exact else 'at least '}{n:,} rows, more than the limit "
                f"of {self.max_rows:,}; split it into smaller batches",
            )
        try:
            data = self.adapter.validate_json(body)
        except ValidationError as e:
            raise self._error(e) from None
        except (ValueError, RecursionError) as e:  # deeply nested or otherwise unparsable
            raise RequestError(400, f"malformed JSON: {e}") from None
        if ("records" in data) == ("columns" in data):
            raise RequestError(
                422, "give exactly one of `records` (a list of rows) or `columns` (column arrays)"
            )
        if "records" in data:
            records = data["records"]
            n = len(records)
            _check_not_empty(n)
            columns = {c: [r[c] for r in records] for c in self.inputs}
            keys: set[str] = set()
            for r in records:
                if len(r) > len(self.inputs):
                    keys.update(r)
        else:
            cols = data["columns"]
            lengths = {len(cols[c]) for c in self.inputs}
            if len(lengths) > 1:
                raise RequestError(
                    422,
                    "the arrays in `columns` differ in length "
                    f"({', '.join(f'{c}: {len(cols[c])}' for c in self.inputs[:5])}); "
                    "give one value per row in every column",
                )
            n = lengths.pop() if lengths else 0
            _check_not_empty(n)
            columns = {c: cols[c] for c in self.inputs}
            keys = set(cols)
        ignored = sorted(k for k in keys if k not in columns)
        return ParsedRequest(columns, n, ignored)

    def _error(self, e: Any) -> RequestError:
        errors = e.errors(include_url=False, include_input=False)
        if any(err["type"] in ("json_invalid", "json_type") for err in errors):
            msg = errors[0].get("msg", "invalid JSON")
            return RequestError(400, f"malformed JSON: {msg}")
        missing: list[str] = []
        details: list[dict[str, Any]] = []
        for err in errors:
            loc = list(err.get("loc", ()))
            column, row = _column_and_row(loc)
            if err["type"] == "missing" and column is not None and column in self.roles:
                if column not in missing:
                    missing.append(column)
                continue
            details.append(
                {"column": column, "row": row, "location": loc, "message": err.get("msg", "")}
            )
        if missing:
            shown = ", ".join(repr(c) for c in missing[:10]) + (" ..." if len(missing) > 10 else "")
            return RequestError(
                422,
                f"missing required column(s): {shown}; send every input column "
                "(null for a missing value)",
                [{"column": c, "message": "required column missing"} for c in missing],
            )
        first = details[0] if details else {"column": None, "message": str(e)}
        where = (
            f"column {first['column']!r}"
            + (f" (row {first['row']})" if first["row"] is not None else "")
            if first["column"] is not None
            else "the request body"
        )
        return RequestError(422, f"invalid value in {where}: {first['message']}", details[:20])


def _check_not_empty(n: int) -> None:
    if n == 0:
        raise RequestError(422, "the request has no rows; send at least one")


#: bytes of the body scanned at a time by :func:`rows_past_limit`: its memory is a few
#: times this, whatever the body's size
SCAN_BYTES = 1 << 19
_QUOTE, _BACKSLASH, _ARRAY, _OBJECT = ord('"'), ord("\\"), ord("["), ord("{")
_OPEN, _CLOSE, _COMMA = 1, 2, 3
#: ``bytes.translate`` table: the structural bytes as the kinds above, every other byte 0
_KINDS = {b"[": _OPEN, b"{": _OPEN, b"]": _CLOSE, b"}": _CLOSE, b",": _COMMA}
_TOKENS = bytes(_KINDS.get(bytes([b]), 0) for b in range(256))


def rows_past_limit(body: bytes, limit: int, columns: Collection[str]) -> tuple[int, bool] | None:
    """``(rows, exact)`` when the request body holds more than ``limit`` (at least 1) rows,
    else ``None``.

    Rows are the elements of an array value of the top-level object (``records``) or of
    an array under one of ``columns`` in an object value (``columns``; other keys there
    are ignored columns, which may be any length). They are counted as the commas at that
    array's own depth, outside strings, from the raw bytes in blocks of
    :data:`SCAN_BYTES` with numpy: no object is built, and the scan stops in the block
    where a count passes ``limit`` (``exact`` is then whether that was the last block).
    A body with fewer commas than ``limit`` cannot hold such an array and is not scanned.
    Malformed JSON is left to the parser: whatever this counts for it, it builds nothing.
    """
    if not _has_commas(body, limit):
        return None
    data = np.frombuffer(body, dtype=np.uint8)
    size = len(data)
    in_string = False
    depth = 0
    # per level (2: a top-level value, 3: a value inside one), the container open at the
    # end of the last block: the commas seen in it so far, and the byte it opened at (-1:
    # none, or one whose commas are not counted)
    carried = {2: (0, -1), 3: (0, -1)}
    start = 0
    while start < size:
        end = min(size, start + SCAN_BYTES)
        while end < size and data[end - 1] == _BACKSLASH:
            end += 1  # a run of backslashes stays in one block
        block = data[start:end]
        quote = block == _QUOTE
        if body.find(b"\\", start, end) != -1:
            slashes = np.flatnonzero(block == _BACKSLASH)
            breaks = np.diff(slashes) != 1
            first, last = slashes[np.r_[True, breaks]], slashes[np.r_[breaks, True]]
            escaped = last[(last - first) % 2 == 0] + 1  # after an odd run of backslashes
            quote[escaped[escaped < len(block)]] = False
        inside = np.logical_xor.accumulate(quote)  # True from an opening quote to its close
        if in_string:
            np.logical_not(inside, out=inside)
        kinds = np.frombuffer(body[start:end].translate(_TOKENS), dtype=np.uint8)
        at = np.flatnonzero(kinds)
        at = at[~inside[at]]
        kind = kinds[at]
        step = (kind == _OPEN).astype(np.int32) - (kind == _CLOSE)
        after = np.cumsum(step, dtype=np.int32) + depth
        before = after - step
        opened = {level: at[(kind == _OPEN) & (before == level - 1)] + start for level in (2, 3)}
        top = [carried[2][1], *opened[2].tolist()]
        if not any(p >= 0 and data[p] == _OBJECT for p in top):
            # no `columns` object here: the values at level 3 are rows, not counted
            del opened[3]
            carried[3] = (0, -1)
        for level, opens in opened.items():
            commas = at[(kind == _COMMA) & (before == level)] + start
            # segment 0 belongs to the container carried in, segment i to the i-th opened
            counts = np.diff(np.r_[0, np.searchsorted(commas, opens), len(commas)])
            counts[0] += carried[level][0]
            where = np.r_[carried[level][1], opens]
            for i in np.flatnonzero(counts >= limit):
                p = int(where[i])
                if p >= 0 and data[p] == _ARRAY and (level == 2 or _key(body, p) in columns):
                    return int(counts[i]) + 1, end == size
            carried[level] = (int(counts[-1]), int(where[-1]))
        if len(after):
            depth = int(after[-1])
        in_string = bool(inside[-1])
        start = end
    return None


def _has_commas(body: bytes, n: int) -> bool:
    """Whether ``body`` holds ``n`` commas, counted in slices that double in size: a large
    body that has them is known from its first slices."""
    seen, low, width = 0, 0, 1 << 16
    while low < len(body):
        seen += body.count(b",", low, low + width)
        if seen >= n:
            return True
        low, width = low + width, width * 2
    return False


_WHITESPACE = b" \t\n\r"


def _key(body: bytes, p: int) -> str | None:
    """The object key of the value that opens at byte ``p``; ``None`` when it has none."""
    colon = p - 1 - _run_before(body, p, _WHITESPACE)
    if colon < 1 or body[colon] != ord(":"):
        return None
    close = colon - 1 - _run_before(body, colon, _WHITESPACE)
    if close < 1 or body[close] != _QUOTE:
        return None
    opening = body.rfind(b'"', 0, close)
    while opening > 0 and _run_before(body, opening, b"\\") % 2:
        opening = body.rfind(b'"', 0, opening)  # an escaped quote inside the key
    if opening < 0:
        return None
    try:
        key = json.loads(body[opening : close + 1])
    except ValueError:
        return None
    return key if isinstance(key, str) else None


def _run_before(body: bytes, i: int, chars: bytes) -> int:
    """How many bytes just before byte ``i`` are all in ``chars`` (windows doubling in
    size: the run's length in C, never a copy of the body)."""
    run, width = 0, 64
    while True:
        low = max(0, i - run - width)
        window = body[low : i - run]
        found = len(window) - len(window.rstrip(chars))
        run += found
        if found < len(window) or low == 0:
            return run
        width *= 2


def _column_and_row(loc: list[Any]) -> tuple[str | None, int | None]:
    """The column (and row) an error location points at, for either request shape."""
    if len(loc) >= 3 and loc[0] == "records" and isinstance(loc[1], int):
        return str(loc[2]), loc[1]
    if len(loc) >= 2 and loc[0] == "columns":
        row = loc[2] if len(loc) >= 3 and isinstance(loc[2], int) else None
        return str(loc[1]), row
    return None, None


__all__ = ["ParsedRequest", "RequestError", "RequestModel", "rows_past_limit"]
