"""What the row limit costs in ``POST /predict``: refusing a body over it, and checking one
within it.

Part 1, a 64 MiB body of tiny rows (``{"x":1}``, about eight million of them) against
the default limit of 50,000 rows: refused by the byte scan (:func:`rows_past_limit`,
what the server does now), and validated by pydantic first (what it did before: the
count came after every row was built). Part 2, bodies within the limit (45,000 rows of
14 columns, both request shapes): the scan that every such body now pays, beside the
validation it precedes (``RequestModel.parse``: both).

Time is the best of ``--repeat`` runs; memory is the peak that tracemalloc sees (Python
and numpy allocations) in a separate run, and the growth of the process's peak resident
size (which also counts pydantic-core's own parse tree).

    .venv/bin/python benchmarks/serve_limits.py            # about a minute on 2 cores
    .venv/bin/python benchmarks/serve_limits.py --mib 16
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
import tracemalloc
from collections.abc import Callable

from mlresearcher.data.schema import ColumnInfo, Schema
from mlresearcher.serve.request import RequestError, RequestModel, rows_past_limit

LIMIT = 50_000


def _model(names: list[str], roles: list[str]) -> RequestModel:
    cols = [ColumnInfo(n, r, "x", 3, 0.0) for n, r in zip(names, roles, strict=True)]
    return RequestModel(Schema(cols, {c.name: c.role for c in cols}), max_rows=LIMIT)


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB


def measure(fn: Callable[[], object], repeat: int) -> tuple[float, int, int]:
    """Best time (s), tracemalloc peak (bytes) and peak-RSS growth (bytes) of ``fn()``."""
    rss = _peak_rss()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    grown = _peak_rss() - rss
    tracemalloc.start()
    try:
        fn()
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return best, traced, grown


def _refuse(model: RequestModel, body: bytes) -> Callable[[], None]:
    def run() -> None:
        try:
            model.parse(body)
        except RequestError as e:
            assert e.status == 413, e.detail
        else:
            raise AssertionError("not refused")

    return run


def _row(rng: random.Random) -> dict:
    levels = ["owner", "rent", "parents", "other", "priv", "ignore"]
    return {
        **{f"num_{j}": round(rng.uniform(0, 5000), 2) for j in range(9)},
        **{f"cat_{j}": rng.choice(levels) for j in range(5)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mib", type=int, default=64, help="size of the tiny-row body (MiB)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs; the best is kept")
    args = ap.parse_args()
    out = []

    tiny_model = _model(["x"], ["numeric"])
    tiny = b'{"records": [' + b",".join([b'{"x":1}'] * (args.mib * 2**20 // 8)) + b"]}"
    refused = measure(_refuse(tiny_model, tiny), args.repeat)  # first: its RSS is not masked
    parsed = measure(lambda: tiny_model.adapter.validate_json(tiny), 1)
    out.append((f"{args.mib} MiB of tiny rows: refused by the scan", refused))
    out.append((f"{args.mib} MiB of tiny rows: validated first (before)", parsed))

    rng = random.Random(0)
    rows = [_row(rng) for _ in range(45_000)]
    names = list(rows[0])
    model = _model(names, ["numeric" if n.startswith("num") else "categorical" for n in names])
    for shape, body in (
        ("records", json.dumps({"records": rows}).encode()),
        ("columns", json.dumps({"columns": {n: [r[n] for r in rows] for n in names}}).encode()),
    ):
        size = f"45,000 rows as {shape} ({len(body) / 2**20:.1f} MiB)"
        out.append(
            (f"{size}: scan", measure(lambda b=body: rows_past_limit(b, LIMIT, names), args.repeat))
        )
        out.append(
            (
                f"{size}: parse (scan, then validation)",
                measure(lambda b=body: model.parse(b), args.repeat),
            )
        )

    print(f"{'':58s} {'time':>9s} {'traced peak':>12s} {'RSS growth':>11s}")
    for name, (seconds, traced, grown) in out:
        print(
            f"{name:58s} {seconds * 1e3:7.1f}ms {traced / 2**20:10.1f}MiB {grown / 2**20:9.0f}MiB"
        )


if __name__ == "__main__":
    main()
