"""Single-row prediction latency of one fitted model under one or more checkouts, side by
side in one run.

The model is an ``AutoModel`` fitted on a task's benchmark split (``--budget`` seconds,
as ``run.py`` fits it) and pickled, or one given with ``--model``. Each ``--src`` (a
checkout's ``src`` folder; default: the installed package) loads the same pickle in a
fresh process and predicts test rows 0..``--rows`` one at a time, ``--repeats`` times
over; the rounds alternate between checkouts so that a slow moment of the machine falls on
all of them. Reported: the median per call (ms) of each round and of all rounds.

    .venv/bin/python benchmarks/automl/latency.py --task election_vote --src src --src /tmp/old/src
    .venv/bin/python benchmarks/automl/latency.py --task election_vote --families realmlp

``--families`` restricts the fitted model to those families (the model's file is named
after them).
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _split(task_name: str, datasets: str | None, out: Path) -> tuple[object, Path, Path]:
    from run import ensure_split
    from tasks import default_datasets, load_tasks

    tasks = load_tasks(Path(datasets) if datasets else default_datasets())
    task = next((t for t in tasks if t.name == task_name), None)
    if task is None:
        raise SystemExit(f"no task {task_name!r}; known: {', '.join(t.name for t in tasks)}")
    train, test = ensure_split(out, task, 0)
    return task, Path(train), Path(test)


def fit(
    task_name: str,
    budget: float,
    datasets: str | None,
    out: Path,
    model: Path,
    families: list[str] | None = None,
) -> None:
    import pandas as pd

    from mlresearcher import AutoModel

    task, train, _ = _split(task_name, datasets, out)
    df = pd.read_parquet(train)
    X, y = df.drop(columns=[task.target]), df[task.target]
    m = AutoModel(
        time_limit=budget,
        seed=0,
        n_jobs=2,
        task=task.task_type,
        metric=task.metric,
        families=families,
    ).fit(X, y)
    model.parent.mkdir(parents=True, exist_ok=True)
    with open(model, "wb") as f:
        pickle.dump(m, f)
    print(f"fitted {task_name}: {m.predictor_.describe()}", flush=True)


def measure(model: Path, test: Path, rows: int, repeats: int) -> float:
    """Median seconds per single-row call in this process."""
    import pandas as pd

    with open(model, "rb") as f:
        m = pickle.load(f)
    te = pd.read_parquet(test)[list(m.feature_names_in_)]
    one = [te.iloc[[i]] for i in range(min(rows, len(te)))]
    predict = m.predict_proba if hasattr(m, "classes_") else m.predict
    predict(one[0])  # warm-up: the compiled model is built on first use
    times = []
    for _ in range(repeats):
        for r in one:
            t = time.perf_counter()
            predict(r)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--task", required=True)
    ap.add_argument("--budget", type=float, default=60)
    ap.add_argument("--datasets", default=None)
    ap.add_argument("--out", default="benchmarks/out/latency", help="splits and models")
    ap.add_argument("--model", default=None, help="a pickled AutoModel (default: fit one)")
    ap.add_argument("--src", action="append", default=None, help="a checkout's src folder")
    ap.add_argument("--families", default=None, help="comma-separated families of the fitted model")
    ap.add_argument("--rows", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    out = Path(args.out)
    if args.model and not Path(args.model).is_file():  # never fit one in its place
        ap.error(f"--model {args.model}: no such file; give a pickled AutoModel or leave it out")
    families = [f for f in args.families.split(",") if f] if args.families else None
    suffix = "" if families is None else "." + "-".join(families)
    model = Path(args.model) if args.model else out / "models" / f"{args.task}{suffix}.pkl"
    if args.measure:
        _, _, test = _split(args.task, args.datasets, out)
        print(measure(model, test, args.rows, args.repeats))
        return 0
    if not model.exists():
        fit(args.task, args.budget, args.datasets, out, model, families)
    srcs = args.src or [""]
    results: dict[str, list[float]] = {s: [] for s in srcs}
    for _ in range(args.rounds):
        for s in srcs:
            env = dict(os.environ)
            env.pop("PYTHONPATH", None)
            if s:
                env["PYTHONPATH"] = str(Path(s).resolve())
            cmd = [sys.executable, __file__, "--task", args.task, "--out", str(out)]
            cmd += ["--model", str(model), "--rows", str(args.rows)]
            cmd += ["--repeats", str(args.repeats), "--measure"]
            if args.datasets:
                cmd += ["--datasets", args.datasets]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            results[s].append(float(done.stdout.strip().splitlines()[-1]))
    print(f"| {args.task}: checkout | median ms per round | median ms |")
    print("|---|---|---|")
    for s, v in results.items():
        rounds = ", ".join(f"{x * 1e3:.3f}" for x in v)
        print(f"| {s or '(installed)'} | {rounds} | {statistics.median(v) * 1e3:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
