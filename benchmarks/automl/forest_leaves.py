"""How much the random forest's leaf bound and rare-level grouping cost on one task.

The project's forests cap leaves at ``LEAF_BUDGET // n_estimators`` per tree (5,000 for
300 trees; 833 before the bound was raised) and keep every category level (they grouped
levels seen fewer than 3 times into one code before). This script
fits scikit-learn's random forest (or, with ``--kind extra_trees``, extra trees) on the
benchmark's saved 80/20 split of a task, with the
same ordinal category codes, across leaf caps, rare-level grouping and ``max_features``,
and prints the test score of each, with its fit time (seconds, 2 threads).

    .venv/bin/python benchmarks/automl/forest_leaves.py --splits benchmarks/out/b300/splits/seed0 \
        --task restaurant_inspection_score

The split comes from ``run.py`` (``<out>/splits/seed<N>/<task>/{train,test}.parquet``).
Regression tasks only (RMSE).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tasks import default_datasets, load_tasks  # noqa: E402


def _codes(train: pd.DataFrame, test: pd.DataFrame, min_frequency: int | None):
    from sklearn.preprocessing import OrdinalEncoder

    cats = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]
    X, Xt = train.copy(), test.copy()
    if cats:
        enc = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            min_frequency=min_frequency,
        )
        X[cats] = enc.fit_transform(train[cats].astype(str))
        Xt[cats] = enc.transform(test[cats].astype(str))
    return X.astype(np.float32), Xt.astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    from mlresearcher.models.forests import LEAF_BUDGET

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", required=True, help="a run's splits/seed<N> folder")
    ap.add_argument("--task", default="restaurant_inspection_score")
    ap.add_argument("--datasets", default=None, help="folder with manifest.json")
    ap.add_argument("--trees", type=int, default=300)
    ap.add_argument(
        "--kind",
        choices=["random_forest", "extra_trees"],
        default="random_forest",
        help="the forest family to fit (default random_forest)",
    )
    args = ap.parse_args(argv)
    if args.trees < 1:
        print(f"error: --trees must be at least 1, got {args.trees}", file=sys.stderr)
        return 2
    datasets = Path(args.datasets) if args.datasets else default_datasets()
    if not (datasets / "manifest.json").exists():
        print(f"error: no manifest.json in {datasets}; pass --datasets DIR", file=sys.stderr)
        return 2

    tasks = {t.name: t for t in load_tasks(datasets)}
    task = tasks.get(args.task)
    if task is None or task.task_type != "regression":
        print(f"error: {args.task!r} is not a regression task of the manifest", file=sys.stderr)
        return 2
    folder = Path(args.splits) / task.name
    if not (folder / "train.parquet").exists():
        print(
            f"error: no saved split in {folder}; run benchmarks/automl/run.py first",
            file=sys.stderr,
        )
        return 2
    train, test = (
        pd.read_parquet(folder / "train.parquet"),
        pd.read_parquet(folder / "test.parquet"),
    )
    y, yt = train.pop(task.target).to_numpy(float), test.pop(task.target).to_numpy(float)

    print("| rare levels grouped | leaves per tree | max_features | test rmse | fit s |")
    print("|---|---|---|---|---|")
    for min_frequency in (3, None):
        X, Xt = _codes(train, test, min_frequency)
        for leaves in (LEAF_BUDGET // args.trees, 15_000, None):
            for max_features in (1.0, 0.5):
                t0 = time.perf_counter()
                forest = {
                    "random_forest": RandomForestRegressor,
                    "extra_trees": ExtraTreesRegressor,
                }
                rf = forest[args.kind](
                    args.trees,
                    max_features=max_features,
                    max_leaf_nodes=leaves,
                    n_jobs=2,
                    random_state=0,
                ).fit(X, y)
                fit_s = time.perf_counter() - t0
                rmse = float(np.sqrt(np.mean((rf.predict(Xt) - yt) ** 2)))
                grouped = "under 3 rows" if min_frequency else "no"
                print(
                    f"| {grouped} | {leaves or 'unbounded'} | {max_features} | {rmse:.4f} | {fit_s:.1f} |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
