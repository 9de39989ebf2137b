"""Core campaign benchmark: every dev dataset at a time limit, against family defaults.

For each task in ``../shared/datasets/manifest.json`` (or ``--datasets``):

1. ``mlresearcher run DATA --target T --time-limit L --json`` in its own process; records
   the process wall time (interpreter start and imports included), the best
   cross-validated score, the number of trials and their statuses.
2. Each model family's default configuration on the same folds (same seed and
   protocol): read from the campaign's leaderboard when that trial completed there,
   otherwise run alone with no time limit (``--families F --max-trials 1``). The best of
   these is the "best single default-configured model" the campaign must beat.

Writes one JSON line per dataset to ``--out`` (resumable: finished datasets are skipped)
and prints a Markdown table. Usage::

    .venv/bin/python benchmarks/core_campaign.py --time-limit 60 --out benchmarks/out/core_60.jsonl
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = HERE.parent.parent / "shared" / "datasets"
FAMILIES = [
    "linear",
    "knn",
    "lightgbm",
    "hist_gb",
    "xgboost",
    "extra_trees",
    "random_forest",
    "catboost",
    "mlp",
]


def mlr(*args: str, timeout: float) -> tuple[dict | None, float, str]:
    t0 = time.perf_counter()
    try:
        r = subprocess.run(
            [sys.executable, "-m", "mlresearcher.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0, "timeout"
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        return (
            None,
            wall,
            r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}",
        )
    return json.loads(r.stdout), wall, ""


def better(a: float, b: float, greater: bool) -> bool:
    return a > b if greater else a < b


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("--out", default=str(HERE / "out" / "core.jsonl"))
    ap.add_argument("--datasets", help="comma-separated dataset names (default: all)")
    ap.add_argument(
        "--skip-defaults", action="store_true", help="do not run the per-family defaults"
    )
    ap.add_argument(
        "--reuse-defaults",
        metavar="JSONL",
        help="take defaults that were run alone from an earlier output of this script",
    )
    ap.add_argument(
        "--fresh-defaults",
        default="",
        metavar="FAMILIES",
        help="comma-separated families whose alone-run defaults are never reused",
    )
    args = ap.parse_args()
    manifest = json.loads((DATASETS / "manifest.json").read_text())
    if args.datasets:
        wanted = set(args.datasets.split(","))
        manifest = [e for e in manifest if e["name"] in wanted]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    reused: dict[str, dict] = {}
    if args.reuse_defaults:
        fresh = set(filter(None, args.fresh_defaults.split(",")))
        for ln in Path(args.reuse_defaults).read_text().splitlines():
            r = json.loads(ln)
            reused[r["dataset"]] = {
                f: {**v, "source": "alone (reused)"}
                for f, v in r.get("defaults", {}).items()
                if v.get("source", "").startswith("alone") and f not in fresh
            }
    done = (
        {json.loads(ln)["dataset"] for ln in out.read_text().splitlines()}
        if out.exists()
        else set()
    )
    for e in manifest:
        if e["name"] in done:
            continue
        data = str(DATASETS / e["file"])
        with tempfile.TemporaryDirectory() as tmp:
            res, wall, err = mlr(
                "run",
                data,
                "--target",
                e["target"],
                "--time-limit",
                str(args.time_limit),
                "--out",
                tmp,
                "--json",
                timeout=args.time_limit * 3 + 60,
            )
            row = {
                "dataset": e["name"],
                "task": e["task_type"],
                "time_limit": args.time_limit,
                "wall_time": round(wall, 2),
                "error": err,
            }
            if res:
                statuses: dict[str, int] = {}
                for t in res["leaderboard"]:
                    if t["model"] != "ensemble":
                        statuses[t["status"]] = statuses.get(t["status"], 0) + 1
                row.update(
                    metric=res["metric"],
                    greater_is_better=res["greater_is_better"],
                    best_model=res["best_model"],
                    best_score=res["best_score"],
                    n_trials=res["n_trials"],
                    statuses=statuses,
                    protocol=res["protocol"],
                    final_model=res["final_model"],
                )
            # Each family's default configuration on the same folds: taken from the campaign's
            # own leaderboard when it completed there, else run alone with no time limit.
            defaults = {}
            if res:
                for t in res["leaderboard"]:
                    if t["origin"] == "default" and t["status"] == "complete":
                        defaults[t["family"]] = {"score": t["score"], "source": "campaign"}
            if not args.skip_defaults:
                for fam in FAMILIES:
                    if fam in defaults:
                        continue
                    if fam in reused.get(e["name"], {}):
                        defaults[fam] = reused[e["name"]][fam]
                        continue
                    d, dwall, derr = mlr(
                        "run",
                        data,
                        "--target",
                        e["target"],
                        "--families",
                        fam,
                        "--max-trials",
                        "1",
                        "--out",
                        tmp,
                        "--json",
                        timeout=1800,
                    )
                    defaults[fam] = {
                        "score": d["best_score"] if d else None,
                        "source": "alone",
                        "wall_time": round(dwall, 1),
                        "error": derr,
                    }
            row["defaults"] = defaults
            scored = {f: v["score"] for f, v in defaults.items() if v["score"] is not None}
            if scored and res:
                g = res["greater_is_better"]
                best_fam = max(scored, key=lambda f: scored[f] if g else -scored[f])
                row["best_default_family"] = best_fam
                row["best_default_score"] = scored[best_fam]
                row["beats_best_default"] = better(res["best_score"], scored[best_fam], g)
        with out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
    rows = [json.loads(ln) for ln in out.read_text().splitlines()]
    print(
        f"\n| dataset | metric | best CV score | best default (family) | beats | wall s (limit {args.time_limit:.0f}) | trials |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        bd = (
            f"{r.get('best_default_score', float('nan')):.5g} ({r.get('best_default_family', '-')})"
            if r.get("best_default_score") is not None
            else "-"
        )
        print(
            f"| {r['dataset']} | {r.get('metric', '-')} | {r.get('best_score', float('nan')):.5g} | {bd} | "
            f"{r.get('beats_best_default', '-')} | {r['wall_time']:.1f} | {r.get('n_trials', '-')} |"
        )


if __name__ == "__main__":
    main()
