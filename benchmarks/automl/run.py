"""AutoML benchmark: mlresearcher against AutoGluon, FLAML and default gradient boosters.

For every task of the dev-dataset manifest (or ``--tasks``) and every system (or
``--systems``), strictly one after another: the task's saved 80/20 split (see
``tasks.py``), then the system in its own process (``worker.py``) with ``n_jobs`` threads
and a hard timeout of budget + margin, its peak memory measured over the whole process
tree (``measure.py``). A failure or a timeout is recorded, never fatal.

Results go to ``<out>/results.jsonl``, one line per task x system x budget x split seed x
seed; a rerun skips those already there (``--retry-failed`` reruns failures), so an
interrupted benchmark resumes. The Markdown report (``report.py``) is rewritten at the end.

    .venv/bin/python benchmarks/automl/run.py --budget 60 --out benchmarks/out/automl
    .venv/bin/python benchmarks/automl/run.py --budget 300 --systems mlresearcher,autogluon_best \\
        --tasks largest:5 --out benchmarks/out/automl
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import run_measured  # noqa: E402
from report import write_report  # noqa: E402
from scoring import GREATER_IS_BETTER  # noqa: E402
from systems import PROJECT_SYSTEMS, SYSTEMS  # noqa: E402
from tasks import SUITES, Task, ensure_split, select_tasks, suite_tasks  # noqa: E402

PEERS_PYTHON = HERE / ".venv-peers" / "bin" / "python"


def result_key(r: dict) -> tuple:
    return (r["task"], r["system"], float(r["budget"]), int(r["split_seed"]), int(r["seed"]))


def load_results(path: Path) -> list[dict]:
    """Every complete line of ``path`` (a line cut short by a kill is ignored)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def _tail(path: Path, n: int = 2) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])[-500:]


def run_one(
    task: Task,
    system: str,
    *,
    budget: float,
    split_seed: int,
    seed: int,
    n_jobs: int,
    margin: float,
    out: Path,
    python: str,
    keep_model: bool = False,
    audit: bool = False,
) -> dict:
    """Run ``system`` on ``task`` in a fresh process and return its result row.

    ``keep_model``: the worker pickles the fitted model to ``<out>/models/<tag>.pkl`` after
    every measurement (mlresearcher only), for ``latency.py --model``."""
    train, test = ensure_split(out, task, split_seed)
    env = dict(os.environ)
    # Same thread settings for every system: n_jobs OpenMP threads, short OpenMP spin (which
    # mlresearcher sets for itself on import; long spinning slows any booster on a busy
    # machine, so the peers get it too and the comparison is of methods, not of spin).
    env.update(OMP_NUM_THREADS=str(n_jobs), GOMP_SPINCOUNT=env.get("GOMP_SPINCOUNT", "1000"))
    env.pop("PYTHONPATH", None)
    tag = f"{task.name}.{system}.b{budget:g}.s{split_seed}.r{seed}"
    log = out / "logs" / f"{tag}.log"
    row = {
        "task": task.name,
        "system": system,
        "budget": budget,
        "split_seed": split_seed,
        "seed": seed,
        "n_jobs": n_jobs,
        "metric": task.metric,
        "greater_is_better": GREATER_IS_BETTER[task.metric],
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_start": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory(prefix="automl-bench-") as tmp:
        result_path = Path(tmp) / "result.json"
        spec = {**asdict(task), "path": str(task.path)}
        cmd = [
            python,
            str(HERE / "worker.py"),
            "--system",
            system,
            "--task",
            json.dumps(spec),
            "--train",
            str(train),
            "--test",
            str(test),
            "--budget",
            str(budget),
            "--seed",
            str(seed),
            "--n-jobs",
            str(n_jobs),
            "--workdir",
            str(Path(tmp) / "work"),
            "--result",
            str(result_path),
        ]
        if keep_model and system in PROJECT_SYSTEMS:
            (out / "models").mkdir(exist_ok=True)
            cmd += ["--save-model", str(out / "models" / f"{tag}.pkl")]
        if audit and system in PROJECT_SYSTEMS:
            cmd += ["--audit"]
        m = run_measured(cmd, timeout=budget + margin, log=log, env=env, cwd=tmp)
        row.update(process_wall_s=round(m.wall_s, 3), peak_rss_mb=round(m.peak_rss_mb, 1))
        if m.timed_out:
            row.update(status="timeout", error=f"killed after {budget + margin:.0f} s")
        elif m.returncode != 0 or not result_path.exists():
            row.update(status="failed", error=_tail(log) or f"exit {m.returncode}")
        else:
            row.update(status="ok", error="", **json.loads(result_path.read_text()))
        shutil.rmtree(Path(tmp) / "work", ignore_errors=True)
    row["loadavg_end"] = round(os.getloadavg()[0], 2)
    return row


#: the project at its defaults and every peer; the final-model variants run on request
DEFAULT_SYSTEMS = [
    s
    for s in SYSTEMS
    if s
    not in (
        "mlresearcher_refit",
        "mlresearcher_bagged",
        "mlresearcher_learned",
        "mlresearcher_realmlp",
    )
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--budget", type=float, default=60, help="seconds per fit (default 60)")
    ap.add_argument(
        "--systems",
        default=",".join(DEFAULT_SYSTEMS),
        help=f"comma-separated, from {', '.join(SYSTEMS)} (default: all but mlresearcher_refit, mlresearcher_bagged, mlresearcher_learned and mlresearcher_realmlp)",
    )
    ap.add_argument(
        "--tasks", default=None, help='comma-separated names, "largest:N" or "all" (default)'
    )
    ap.add_argument(
        "--split-seed",
        default="0",
        help="seed(s) of the 80/20 split, comma-separated; a second seed measures the "
        "split-to-split noise (default 0)",
    )
    ap.add_argument("--seed", type=int, default=0, help="seed passed to every system")
    ap.add_argument("--n-jobs", type=int, default=2, help="threads per system (default 2)")
    ap.add_argument(
        "--margin",
        type=float,
        default=None,
        help="seconds past the budget before a system is killed (default: max(120, budget))",
    )
    ap.add_argument("--out", default="benchmarks/out/automl", help="results folder")
    ap.add_argument(
        "--suite",
        default="dev",
        choices=SUITES,
        help="dev (default), meta-train, meta-validate or meta (both parts); the meta split is "
        "benchmarks/portfolio/meta_split.json",
    )
    ap.add_argument("--datasets", default=None, help="folder with the suite's manifest.json")
    ap.add_argument("--peers-python", default=str(PEERS_PYTHON), help="Python of the peers")
    ap.add_argument("--project-python", default=sys.executable, help="Python of mlresearcher")
    ap.add_argument("--retry-failed", action="store_true", help="rerun failed or timed-out rows")
    ap.add_argument(
        "--keep-models",
        action="store_true",
        help="pickle mlresearcher's fitted models to <out>/models/ (for latency.py --model)",
    )
    ap.add_argument(
        "--audit",
        action="store_true",
        help="record each mlresearcher trial's test score too (for audit.py; after the timings)",
    )
    args = ap.parse_args(argv)

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        ap.error(f"unknown system(s) {', '.join(unknown)}; known: {', '.join(SYSTEMS)}")
    datasets = Path(args.datasets) if args.datasets else None
    tasks = select_tasks(suite_tasks(args.suite, datasets), args.tasks)
    split_seeds = [int(s) for s in args.split_seed.split(",")]
    margin = args.margin if args.margin is not None else max(120.0, args.budget)
    if any(s not in PROJECT_SYSTEMS for s in systems) and not Path(args.peers_python).exists():
        ap.error(f"peers' Python {args.peers_python} not found; run `make bench-setup` first")

    out = Path(args.out).resolve()  # the workers run in their own temporary folders
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = {
        result_key(r) for r in load_results(results) if r["status"] == "ok" or not args.retry_failed
    }
    for split_seed in split_seeds:
        for task in tasks:
            for system in systems:
                key = (task.name, system, float(args.budget), split_seed, args.seed)
                if key in done:
                    continue
                python = args.project_python if system in PROJECT_SYSTEMS else args.peers_python
                t0 = time.perf_counter()
                row = run_one(
                    task,
                    system,
                    budget=args.budget,
                    split_seed=split_seed,
                    seed=args.seed,
                    n_jobs=args.n_jobs,
                    margin=margin,
                    out=out,
                    python=python,
                    keep_model=args.keep_models,
                    audit=args.audit,
                )
                with results.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                shown = f"{row['score']:.5g}" if row["status"] == "ok" else row["error"][:120]
                print(
                    f"{task.name:28s} {system:17s} split {split_seed} {row['status']:7s} "
                    f"{shown}  ({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
    report = write_report(load_results(results), out / "report.md")
    print(f"report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
