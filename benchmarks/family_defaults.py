"""Fit every model family's default configuration on dev datasets: time and score.

A sanity check of the families (not a test) and the source of their relative ``cost``.
One seeded 80/20 split per dataset; prints one line per family and dataset.

    python benchmarks/family_defaults.py                       # diamond + police stops
    python benchmarks/family_defaults.py --datasets penguins_species --families lightgbm,mlp
    python benchmarks/family_defaults.py --config 1            # each family's 2nd config
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
from mlresearcher.metrics import get_metric
from mlresearcher.models.base import FitContext, predict_scores
from mlresearcher.models.registry import FAMILIES, get_families

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="diamond_price,police_stop_search")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--config", type=int, default=0, help="index into default_configs")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    manifest = {e["name"]: e for e in json.loads((DATASETS / "manifest.json").read_text())}
    print(f"{'dataset':28s} {'family':14s} {'fit_s':>7s} {'pred_s':>7s} {'MB':>6s}  metric")
    for name in args.datasets.split(","):
        entry = manifest[name]
        df = pd.read_parquet(DATASETS / entry["file"])
        raw = df.drop(columns=[entry["target"]])
        schema = build_schema(raw, infer_roles(raw)[0])
        X = prepare_features(raw, schema)
        task = entry["task_type"]
        if task == "regression":
            y, k = df[entry["target"]].to_numpy(float), 0
        else:
            labels = df[entry["target"]].astype(str)
            y = np.searchsorted(np.unique(labels), labels)
            k = int(y.max()) + 1
        tr, te = train_test_split(
            np.arange(len(X)), test_size=0.2, random_state=args.seed, stratify=y if k else None
        )
        metric = get_metric(METRIC[task], task)
        for fam in get_families(args.families.split(",")):
            if fam.unavailable_reason():
                print(f"{name:28s} {fam.name:14s} skipped: {fam.unavailable_reason()}")
                continue
            ctx = FitContext(
                task=task,
                n_classes=k,
                schema=schema,
                n_rows=len(tr),
                seed=args.seed,
                n_jobs=args.n_jobs,
            )
            configs = fam.default_configs(ctx)
            est = fam.build(configs[min(args.config, len(configs) - 1)], ctx)
            t0 = time.perf_counter()
            est.fit(X.iloc[tr], y[tr])
            t1 = time.perf_counter()
            scores = predict_scores(est, X.iloc[te], task, k)
            t2 = time.perf_counter()
            size = len(pickle.dumps(est)) / 1e6
            extra = f" iterations={est.n_iterations_}" if hasattr(est, "n_iterations_") else ""
            print(
                f"{name:28s} {fam.name:14s} {t1 - t0:7.2f} {t2 - t1:7.2f} {size:6.1f}  "
                f"{metric.name}={metric(y[te], scores):.4f}{extra}",
                flush=True,
            )


if __name__ == "__main__":
    main()
