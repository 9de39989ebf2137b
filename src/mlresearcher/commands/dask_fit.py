"""``mlresearcher dask-fit PARQUET --target COL --cluster SPEC``: one boosted-tree model
trained across a Dask cluster on partitioned Parquet (data bigger than one machine)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    from mlresearcher.cli import _positive_int

    p = sub.add_parser(
        "dask-fit",
        help="train LightGBM/XGBoost across a Dask cluster on partitioned Parquet",
        description="Train one boosted-tree model over a Dask cluster (lightgbm.dask or"
        " xgboost.dask) on a Parquet file or folder of partitions, scored on a holdout.",
    )
    p.add_argument("data", help="Parquet file or folder of Parquet partitions (any fsspec path)")
    p.add_argument("--target", "-t", required=True, help="the column to predict")
    p.add_argument("--cluster", required=True, metavar="SPEC", help="tcp://HOST:PORT or local:N")
    p.add_argument("--family", choices=["lightgbm", "xgboost"], default="lightgbm")
    p.add_argument("--task", choices=["classification", "regression"], help="override the task")
    p.add_argument("--holdout", type=float, default=0.2, metavar="FRACTION")
    p.add_argument("--n-estimators", type=_positive_int, default=200, metavar="N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", metavar="DIR", help="write model.joblib and summary.json here")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=cmd_dask_fit)


def cmd_dask_fit(args: argparse.Namespace, argv: list[str]) -> int:
    from mlresearcher.errors import ConfigError
    from mlresearcher.execution import check_executor_options
    from mlresearcher.execution.cluster import DaskExecutor
    from mlresearcher.execution.dask_training import fit_distributed, read_partitioned

    check_executor_options(args.cluster, None, None)
    if not args.cluster.startswith(("tcp://", "tls://", "local:")):
        raise ConfigError("dask-fit needs --cluster tcp://HOST:PORT or local:N")
    if not 0 < args.holdout < 1:
        raise ConfigError(f"--holdout must be between 0 and 1, got {args.holdout}")
    if importlib.util.find_spec(args.family) is None:
        raise ConfigError(
            f"--family {args.family} needs {args.family}, which is not installed"
            " (install the 'boosters' extra)"
        )
    ddf = read_partitioned(args.data, args.target)
    ex = DaskExecutor(args.cluster)
    try:
        fit = fit_distributed(
            ddf,
            args.target,
            ex.client,
            family=args.family,
            task=args.task,
            holdout=args.holdout,
            seed=args.seed,
            n_estimators=args.n_estimators,
        )
    finally:
        ex.close()
    summary = fit.summary()
    if args.out:
        import joblib

        from mlresearcher.store.atomic import atomic_path, write_text

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(out / "model.joblib") as tmp:
            joblib.dump({"model": fit.model, "categories": fit.categories, **summary}, tmp)
        write_text(out / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print(
            f"{fit.family} over {fit.n_partitions} partitions: {fit.metric} {fit.holdout_score:.5g}"
            f" on {fit.n_rows_holdout} holdout rows (fit {fit.fit_seconds:.1f}s)",
            file=sys.stderr,
        )
    return 0
