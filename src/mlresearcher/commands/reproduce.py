"""``mlresearcher reproduce RUN [--data FILE] [--out DIR]``: re-execute a run and compare.

Exit codes: 0 when the leaderboard and the predictions match the original run exactly,
1 when they do not, 2 on a user error (unknown run, changed data, modified run files).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "reproduce",
        help="re-execute a run from its manifest and check that the results match",
        description="Re-execute a finished run with its recorded configuration on the same "
        "data (its fingerprint is checked first) and report whether the leaderboard and "
        "the predictions match. Runs with --max-trials and no --time-limit must match exactly.",
    )
    p.add_argument("run", help="run directory (runs/<run-id>) or a run id under --runs")
    p.add_argument(
        "--data", metavar="FILE", help="the run's data, when the recorded file has moved"
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="runs folder for the re-executed run (default: the original run's folder)",
    )
    p.add_argument(
        "--runs",
        default="runs",
        metavar="DIR",
        help="runs folder to resolve a run id (default ./runs)",
    )
    p.add_argument(
        "--store",
        metavar="URL",
        help="store URL for the new run (default sqlite:///OUT/mlresearcher.db)",
    )
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(handler=cmd_reproduce)


def cmd_reproduce(args: argparse.Namespace, argv: list[str]) -> int:
    from mlresearcher.cli import _store
    from mlresearcher.errors import UserError
    from mlresearcher.reproduce import reproduce
    from mlresearcher.store.rundir import resolve_run_dir

    run_dir = resolve_run_dir(args.run, args.runs)
    out = Path(args.out) if args.out else run_dir.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(
            f"cannot create the runs folder {str(out)!r}: {e.strerror or e}; choose another --out"
        ) from e
    rep = reproduce(
        run_dir,
        data=args.data,
        out_dir=out,
        store=_store(str(out), args.store),
        command="mlresearcher " + shlex.join(argv),
    )
    if args.json:
        print(json.dumps(rep.to_dict(), default=str))
    else:
        _print(rep)
    return 0 if rep.matches else 1


def _print(rep: Any) -> None:
    def mark(ok: bool) -> str:
        return "match" if ok else "DIFFER"

    print(f"reproduced run {rep.original_run_id} as {rep.new_run_id} ({rep.new_run_dir})")
    print(f"data: {rep.data_source} (fingerprint {rep.data_hash[:16]}... verified)")
    print(f"leaderboard: {mark(rep.leaderboard_match)}", end="")
    if rep.leaderboard_differences:
        print(f" ({len(rep.leaderboard_differences)} differing cells, first:", end=" ")
        d = rep.leaderboard_differences[0]
        print(f"row {d['row']} {d['column']}: {d['original']!r} -> {d['new']!r})", end="")
    print()
    print(
        f"out-of-fold predictions: {mark(rep.oof_match)} "
        f"(max abs difference {rep.oof_max_abs_difference:.3g})"
    )
    print(
        f"model predictions on the data: {mark(rep.predictions_match)} "
        f"(max abs difference {rep.prediction_max_abs_difference:.3g})"
    )
    print(
        f"best: {rep.original_best.get('model')} = {rep.original_best.get('score')} originally, "
        f"{rep.new_best.get('model')} = {rep.new_best.get('score')} now"
    )
    if not rep.matches and not rep.deterministic:
        print(
            "note: the run had a time limit, so how many trials finished depends on the "
            "machine's speed; for an exact reproduction, run with --max-trials and no --time-limit",
            file=sys.stderr,
        )
    print("REPRODUCED" if rep.matches else "NOT REPRODUCED")
