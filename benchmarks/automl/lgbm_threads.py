"""LightGBM threads on small data: the project's LightGBM family, default configuration,
fitted on the first fold of each small dev task with 2 threads forced and with the
small-data rule (one thread below ``SINGLE_THREAD_ROWS`` training rows), side by side in
one run, alternating to share the machine's conditions. Prints wall and CPU seconds.

    .venv/bin/python benchmarks/automl/lgbm_threads.py
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
    ap.add_argument("--max-rows", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import pandas as pd

    from mlresearcher.data.protocol import make_protocol
    from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
    from mlresearcher.data.task import encode_target
    from mlresearcher.models import get_families, lgbm
    from mlresearcher.models.base import FitContext

    family = get_families(["lightgbm"])[0]
    print(
        "| task | train rows | 2 threads wall s | rule wall s | ratio | 2 threads CPU s | rule CPU s |"
    )
    print("|---|---|---|---|---|---|---|")
    for task in load_tasks(default_datasets()):
        if task.n_rows >= args.max_rows:
            continue
        df = pd.read_parquet(task.path)
        X, y = df.drop(columns=[task.target]), df[task.target]
        target, keep = encode_target(y, task.target, task.task_type)
        X = X.loc[keep].reset_index(drop=True)
        schema = build_schema(X, infer_roles(X)[0])
        Xp = prepare_features(X, schema)
        protocol = make_protocol(target.y, target.task, 0)
        train_idx, _ = protocol.folds[0]
        times: dict[str, list[tuple[float, float]]] = {"two": [], "rule": []}
        for _ in range(args.repeats):
            for mode in ("two", "rule"):
                lgbm.SINGLE_THREAD_ROWS = 0 if mode == "two" else 10_000
                ctx = FitContext(
                    task=target.task,
                    n_classes=target.n_classes,
                    schema=schema,
                    n_rows=len(Xp),
                    seed=0,
                    n_jobs=2,
                )
                est = family.build(family.default_configs(ctx)[0], ctx)
                w0, c0 = time.perf_counter(), time.process_time()
                est.fit(Xp.iloc[train_idx], target.y[train_idx])
                times[mode].append((time.perf_counter() - w0, time.process_time() - c0))
        two = statistics.median(t[0] for t in times["two"])
        rule = statistics.median(t[0] for t in times["rule"])
        print(
            f"| {task.name} | {len(train_idx)} | {two:.2f} | {rule:.2f} | {two / rule:.1f}x | "
            f"{statistics.median(t[1] for t in times['two']):.2f} | "
            f"{statistics.median(t[1] for t in times['rule']):.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
