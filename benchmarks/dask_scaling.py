"""Trials per minute on a Dask cluster with 1 and 2 workers, beside the in-process default.

    .venv/bin/python benchmarks/dask_scaling.py [--seconds 90] [--dataset credit_scoring]

Each configuration runs the same time-limited campaign (same data, seed and families;
``--n-jobs 1`` so a worker is one core) and counts finished trials (complete or pruned) per
minute of search. Workers are local processes (``--cluster local:N``); the scheduler and
client share the same cores, so on a 2-core machine 2 workers is the ceiling. Prints one
JSON line per configuration and a table at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=90)
    ap.add_argument("--dataset", default="credit_scoring")
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--families", default="lightgbm,linear,hist_gb,xgboost,random_forest")
    args = ap.parse_args()
    from conftest import load_dataset

    from mlresearcher.engine import RunConfig, run

    df, entry = load_dataset(args.dataset, n=args.rows)
    y = df.pop(entry["target"])
    rows = []
    for cluster in (None, "local:1", "local:2"):
        config = RunConfig(
            time_limit=args.seconds,
            seed=0,
            families=args.families.split(","),
            n_jobs=1,
            cluster=cluster,
        )
        t0 = time.monotonic()
        rr = run(df, y, config)
        wall = time.monotonic() - t0
        trials = rr.campaign.trials
        done = [t for t in trials if t.status in ("complete", "pruned")]
        search_s = max(t.finished_at for t in trials) - min(t.started_at for t in trials)
        row = {
            "executor": cluster or "in-process",
            "trials_finished": len(done),
            "trials_failed": sum(t.status == "failed" for t in trials),
            "search_seconds": round(search_s, 1),
            "trials_per_minute": round(60 * len(done) / search_s, 2),
            "best_score": round(rr.best_score, 5),
            "wall_seconds": round(wall, 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    base = table.loc[table["executor"] == "local:1", "trials_per_minute"].iloc[0]
    table["vs 1 worker"] = (table["trials_per_minute"] / base).round(2)
    print(f"\n{args.dataset} ({len(df)} rows), {args.seconds:.0f} s per run, cpus={os.cpu_count()}")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
