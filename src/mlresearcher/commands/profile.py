"""``mlresearcher profile DATA [--target T] [--test TEST]``: what the data is like.

Prints the findings (most severe first) with their evidence and suggested action;
``--json`` prints the whole profile, ``--out FILE`` writes it as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "profile",
        help="profile a dataset: quality, leakage suspects, associations, shift",
        description="Profile a dataset: column statistics and findings (quality, leakage "
        "suspects, associations with the target, personal data, train/test shift).",
    )
    p.add_argument("data", help="data file: CSV/TSV, Parquet, JSON Lines or Feather")
    p.add_argument("--target", "-t", help="the column to predict (enables the target checks)")
    p.add_argument("--test", metavar="FILE", help="test data: adds train/test shift checks")
    p.add_argument(
        "--time",
        metavar="COL",
        help="the prediction-time column: datetime columns later than it are leakage suspects",
    )
    p.add_argument(
        "--task",
        choices=["binary", "multiclass", "regression", "classification"],
        help="override the inferred task",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the row samples (default 0)")
    p.add_argument("--json", action="store_true", help="print the whole profile as JSON")
    p.add_argument("--out", metavar="FILE", help="also write the profile as JSON to FILE")
    p.set_defaults(handler=cmd_profile)


def cmd_profile(args: argparse.Namespace, argv: list[str]) -> int:
    from mlresearcher.data.io import read_table
    from mlresearcher.errors import UserError
    from mlresearcher.profile import profile_table
    from mlresearcher.store.rundir import _json_default

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() != ".json":
        raise UserError(f"--out must name a .json file, got {str(out)!r}")
    df = read_table(args.data)
    test = read_table(args.test) if args.test else None
    prof = profile_table(
        df, args.target, test=test, time_column=args.time, task=args.task, seed=args.seed
    )
    doc = prof.to_dict()
    text = json.dumps(doc, indent=2, default=_json_default)
    if out is not None:
        from mlresearcher.store.atomic import write_text

        try:
            write_text(out, text + "\n")
        except OSError as e:
            raise UserError(
                f"cannot write {str(out)!r}: {e.strerror or e}; choose another --out"
            ) from e
    if args.json:
        print(text)
    else:
        _print_findings(prof, args.data)
        if out is not None:
            print(f"wrote the profile to {out}", file=sys.stderr)
    return 0


def _print_findings(prof: Any, source: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]{source}[/]: {prof.n_rows:,} rows x {prof.n_columns} columns"
        + (f"; target {prof.target['name']!r} ({prof.target['task']})" if prof.target else "")
        + f"; profiled in {sum(prof.timings.values()):.2f}s"
    )
    style = {"critical": "bold red", "warning": "yellow", "info": "dim"}
    t = Table(title=f"{len(prof.findings)} findings", show_lines=False)
    for col in ("severity", "finding", "suggested action"):
        t.add_column(col, overflow="fold")
    for f in prof.findings:
        t.add_row(f"[{style.get(f.severity, '')}]{f.severity}[/]", f.message, f.action or "")
    console.print(t)
