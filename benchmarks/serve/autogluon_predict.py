"""AutoGluon's own ``predict_proba`` on the load benchmark's model shape, for comparison.

Runs in the peers' environment (``make bench-setup``), never in the project's:

    benchmarks/automl/.venv-peers/bin/python benchmarks/serve/autogluon_predict.py \
        DATA.parquet TARGET [--batch-rows 10000]

Fits ``TabularPredictor`` with LightGBM only (``hyperparameters={"GBM": {}}``), bagged over
5 folds with no stacking (``num_bag_folds=5, num_stack_levels=0``): the same shape as the
benchmark's mlresearcher model, the average of five LightGBM boosters. The models are
persisted in memory (AutoGluon's advice for online prediction), then it times one-row
``predict_proba`` calls on a one-row DataFrame (median of 200 over 200 different rows,
after a warm-up) and ``predict_proba`` on a ``--batch-rows`` batch drawn as the load
benchmark draws it (median of 5). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("target")
    ap.add_argument("--batch-rows", type=int, default=10_000)
    args = ap.parse_args()
    from autogluon.tabular import TabularPredictor

    df = pd.read_parquet(args.data)
    X = df.drop(columns=[args.target])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        predictor = TabularPredictor(label=args.target, path=tmp, verbosity=0).fit(
            df,
            hyperparameters={"GBM": {}},
            num_bag_folds=5,
            num_stack_levels=0,
            num_cpus=2,
            num_gpus=0,
        )
        fit_s = time.monotonic() - t0
        predictor.persist()
        one = [X.iloc[[i]] for i in range(200)]
        for frame in one[:20]:  # warm-up
            predictor.predict_proba(frame)
        lat = []
        for frame in one:
            t = time.perf_counter()
            predictor.predict_proba(frame)
            lat.append(time.perf_counter() - t)
        idx = np.random.default_rng(0).integers(0, len(X), args.batch_rows)
        batch = X.iloc[idx].reset_index(drop=True)
        predictor.predict_proba(batch)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            predictor.predict_proba(batch)
            times.append(time.perf_counter() - t)
        import autogluon.tabular

        print(
            json.dumps(
                {
                    "autogluon": autogluon.tabular.__version__,
                    "models": predictor.model_names(),
                    "fit_s": round(fit_s, 1),
                    "one_row_ms": 1e3 * statistics.median(lat),
                    "batch_ms": 1e3 * statistics.median(times),
                    "batch_rows": args.batch_rows,
                }
            )
        )


if __name__ == "__main__":
    main()
