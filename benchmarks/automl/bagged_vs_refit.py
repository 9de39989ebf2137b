"""One family's default: the average of its 5 fold models against one refit on all rows.

The check behind ``final_model`` (``mlresearcher run --final-model {refit,bagged}``): on
the benchmark's training split of a task, the family's default configuration is fitted on
each of 5 shuffled folds (stratified for classes) and the test split is scored by the
average of the 5 fold models (``bagged``); then the same configuration is fitted once on
every training row and scored alone (``refit``). Both fits run the family's own inner
early-stopping split, as in a campaign. Prints the task's metric and the fit seconds.

    .venv/bin/python benchmarks/automl/bagged_vs_refit.py gss_happiness:catboost diamond_price:xgboost
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tasks import default_datasets, ensure_split, load_tasks  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from sklearn.model_selection import KFold, StratifiedKFold

    from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
    from mlresearcher.metrics import get_metric
    from mlresearcher.models.base import FitContext, predict_scores
    from mlresearcher.models.registry import FAMILIES, get_families

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs", nargs="+", help="TASK:FAMILY, for example gss_happiness:catboost")
    ap.add_argument("--datasets", default=None, help="folder with manifest.json")
    ap.add_argument("--out", default="benchmarks/out/bagged_vs_refit", help="splits folder")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    datasets = Path(args.datasets) if args.datasets else default_datasets()
    all_tasks = load_tasks(datasets)
    for pair in args.pairs:
        name, _, family = pair.partition(":")
        if family not in FAMILIES:
            print(
                f"error: {pair!r}: give TASK:FAMILY, FAMILY one of {', '.join(FAMILIES)}",
                file=sys.stderr,
            )
            return 2
        known = {t.name: t for t in all_tasks}
        if name not in known:
            print(f"error: unknown task {name!r}; known: {', '.join(known)}", file=sys.stderr)
            return 2
        task = known[name]
        train_path, test_path = ensure_split(Path(args.out), task, 0)
        tr, te = pd.read_parquet(train_path), pd.read_parquet(test_path)
        y_raw, yt_raw = tr.pop(task.target), te.pop(task.target)
        schema = build_schema(tr, infer_roles(tr)[0])
        X, Xt = prepare_features(tr, schema), prepare_features(te, schema)
        kind = task.task_type
        if kind == "regression":
            y, yt, k = y_raw.to_numpy(float), yt_raw.to_numpy(float), 0
        else:
            classes = np.unique(y_raw.astype(str))
            y = np.searchsorted(classes, y_raw.astype(str))
            yt = np.searchsorted(classes, yt_raw.astype(str))
            k = len(classes)
        metric = get_metric(task.metric, kind)
        fam = get_families([family])[0]
        ctx = FitContext(task=kind, n_classes=k, schema=schema, n_rows=len(X), seed=0, n_jobs=2)
        config = fam.default_configs(ctx)[0]
        folds = (StratifiedKFold if k else KFold)(5, shuffle=True, random_state=0).split(X, y)
        bagged: np.ndarray | float = 0.0
        t0 = time.perf_counter()
        for a, _ in folds:
            est = fam.build(config, ctx).fit(X.iloc[a], y[a])
            bagged = bagged + predict_scores(est, Xt, kind, k) / 5
        t1 = time.perf_counter()
        refit = predict_scores(fam.build(config, ctx).fit(X, y), Xt, kind, k)
        t2 = time.perf_counter()
        print(
            f"{task.name:28} {family:14} {task.metric} bagged {metric(yt, bagged):.5f} "
            f"({t1 - t0:.0f} s)  refit {metric(yt, refit):.5f} ({t2 - t1:.0f} s)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
