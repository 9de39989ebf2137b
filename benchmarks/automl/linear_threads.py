"""BLAS threads for the linear family: ``LinearModel`` fitted on a whole dev table at
``n_jobs=2`` with its BLAS pool at one thread (the family's setting) and at ``n_jobs``
threads, alternating in one run so both share the machine's conditions. Prints the median
wall seconds of each and their ratio, per task and scaling.

    .venv/bin/python benchmarks/automl/linear_threads.py --tasks gss_happiness,police_stop_search
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tasks import default_datasets, load_tasks  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--datasets", default=None)
    ap.add_argument(
        "--tasks", default="gss_happiness,police_stop_search,food_review_sentiment,diamond_price"
    )
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import pandas as pd

    from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
    from mlresearcher.data.task import encode_target
    from mlresearcher.models.linear import LinearModel

    tasks = load_tasks(Path(args.datasets) if args.datasets else default_datasets())
    print("| task | rows | scaling | 1 BLAS thread (s) | 2 BLAS threads (s) | ratio |")
    print("|---|---|---|---|---|---|")
    for task in [t for t in tasks if t.name in args.tasks.split(",")]:
        df = pd.read_parquet(task.path)
        target, keep = encode_target(df[task.target], task.target, None)
        X = df.drop(columns=[task.target]).loc[keep].reset_index(drop=True)
        infos, _ = infer_roles(X)
        schema = build_schema(X, infos)
        Xp = prepare_features(X, schema)
        for scaling in ("standard", "quantile"):
            times: dict[int | None, list[float]] = {1: [], None: []}
            for _ in range(args.repeats):
                for blas in (1, None):
                    model = LinearModel(
                        task=target.task,
                        n_classes=target.n_classes,
                        feature_roles=schema.feature_roles,
                        n_jobs=2,
                        scaling=scaling,
                    )
                    model.blas_threads = blas  # None: the pool at n_jobs threads
                    t0 = time.perf_counter()
                    model.fit(Xp, target.y)
                    times[blas].append(time.perf_counter() - t0)
            one, two = statistics.median(times[1]), statistics.median(times[None])
            print(
                f"| {task.name} | {len(Xp)} | {scaling} | {one:.3f} | {two:.3f} | {two / one:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
