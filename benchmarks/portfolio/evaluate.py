"""Evaluate every candidate configuration on every task of a suite, on the campaign's folds.

For each task (the meta suite's train part by default): the data is prepared exactly as a
run prepares it (target encoding, column roles, prepared features, the default protocol of
``make_protocol``, seed 0), then each candidate of ``candidates.json`` is evaluated by the
campaign's own trial function (``run_trial``: the first repeat of the same folds, same
scoring, never pruned), with a time limit per candidate that iterative learners respect.
``folds_full`` records the protocol's whole fold count (three repeats below 2,500 rows), so
the selection scales the measured time to a run's. Tasks above ``--max-rows`` rows
are evaluated on a seeded random sample of that many rows (both counts are recorded), so
the whole table (81 candidates x 26 tasks, 20 s per candidate at most) fits in about an
hour on 2 cores; portfolio choices for large data therefore rest on 5,000-row samples.

One JSON line per task x candidate goes to ``--out`` (default ``results/evaluations.jsonl``
beside this script): status, mean and fold scores, fit and predict seconds, rows, folds.
A rerun skips the pairs already there, so an interrupted evaluation resumes. With
``--oof DIR`` the out-of-fold predictions are kept as ``DIR/<task>/<id>.npy`` (float32) for
ensemble studies; they are not committed.

    .venv/bin/python benchmarks/portfolio/evaluate.py                 # meta-train, resumable
    .venv/bin/python benchmarks/portfolio/evaluate.py --suite meta-validate --out results/validate.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "automl"))

from candidates import CANDIDATES_FILE  # noqa: E402
from tasks import SUITES, select_tasks, suite_tasks  # noqa: E402

MAX_ROWS = 5_000
CONFIG_SECONDS = 20.0


def prepared(task: Any, max_rows: int, seed: int = 0) -> dict[str, Any]:
    """The task's data as a run prepares it: features, target, schema, protocol, metric."""
    from mlresearcher.data.protocol import make_protocol
    from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
    from mlresearcher.data.task import encode_target
    from mlresearcher.metrics import get_metric

    df = pd.read_parquet(task.path)
    df = df[df[task.target].notna()].reset_index(drop=True)
    n_full = len(df)
    if len(df) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(df), max_rows, replace=False))
        df = df.iloc[keep].reset_index(drop=True)
    y = df.pop(task.target)
    target, keep = encode_target(y, task.target, task.task_type)
    X = df.loc[keep].reset_index(drop=True)
    infos, _ = infer_roles(X)
    schema = build_schema(X, infos)
    Xp = prepare_features(X, schema)
    protocol = make_protocol(target.y, target.task, seed)
    metric = get_metric(task.metric, target.task)
    return {
        "X": Xp,
        "target": target,
        "schema": schema,
        "protocol": protocol,
        "metric": metric,
        "n_full": n_full,
    }


def evaluate_task(
    task: Any,
    cands: list[dict[str, Any]],
    done: set[str],
    *,
    max_rows: int,
    seconds: float,
    n_jobs: int,
    oof_dir: Path | None,
) -> Any:
    """Yield one row per candidate of ``cands`` not in ``done``."""
    from dataclasses import replace

    from mlresearcher.execution.trial import TrialData, TrialJob, run_trial
    from mlresearcher.models.base import FitContext
    from mlresearcher.models.registry import get_families

    p = prepared(task, max_rows)
    target, protocol = p["target"], p["protocol"]
    kind = "regression" if target.task == "regression" else "classification"
    ctx = FitContext(
        task=target.task,
        n_classes=target.n_classes,
        schema=p["schema"],
        n_rows=len(p["X"]),
        seed=0,
        n_jobs=n_jobs,
    )
    families: dict[str, Any] = {}
    for c in cands:
        if c["family"] not in families:
            fam = get_families([c["family"]])[0]
            families[c["family"]] = (
                fam if not (fam.unavailable_reason() or fam.applicable(ctx)) else None
            )
    usable = {k: v for k, v in families.items() if v is not None}
    # the first repeat of the campaign's folds (a third of the fits below 2,500 rows)
    folds = list(protocol.folds)[: protocol.n_splits]
    data = TrialData(
        X=p["X"],
        y=target.y,
        folds=folds,
        fold_repeat=[0] * len(folds),
        n_repeats=1,
        metric_name=p["metric"].name,
        ctx=replace(ctx, deadline=None),
        families=usable,
    )
    base = {
        "task": task.name,
        "task_type": target.task,
        "metric": p["metric"].name,
        "greater_is_better": bool(p["metric"].greater_is_better),
        "rows": len(p["X"]),
        "rows_full": p["n_full"],
        "features": int(p["X"].shape[1]),
        "protocol": protocol.kind,
        "folds": len(folds),
        "folds_full": protocol.n_folds,
    }
    for number, c in enumerate(cands):
        if c["id"] in done:
            continue
        params = c.get(kind)
        row = {**base, "id": c["id"], "family": c["family"]}
        if params is None or families.get(c["family"]) is None:
            yield {**row, "status": "not_applicable", "score": None}
            continue
        job = TrialJob(
            number,
            c["family"],
            dict(params),
            "portfolio",
            False,
            seconds_left=seconds,
            submitted_wall=time.time(),
        )
        t0 = time.perf_counter()
        res = run_trial(data, job)
        row.update(
            status=res.status,
            score=res.score if res.status == "complete" else None,
            fold_scores=[float(s) for s in res.fold_scores],
            fit_time=round(res.fit_time, 4),
            predict_time=round(res.predict_time, 4),
            wall=round(time.perf_counter() - t0, 3),
            error=(res.error or "").splitlines()[0][:300] if res.error else "",
        )
        if oof_dir is not None and res.oof is not None:
            folder = oof_dir / task.name
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / f"{c['id'].replace(':', '_')}.npy", res.oof.astype(np.float32))
        yield row


def _cost(task: Any, max_rows: int) -> float:
    entry = next(
        e
        for e in json.loads((task.path.parent / "manifest.json").read_text())
        if e["name"] == task.name
    )
    return min(task.n_rows, max_rows) * max(1, entry["n_features"]) * (entry.get("n_classes") or 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--suite", default="meta-train", choices=SUITES, help="default meta-train")
    ap.add_argument("--tasks", default=None, help='comma-separated names or "largest:N"')
    ap.add_argument("--candidates", default=str(CANDIDATES_FILE), help="candidates.json")
    ap.add_argument("--families", default=None, help="only these families (comma-separated)")
    ap.add_argument("--max-rows", type=int, default=MAX_ROWS, help=f"default {MAX_ROWS:,}")
    ap.add_argument("--seconds", type=float, default=CONFIG_SECONDS, help="per candidate (20)")
    ap.add_argument("--n-jobs", type=int, default=2, help="threads (default 2)")
    ap.add_argument("--out", default=str(HERE / "results" / "evaluations.jsonl"))
    ap.add_argument("--oof", default=None, help="keep out-of-fold predictions under DIR")
    args = ap.parse_args(argv)

    cands = json.loads(Path(args.candidates).read_text())
    if args.families:
        keep = {f.strip() for f in args.families.split(",")}
        cands = [c for c in cands if c["family"] in keep]
    tasks = select_tasks(suite_tasks(args.suite), args.tasks)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done: dict[str, set[str]] = {}
    if out.exists():
        for line in out.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            done.setdefault(r["task"], set()).add(r["id"])
    # cheap tasks first (rows evaluated x features x classes): the table fills fast, and a
    # stopped evaluation leaves out the slowest tasks only
    for task in sorted(tasks, key=lambda t: _cost(t, args.max_rows)):
        t0 = time.perf_counter()
        n = 0
        rows = evaluate_task(
            task,
            cands,
            done.get(task.name, set()),
            max_rows=args.max_rows,
            seconds=args.seconds,
            n_jobs=args.n_jobs,
            oof_dir=Path(args.oof) if args.oof else None,
        )
        for row in rows:
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            n += 1
        print(f"{task.name:30s} {n:3d} candidates  {time.perf_counter() - t0:6.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
