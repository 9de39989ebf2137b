"""LightGBM defaults on a regression task's target, its square root and its log.

The check behind the boosters' target transforms (``mlresearcher.models.base.
target_transforms``): on the benchmark's training split, 5-fold cross-validation of
LightGBM with mlresearcher's default parameters (early stopping on the validation fold,
which is fine for a comparison of targets but not for a score) fitted on ``y``,
``sqrt(y)`` and ``log1p(y)``, each mapped back before scoring; then the test split scored
by the average of the 5 fold models. Prints the RMSE of each, on the target's scale.

    .venv/bin/python benchmarks/automl/target_transform.py --task diamond_price
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tasks import default_datasets, ensure_split, load_tasks, select_tasks  # noqa: E402

TRANSFORMS = {
    "none": (lambda v: v, lambda v: v),
    "sqrt": (np.sqrt, lambda v: np.square(np.maximum(v, 0.0))),
    "log1p": (np.log1p, np.expm1),
}


def main(argv: list[str] | None = None) -> int:
    import lightgbm as lgb
    from sklearn.model_selection import KFold

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="diamond_price", help="a regression task of the manifest")
    ap.add_argument("--datasets", default=None, help="folder with manifest.json")
    ap.add_argument("--out", default="benchmarks/out/target_transform", help="splits folder")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # LightGBM's notice about eval_set's new name
    datasets = Path(args.datasets) if args.datasets else default_datasets()
    task = select_tasks(load_tasks(datasets), args.task)[0]
    if task.task_type != "regression":
        print(
            f"error: {task.name} is a {task.task_type} task; give a regression task",
            file=sys.stderr,
        )
        return 2
    train_path, test_path = ensure_split(Path(args.out), task, 0)
    tr, te = pd.read_parquet(train_path), pd.read_parquet(test_path)
    y, yt = tr.pop(task.target).to_numpy(float), te.pop(task.target).to_numpy(float)
    if y.min() < 0:
        print(
            f"error: {task.name}'s target has negative values; sqrt and log do not apply",
            file=sys.stderr,
        )
        return 2
    for c in tr.columns:
        if not pd.api.types.is_numeric_dtype(tr[c]):
            levels = pd.Categorical(tr[c].astype(str)).categories
            tr[c] = pd.Categorical(tr[c].astype(str), categories=levels)
            te[c] = pd.Categorical(te[c].astype(str), categories=levels)
    params = dict(
        learning_rate=0.05,
        num_leaves=31,
        min_data_in_leaf=20,
        feature_fraction=0.9,
        n_estimators=10_000,
        verbose=-1,
        n_jobs=2,
    )
    print(f"{task.name}: {len(y)} training rows, {len(yt)} test rows (RMSE on the target's scale)")
    print(f"{'target':8} {'5-fold CV':>10} {'test (fold average)':>20}")
    for name, (forward, inverse) in TRANSFORMS.items():
        oof, test = np.zeros(len(y)), np.zeros(len(yt))
        for a, b in KFold(5, shuffle=True, random_state=0).split(tr):
            m = lgb.LGBMRegressor(**params).fit(
                tr.iloc[a],
                forward(y[a]),
                eval_set=[(tr.iloc[b], forward(y[b]))],
                callbacks=[lgb.early_stopping(100, verbose=False)],
            )
            oof[b] = inverse(m.predict(tr.iloc[b]))
            test += inverse(m.predict(te)) / 5
        cv = float(np.sqrt(np.mean((oof - y) ** 2)))
        ts = float(np.sqrt(np.mean((test - yt) ** 2)))
        print(f"{name:8} {cv:10.2f} {ts:20.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
