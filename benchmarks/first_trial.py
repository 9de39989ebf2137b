"""Time to the first trial, this checkout against another (the default executor must not
slow small runs down).

    .venv/bin/python benchmarks/first_trial.py --other /work/main/src [--reps 5]

Runs ``mlresearcher run examples/penguins.csv --target species --max-trials 1 --folds 3
--repeats 1 --n-jobs 1 --json``
with each source tree on ``PYTHONPATH`` (same interpreter and libraries), alternating so
machine load hits both alike, and prints the median wall time of each (start-up, reading,
one trial of 3 folds on one thread, ensemble, saving) and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def once(src: str, out: str) -> float:
    cmd = [sys.executable, "-m", "mlresearcher.cli", "run", str(ROOT / "examples/penguins.csv")]
    cmd += ["--target", "species", "--max-trials", "1", "--out", out, "--json"]
    cmd += ["--folds", "3", "--repeats", "1", "--n-jobs", "1"]
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": src})
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--other", required=True, help="src folder of the checkout to compare")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    times: dict[str, list[float]] = {"this": [], "other": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.reps):
            times["this"].append(once(str(ROOT / "src"), tmp))
            times["other"].append(once(args.other, tmp))
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:<6} median {med[k]:.2f}s  runs {' '.join(f'{x:.2f}' for x in v)}")
    print(f"this / other = {med['this'] / med['other']:.3f}")


if __name__ == "__main__":
    main()
