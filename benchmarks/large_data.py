"""Large data: a 5-minute campaign on 1,000,000 rows x 50 mixed-type columns, with its peak
memory and wall time.

    .venv/bin/python benchmarks/large_data.py [--rows 1000000] [--seconds 300] [--out DIR]
    .venv/bin/python benchmarks/large_data.py --stages   # setup stages only, in process

**The data** is generated from the dev dataset ``gss_happiness`` (General Social Survey:
17,137 rows, 31 features, 8 categorical, target ``happy`` with 3 classes), honestly
enlarged: rows are drawn with replacement; every numeric value gets Gaussian noise of 5 %
of its column's standard deviation (missing values stay missing); every categorical value
is replaced, with probability 2 %, by a level drawn from the column's own distribution;
19 further columns are noisy copies (noise 50 % of the standard deviation) of the first
numeric columns and pairwise crosses of categorical columns, so the table has 50 features
of mixed types. The target is the original row's, so the signal is real and the noise
only blurs it. The file is written as Parquet.

**The run** is ``mlresearcher run DATA --target happy --time-limit SECONDS`` as a child
process. Above 250,000 rows it switches by itself to a stratified 80/20 holdout, a first
pass of every family's default on a 50,000-row subsample, and compact features (category
codes, float32 where exact). Peak memory is the largest resident set of the run's process
tree, sampled every 0.5 s (psutil), and the kernel's high-water mark of the child
(``ru_maxrss`` of RUSAGE_CHILDREN); beside it the peak of the tree's summed proportional
set size (PSS: pages shared between processes, such as the libraries a forked trial worker
shares with its parent, counted once rather than once per process). Other processes
share the machine's CPUs, so the number of trials depends on their load.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def generate(rows: int, seed: int = 0) -> pd.DataFrame:
    from conftest import load_dataset

    src, entry = load_dataset("gss_happiness")
    target = entry["target"]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(src), rows)
    out: dict[str, object] = {}
    numeric = [c for c in src.columns if c != target and pd.api.types.is_numeric_dtype(src[c])]
    categorical = [c for c in src.columns if c != target and c not in numeric]
    for c in numeric:
        v = src[c].to_numpy(dtype="float64")[idx]
        sd = np.nanstd(src[c].to_numpy(dtype="float64")) or 1.0
        out[c] = (v + rng.normal(0, 0.05 * sd, rows)).astype("float32")
    for c in categorical:
        col = src[c].astype("string")
        v = col.to_numpy(dtype=object)[idx]
        swap = rng.random(rows) < 0.02
        levels = col.dropna().to_numpy(dtype=object)
        v[swap] = levels[rng.integers(0, len(levels), swap.sum())]
        out[c] = pd.Categorical(v)
    extra = 50 - len(numeric) - len(categorical)
    k = 0
    while k < extra:
        if k % 3 != 2 or len(categorical) < 2:
            c = numeric[k % len(numeric)]
            sd = float(np.nanstd(out[c])) or 1.0
            out[f"{c}_noisy{k}"] = (out[c] + rng.normal(0, 0.5 * sd, rows)).astype("float32")
        else:
            a, b = categorical[k % len(categorical)], categorical[(k + 1) % len(categorical)]
            crossed = pd.Series(out[a]).astype(str) + "|" + pd.Series(out[b]).astype(str)
            out[f"{a}_x_{b}"] = pd.Categorical(crossed)
        k += 1
    df = pd.DataFrame(out)
    df[target] = src[target].to_numpy(dtype=object)[idx]
    return df


def _pss(pid: int) -> int:
    """Proportional set size in bytes: shared pages divided among the processes sharing
    them (forked workers share their libraries with their parent)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
    except (OSError, StopIteration, ValueError):
        return 0


def setup_stages(data: Path, target: str = "happy") -> dict[str, float]:
    """Seconds of each setup stage of ``mlresearcher.engine.run``, in this process."""
    from mlresearcher.data.io import read_table
    from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
    from mlresearcher.data.task import encode_target
    from mlresearcher.engine import _fingerprint, split_target
    from mlresearcher.profile import in_run_sample, profile_features

    out: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        out[name] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()

    X, y = split_target(read_table(data), target)
    lap("read")
    enc, keep = encode_target(y.reset_index(drop=True), target)
    _fingerprint(X.reset_index(drop=True), y, keep, target)
    lap("target_and_data_hash")
    infos, _ = infer_roles(X)
    schema = build_schema(X, infos)
    lap("roles")
    profile_features(X, enc, infos=infos, seed=0, **in_run_sample(300))
    lap("profile")
    prepare_features(X, schema, compact=True)
    lap("prepare_features")
    out["total"] = round(sum(out.values()), 2)
    out["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def peak_tree_rss(pid: int, stop: threading.Event, box: dict) -> None:
    import psutil

    peak = peak_pss = 0
    while not stop.wait(0.5):
        try:
            p = psutil.Process(pid)
            procs = [p] + p.children(recursive=True)
            each = [(q.pid, q.memory_info().rss) for q in procs if q.is_running()]
        except psutil.Error:
            continue
        rss = sum(r for _, r in each)
        if rss > peak:
            peak, box["at_peak_mb"] = rss, [round(r / 2**20) for _, r in each]
        peak_pss = max(peak_pss, sum(_pss(q) for q, _ in each))
    box["peak"], box["peak_pss"] = peak, peak_pss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--out", default="/tmp/mlresearcher-large")
    ap.add_argument(
        "--autogluon",
        metavar="PYTHON",
        help="instead, run AutoGluon (TabularPredictor, same data and time limit) with this"
        " interpreter and measure it the same way",
    )
    ap.add_argument(
        "--stages",
        action="store_true",
        help="instead, time the run's setup stages (reading, roles, profile, features) in process",
    )
    args = ap.parse_args()
    if args.autogluon and shutil.which(args.autogluon) is None:
        ap.error(
            f"--autogluon {args.autogluon!r} is not an interpreter that can run; "
            "run `make bench-setup` and pass benchmarks/automl/.venv-peers/bin/python"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = out / f"gss_large_{args.rows}.parquet"
    t0 = time.monotonic()
    if not data.exists():
        df = generate(args.rows)
        df.to_parquet(data, index=False)
        print(
            f"generated {df.shape[0]:,} rows x {df.shape[1] - 1} features in"
            f" {time.monotonic() - t0:.0f}s -> {data} ({data.stat().st_size / 2**20:.0f} MB)",
            flush=True,
        )
        del df
    if args.stages:
        print(json.dumps(setup_stages(data), indent=2))
        return
    cmd = [
        sys.executable,
        "-m",
        "mlresearcher.cli",
        "run",
        str(data),
        "--target",
        "happy",
        "--time-limit",
        str(args.seconds),
        "--out",
        str(out / "runs"),
        "--json",
    ]
    if args.autogluon:
        code = (
            "import sys, json, time, pandas as pd\n"
            "from autogluon.tabular import TabularPredictor\n"
            "t = time.monotonic(); df = pd.read_parquet(sys.argv[1])\n"
            "p = TabularPredictor(label='happy', path=sys.argv[3], verbosity=0)\n"
            "p.fit(df, time_limit=float(sys.argv[2]))\n"
            "lb = p.leaderboard(silent=True)\n"
            "print(json.dumps({'n_models': len(lb), 'best_model': p.model_best,"
            " 'best_val_score': float(lb['score_val'].max()), 'fit_wall': time.monotonic() - t}))\n"
        )
        cmd = [args.autogluon, "-c", code, str(data), str(args.seconds), str(out / "ag")]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stop, box = threading.Event(), {}
    watcher = threading.Thread(target=peak_tree_rss, args=(proc.pid, stop, box))
    watcher.start()
    stdout, stderr = proc.communicate()
    wall = time.monotonic() - start
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        print(stderr.decode()[-3000:])
        raise SystemExit(proc.returncode)
    summary = json.loads(stdout.decode().strip().splitlines()[-1])
    maxrss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if args.autogluon:
        print(
            json.dumps(
                {
                    "system": "autogluon",
                    "rows": args.rows,
                    "time_limit_s": args.seconds,
                    "wall_s": round(wall, 1),
                    "peak_rss_tree_mb": round(box.get("peak", 0) / 2**20),
                    "rss_by_process_at_peak_mb": box.get("at_peak_mb"),
                    "peak_pss_tree_mb": round(box.get("peak_pss", 0) / 2**20),
                    "peak_rss_child_maxrss_mb": round(maxrss_mb),
                    **summary,
                },
                indent=2,
            )
        )
        return
    maxrss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lb = summary["leaderboard"]
    result = {
        "rows": args.rows,
        "features": 50,
        "time_limit_s": args.seconds,
        "wall_s": round(wall, 1),
        "peak_rss_tree_mb": round(box.get("peak", 0) / 2**20),
        "rss_by_process_at_peak_mb": box.get("at_peak_mb"),
        "peak_pss_tree_mb": round(box.get("peak_pss", 0) / 2**20),
        "peak_rss_child_maxrss_mb": round(maxrss_mb),
        "protocol": summary["protocol"],
        "n_trials": summary["n_trials"],
        "n_complete": summary["n_complete"],
        "origins": sorted({r["origin"] for r in lb}),
        "best_model": summary["best_model"],
        "best_score": summary["best_score"],
        "metric": summary["metric"],
        "stopped_because": summary["stopped_because"],
        "timings": summary["timings"],
    }
    print(json.dumps(result, indent=2))
    print("top of the leaderboard:")
    for r in lb[:8]:
        print(f"  {r['model']:<20} {r['status']:<9} {r['origin']:<10} {r['score']}")


if __name__ == "__main__":
    main()
