"""Report benchmark: every dev dataset, one timed run each, every report section checked.

For each task in the dev datasets' ``manifest.json``: ``mlresearcher run DATA --target T
--time-limit L --sensitive C ...`` (the manifest's sensitive columns) in its own process.
Records the process wall time against the limit (the promise: limit + 5 %, or + 2 s), the
analysis stage's and the report's own seconds, which sections ``analysis.json`` holds,
what the analysis left out for time, the null-check verdict, flagged fairness columns and
the size of ``report.html``. Writes one JSON line per dataset to ``--out`` and prints a
Markdown table. Usage::

    .venv/bin/python benchmarks/report_sections.py --time-limit 30 --out benchmarks/results/report_30.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = (
    "comparison",
    "null_check",
    "learning_curve",
    "importance",
    "shap",
    "partial_dependence",
    "calibration",
    "confusion",
    "residuals",
    "error_slices",
    "fairness",
)


def datasets_dir() -> Path:
    if os.environ.get("MLRESEARCHER_DATASETS"):
        return Path(os.environ["MLRESEARCHER_DATASETS"])
    for parent in HERE.parents:
        if (parent / "shared" / "datasets" / "manifest.json").exists():
            return parent / "shared" / "datasets"
    return Path("/work/shared/datasets")


def one(entry: dict, data: Path, limit: float, n_jobs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        args = ["run", str(data), "--target", entry["target"], "--time-limit", str(limit)]
        for col in entry.get("sensitive_columns") or []:
            args += ["--sensitive", col]
        args += ["--n-jobs", str(n_jobs), "--out", tmp, "--json"]
        t0 = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-m", "mlresearcher.cli", *args],
            capture_output=True,
            text=True,
            timeout=limit * 3 + 120,
        )
        wall = time.perf_counter() - t0
        row: dict = {"dataset": entry["name"], "limit": limit, "wall": round(wall, 2)}
        if r.returncode != 0:
            row["error"] = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed"
            return row
        summary = json.loads(r.stdout)
        run_dir = Path(summary["run_dir"])
        a = json.loads((run_dir / "analysis.json").read_text())
        timings = summary.get("timings", {})
        applicable = [
            s
            for s in SECTIONS
            if not (s in ("calibration", "confusion") and summary["task"] == "regression")
            and not (s == "residuals" and summary["task"] != "regression")
            and not (s == "fairness" and not entry.get("sensitive_columns"))
        ]
        present = [s for s in applicable if a.get(s)]
        row.update(
            task=summary["task"],
            n_trials=summary["n_trials"],
            within_promise=wall <= max(limit * 1.05, limit + 2.0),
            analysis_s=timings.get("analysis"),
            report_s=timings.get("report"),
            sections=f"{len(present)}/{len(applicable)}",
            missing=[s for s in applicable if s not in present],
            shap=(a.get("shap") or {}).get("available"),
            null_alarm=(a.get("null_check") or {}).get("alarm"),
            fairness_flagged=(a.get("fairness") or {}).get("flagged"),
            skipped=a.get("skipped"),
            html_kb=round((run_dir / "report.html").stat().st_size / 1024),
        )
        return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--datasets", help="comma-separated dataset names (default: all)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    d = datasets_dir()
    manifest = json.loads((d / "manifest.json").read_text())
    names = set(args.datasets.split(",")) if args.datasets else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for entry in manifest:
        if names and entry["name"] not in names:
            continue
        row = one(entry, d / entry["file"], args.time_limit, args.n_jobs)
        rows.append(row)
        with args.out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(
        "| dataset | task | wall s (limit) | analysis s | report s | sections | SHAP | null alarm | fairness flagged | left out |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['dataset']} | error: {r['error']} |")
            continue
        print(
            f"| {r['dataset']} | {r['task']} | {r['wall']} ({r['limit']:g}) | {r['analysis_s']} "
            f"| {r['report_s']} | {r['sections']} | {r['shap']} | {r['null_alarm']} "
            f"| {', '.join(r['fairness_flagged'] or []) or '-'} | {len(r['skipped'] or [])} |"
        )


if __name__ == "__main__":
    main()
