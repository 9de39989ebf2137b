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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
            self._check_rows(n)
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
            self._check_rows(n)
            columns = {c: cols[c] for c in self.inputs}
            keys = set(cols)
        ignored = sorted(k for k in keys if k not in columns)
        return ParsedRequest(columns, n, ignored)

    def _check_rows(self, n: int) -> None:
        if n == 0:
            raise RequestError(422, "the request has no rows; send at least one")
        if n > self.max_rows:
            raise RequestError(
                413,
                f"the request has {n:,} rows, more than the limit of {self.max_rows:,}; "
                "split it into smaller batches",
            )

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


def _column_and_row(loc: list[Any]) -> tuple[str | None, int | None]:
    """The column (and row) an error location points at, for either request shape."""
    if len(loc) >= 3 and loc[0] == "records" and isinstance(loc[1], int):
        return str(loc[2]), loc[1]
    if len(loc) >= 2 and loc[0] == "columns":
        row = loc[2] if len(loc) >= 3 and isinstance(loc[2], int) else None
        return str(loc[1]), row
    return None, None


__all__ = ["ParsedRequest", "RequestError", "RequestModel"]
