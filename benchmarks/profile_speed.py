"""Profile speed: ``mlresearcher profile`` against ydata-profiling on the same table.

The table (default 1,000,000 rows x 50 columns) is built honestly from real dev datasets:
all 32 columns of ``gss_happiness`` (target ``happy``), all 14 of ``credit_scoring`` and
the first 4 of ``diamond_price``, each block's rows resampled with replacement
independently (so there is no association *between* blocks), then noised: numeric
columns with more than 20 distinct values get Gaussian noise of 5 % of their standard
deviation, and 1 % of the cells of every other column are replaced by another value drawn
from the same column. Missing values stay where the resampled rows have them.

Usage::

    python benchmarks/profile_speed.py                      # ours only
    python benchmarks/profile_speed.py --ydata .venv-ydata/bin/python --ydata-rows 100000

With ``--ydata``, that interpreter (a separate virtual environment, see ``make
bench-profile``; ydata-profiling is never a project dependency) profiles the first
``--ydata-rows`` rows of the same table in minimal mode, and its time is extrapolated
linearly to the full table (stated in the output). Both timings are wall-clock on a shared
machine, so they are noisy; the script also prints process CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
BLOCKS = (("gss_happiness", None), ("credit_scoring", None), ("diamond_price", 4))


def datasets_dir() -> Path:
    env = os.environ.get("MLRESEARCHER_DATASETS")
    if env:
        return Path(env)
    for parent in HERE.parents:
        if (parent / "shared" / "datasets" / "manifest.json").exists():
            return parent / "shared" / "datasets"
    return Path("/work/shared/datasets")


def make_table(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for name, first in BLOCKS:
        src = pd.read_parquet(datasets_dir() / f"{name}.parquet")
        if first is not None:
            src = src.iloc[:, :first]
        rows = src.iloc[rng.integers(0, len(src), n_rows)].reset_index(drop=True)
        for c in rows.columns:
            s = rows[c]
            if pd.api.types.is_numeric_dtype(s) and s.nunique() > 20:
                noise = rng.normal(0, 0.05 * float(s.std()), n_rows)
                rows[c] = s.astype("float64") + noise
            else:
                s = s.astype("object")
                flip = rng.random(n_rows) < 0.01
                pool = s.dropna().to_numpy()
                s[flip] = pool[rng.integers(0, len(pool), int(flip.sum()))]
                rows[c] = s if not pd.api.types.is_numeric_dtype(src[c]) else pd.to_numeric(s)
        rows.columns = [
            c if name == "gss_happiness" else f"{name.split('_')[0]}_{c}" for c in rows.columns
        ]
        parts.append(rows)
    return pd.concat(parts, axis=1)


YDATA_SCRIPT = """
import sys, time, pandas as pd
from ydata_profiling import ProfileReport
df = pd.read_parquet(sys.argv[1])
t = time.perf_counter(); c = time.process_time()
report = ProfileReport(df, minimal=True, progress_bar=False)
report.get_description()
print(time.perf_counter() - t, time.process_time() - c)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--ydata", metavar="PYTHON", help="python of a venv with ydata-profiling")
    ap.add_argument("--ydata-rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    from mlresearcher.profile import profile_table

    t = time.perf_counter()
    df = make_table(args.rows)
    print(
        f"table: {df.shape[0]:,} rows x {df.shape[1]} columns (built in {time.perf_counter() - t:.1f}s)"
    )
    ours = []
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        prof = profile_table(df, "happy")
        ours.append((time.perf_counter() - t, time.process_time() - c))
    wall, cpu = min(ours)
    print(f"mlresearcher profile: {wall:.2f}s wall, {cpu:.2f}s CPU, {len(prof.findings)} findings")
    print("  stages:", json.dumps(prof.timings))
    result = {
        "rows": args.rows,
        "columns": df.shape[1],
        "ours_wall_s": round(wall, 3),
        "ours_cpu_s": round(cpu, 3),
    }
    if args.ydata:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sub.parquet"
            sub = df.iloc[: args.ydata_rows]
            sub.to_parquet(path, index=False)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            res = subprocess.run(
                [args.ydata, "-c", YDATA_SCRIPT, str(path)], capture_output=True, text=True
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if res.returncode != 0:
                sys.exit(f"ydata-profiling failed: {res.stderr[-2000:]}")
            y_wall, y_cpu = map(float, res.stdout.strip().splitlines()[-1].split())
            # CPU of the whole child process tree, start-up and reading included: an upper
            # bound that also counts any worker processes ydata-profiling starts
            y_tree = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        scale = args.rows / len(sub)
        print(
            f"ydata-profiling (minimal=True) on {len(sub):,} rows: {y_wall:.2f}s wall, "
            f"{y_cpu:.2f}s CPU in-process ({y_tree:.2f}s CPU for its whole process incl. start-up)"
        )
        print(
            f"  extrapolated linearly to {args.rows:,} rows: {y_wall * scale:.1f}s wall, "
            f"{y_cpu * scale:.1f}s CPU"
        )
        print(
            f"ratio (ydata-profiling extrapolated / ours): {y_wall * scale / wall:.1f}x wall, "
            f"{y_cpu * scale / cpu:.1f}x CPU"
        )
        result.update(
            {
                "ydata_rows": len(sub),
                "ydata_wall_s": round(y_wall, 3),
                "ydata_cpu_s": round(y_cpu, 3),
                "ydata_process_cpu_s": round(y_tree, 3),
                "ydata_extrapolated_wall_s": round(y_wall * scale, 3),
                "ratio_wall": round(y_wall * scale / wall, 2),
                "ratio_cpu": round(y_cpu * scale / cpu, 2),
            }
        )
    load = os.getloadavg()
    result["load_average_1min"] = round(load[0], 2)
    print(
        f"note: wall-clock on a {os.cpu_count()}-core machine shared with other jobs (load "
        f"average {load[0]:.1f}); wall times are noisy, CPU times less so"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
