"""One system on one task, in its own process: fit, predict the test set, time one-row
predictions, score, and write one JSON result.

Run by ``run.py`` with the Python of the system's environment; needs only numpy, pandas,
scikit-learn and pyarrow besides the system itself. Timings (seconds, ``perf_counter``):

- ``fit_s``: the system's fit call on the training rows;
- ``predict_s``: predicting the whole test set once;
- ``latency_ms``: median of 50 single-row predictions (test rows 0..49, one warm-up call
  first, not counted).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scoring import score  # noqa: E402
from systems import PROJECT_SYSTEMS, SYSTEMS  # noqa: E402
from tasks import Task  # noqa: E402

N_LATENCY = 50


def _versions(system: str) -> dict[str, str]:
    from importlib import metadata

    names = {
        **dict.fromkeys(
            PROJECT_SYSTEMS, ["mlresearcher", "lightgbm", "xgboost", "catboost", "torch"]
        ),
        "autogluon_best": ["autogluon.tabular", "lightgbm", "xgboost-cpu", "catboost", "torch"],
        "autogluon_medium": ["autogluon.tabular", "lightgbm", "xgboost-cpu", "catboost", "torch"],
        "flaml": ["flaml", "lightgbm", "xgboost-cpu", "catboost"],
        "lightgbm": ["lightgbm"],
        "hist_gb": [],
    }.get(system, []) + ["scikit-learn", "pandas", "numpy"]
    out = {"python": sys.version.split()[0]}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            pass
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--system", required=True, choices=sorted(SYSTEMS))
    ap.add_argument("--task", required=True, help="the task as JSON (see tasks.Task)")
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--budget", type=float, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--save-model", default=None, help="pickle the fitted model here, last")
    ap.add_argument(
        "--audit",
        action="store_true",
        help="after every measurement, score each kept trial on the test rows (mlresearcher)",
    )
    args = ap.parse_args(argv)
    spec = json.loads(args.task)
    task = Task(**{**spec, "path": Path(spec["path"])})

    train = pd.read_parquet(args.train)
    test = pd.read_parquet(args.test)
    X, y = train.drop(columns=[task.target]), train[task.target]
    X_test, y_test = test.drop(columns=[task.target]), test[task.target]
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    system = SYSTEMS[args.system](
        task=task, budget=args.budget, seed=args.seed, n_jobs=args.n_jobs, workdir=workdir
    )

    t0 = time.perf_counter()
    system.fit(X, y)
    fit_s = time.perf_counter() - t0
    after_fit = getattr(system, "after_fit", None)
    if after_fit is not None:
        after_fit()

    t0 = time.perf_counter()
    pred = system.predict(X_test)
    predict_s = time.perf_counter() - t0

    rows = [X_test.iloc[[i % len(X_test)]] for i in range(N_LATENCY)]
    system.predict(rows[0])  # warm-up: lazy loading and first-call caches are not latency
    lat = []
    for row in rows:
        t0 = time.perf_counter()
        system.predict(row)
        lat.append(time.perf_counter() - t0)

    value = score(
        task.metric,
        y_test,
        pred,
        classes=getattr(system, "classes", None),
        positive_class=task.positive_class,
    )
    result = {
        "score": value,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "latency_ms": float(np.median(lat)) * 1000,
        "n_train": len(train),
        "n_test": len(test),
        "info": system.info(),
        "versions": _versions(args.system),
    }
    if args.audit and hasattr(system, "audit"):  # after every timing, so it changes none
        result["audit"] = system.audit(X_test, y_test)
    Path(args.result).write_text(json.dumps(result))
    if args.save_model:  # after every measurement, so it changes none of them
        try:
            system.save(Path(args.save_model))
        except Exception as e:  # the result stands without the pickle
            print(f"worker: could not save the model: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
