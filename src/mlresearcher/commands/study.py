"""``mlresearcher study SPEC``: run a declarative study (or a signal study) from YAML.

A study spec (see :mod:`mlresearcher.study.spec`) runs methods x datasets x seeds, stores
every cell as it finishes, resumes where it stopped, and writes tables, statistics, a
critical-difference diagram and an HTML report to ``<out>/<name>/``. A spec with
``kind: signal`` runs a signal study instead (see :mod:`mlresearcher.signal.research`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "study",
        help="run a study (methods x datasets x seeds) or a signal study from a YAML spec",
        description="Run a declarative study from a YAML spec; resumes where it stopped.",
    )
    p.add_argument("spec", help="study spec (YAML)")
    p.add_argument(
        "--out", default="studies", metavar="DIR", help="output folder (default ./studies)"
    )
    p.add_argument(
        "--store",
        metavar="URL",
        help="SQLAlchemy URL of the store (default sqlite:///DIR/mlresearcher.db)",
    )
    p.add_argument("--retry-failed", action="store_true", help="run failed cells again on resume")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing; rebuild the tables and report from the stored cells",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.set_defaults(handler=cmd_study)


def cmd_study(args: argparse.Namespace, argv: list[str]) -> int:
    import yaml

    from mlresearcher.errors import UserError
    from mlresearcher.study.spec import SpecError, load_spec

    log = None if args.quiet else _log
    spec_path = Path(args.spec)
    try:
        raw = yaml.safe_load(spec_path.read_text()) if spec_path.exists() else None
    except yaml.YAMLError:
        raw = None  # load_spec reports it
    out = Path(args.out)
    if isinstance(raw, dict) and raw.get("kind") == "signal":
        from mlresearcher.signal.research import parse_signal_spec, run_signal_study

        sspec = parse_signal_spec(raw, spec_path.parent)
        summary = run_signal_study(sspec, _mkdir(out) / sspec.name, log=log)
        for name, r in summary["methods"].items():
            print(f"{name}: {r['verdict']['text']}")
        print(f"report: {out / sspec.name / 'report.html'}")
        return 0
    if isinstance(raw, dict) and raw.get("kind") not in (None, "study"):
        raise SpecError(f"unknown kind {raw.get('kind')!r}; use study or signal")
    spec = load_spec(spec_path)
    from mlresearcher.cli import _store
    from mlresearcher.study.report import write_outputs
    from mlresearcher.study.runner import run_study
    from mlresearcher.study.store import StudyStore

    _mkdir(out)
    store = StudyStore(_store(str(out), args.store))
    wall = None
    if not args.report_only:
        prog = run_study(spec, store, retry_failed=args.retry_failed, log=log)
        wall = prog.wall_time
    cells = store.cells(spec.name)
    methods = [m["name"] for m in spec.methods]
    keys = {(m, d.name, s) for m in methods for d in spec.datasets for s in spec.seeds}
    cells = [c for c in cells if (c["method"], c["dataset"], c["seed"]) in keys]
    if not cells:
        raise UserError(
            f"study {spec.name!r} has no stored cells yet; run it without --report-only"
        )
    report = write_outputs(out / spec.name, spec.name, cells, methods, spec.alpha, wall)
    md = (out / spec.name / "tables.md").read_text()
    print(md)
    stats_file = out / spec.name / "statistics.json"
    if stats_file.exists():
        import json

        st = json.loads(stats_file.read_text())
        ranks = ", ".join(f"{k} {v:.2f}" for k, v in st["average_ranks"].items())
        fr = st["friedman"]
        line = f"average ranks: {ranks}"
        if fr["p_value"] is not None:
            line += f"; Friedman chi2 = {fr['statistic']:.3f}, p = {fr['p_value']:.4g}; Nemenyi CD = {st['critical_difference']:.3f}"
        print(line)
    print(f"report: {report}")
    return 0


def _mkdir(out: Path) -> Path:
    from mlresearcher.errors import UserError

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(
            f"cannot create the output folder {str(out)!r}: {e.strerror or e}; choose another --out"
        ) from e
    return out


def _log(msg: str) -> None:
    import sys

    print(msg, file=sys.stderr, flush=True)
