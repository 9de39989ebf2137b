"""``mlresearcher report RUN``: regenerate a run's report from its run directory."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="regenerate a run's report (report.html, report.md, model_card.md)",
        description="Render report.html, report.md and model_card.md of a finished run from "
        "its analysis.json, findings.json, manifest.json and profile.json (when present).",
    )
    p.add_argument("run", help="run directory (runs/<run-id>) or a run id under --runs")
    p.add_argument(
        "--runs",
        default="runs",
        metavar="DIR",
        help="runs folder to resolve a run id (default ./runs)",
    )
    p.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace, argv: list[str]) -> int:
    from mlresearcher.errors import UserError
    from mlresearcher.report import write_report
    from mlresearcher.store.rundir import resolve_run_dir

    run_dir = resolve_run_dir(args.run, args.runs)
    try:
        path = write_report(run_dir)
    except OSError as e:
        raise UserError(
            f"cannot write the report into {str(run_dir)!r}: {e.strerror or e}; check permissions"
        ) from e
    print(f"wrote {path} (and report.md, model_card.md)", file=sys.stderr)
    return 0
