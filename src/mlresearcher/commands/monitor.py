"""``mlresearcher monitor RUN NEW_DATA``: drift of new data against the run's training data.

Exit codes: 0 no drift, 1 drift (so it can gate a scheduled job), 2 a user error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    from mlresearcher.cli import _positive_float

    p = sub.add_parser(
        "monitor",
        help="check new data for drift against a run's training data (exit 1 on drift)",
        description=(
            "Compare NEW_DATA with the run's training reference: per-feature drift (PSI with "
            "KS or chi-squared), prediction drift and, with --labels, performance. Prints the "
            "JSON report; exit code 0 no drift, 1 drift, 2 error."
        ),
    )
    p.add_argument("run", help="run directory (runs/<run-id>) or a run id under --runs")
    p.add_argument("data", help="new data: CSV/TSV, Parquet, JSON Lines or Feather")
    p.add_argument("--labels", metavar="COL", help="column of NEW_DATA holding the true target")
    p.add_argument("--out", metavar="FILE", help="also write the JSON report to FILE")
    p.add_argument("--html", metavar="FILE", help="write the report as an HTML page")
    p.add_argument(
        "--psi-threshold",
        type=_positive_float,
        default=0.1,
        metavar="X",
        help="PSI at or above which a shift is material (default 0.1)",
    )
    p.add_argument(
        "--alpha",
        type=_unit_interval,
        default=0.01,
        metavar="P",
        help="significance level after Bonferroni adjustment (default 0.01)",
    )
    p.add_argument(
        "--perf-tolerance",
        type=_positive_float,
        default=0.05,
        metavar="FRACTION",
        help="relative shortfall of the metric that counts as degraded (default 0.05)",
    )
    p.add_argument(
        "--runs",
        default="runs",
        metavar="DIR",
        help="runs folder to resolve a run id (default ./runs)",
    )
    p.set_defaults(handler=cmd_monitor)


def _unit_interval(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {s}")
    return v


def _writable(path: str | None) -> Path | None:
    from mlresearcher.errors import UserError

    if path is None:
        return None
    p = Path(path)
    if p.is_dir() or not p.parent.exists() and p.parent != Path(""):
        raise UserError(f"cannot write {str(p)!r}: not a file in an existing folder")
    return p


def _write(path: Path, text: str) -> None:
    from mlresearcher.errors import UserError
    from mlresearcher.store.atomic import write_text

    try:
        write_text(path, text)
    except OSError as e:
        raise UserError(
            f"cannot write {str(path)!r}: {e.strerror or e}; choose another file"
        ) from e


def cmd_monitor(args: argparse.Namespace, argv: list[str]) -> int:
    from mlresearcher.serve.monitor import monitor

    out, html = _writable(args.out), _writable(args.html)
    report = monitor(
        args.run,
        args.data,
        labels=args.labels,
        runs_dir=args.runs,
        psi_threshold=args.psi_threshold,
        alpha=args.alpha,
        perf_tolerance=args.perf_tolerance,
    )
    text = json.dumps(report, indent=2, default=str, allow_nan=True)
    if out is not None:
        _write(out, text + "\n")
    if html is not None:
        from mlresearcher.serve.drift_html import render_html

        _write(html, render_html(report, title=f"Drift report: run {report.get('run_id')}"))
    print(text)
    verdict = "DRIFT: " + "; ".join(report["reasons"]) if report["drift"] else "no drift"
    print(f"mlresearcher monitor: {verdict}", file=sys.stderr)
    return 1 if report["drift"] else 0
