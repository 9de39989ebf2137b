"""Time to first trial result: from starting ``mlresearcher run`` (a new process, so the
interpreter start, imports and data loading count) until the first trial is committed to
the run store.

The run's SQLite store is polled every 10 ms from this process; the run itself is the
ordinary CLI command, untouched. Also reports the CPU seconds the run had used by then
(user + system, read from ``/proc``: on a busy machine the wall time mostly measures
waiting for a core, the CPU time what an idle machine would need), and the CLI's import
time alone (``python -c "import mlresearcher.cli"``) and that of the engine with the
libraries a run loads before its first trial (``import mlresearcher.engine``: scikit-learn,
pandas, SQLAlchemy; most of the time to the first result, and the machine's yardstick),
plain and, alternating with it, with the garbage collector paused as ``run`` pauses it
(:func:`mlresearcher.cli.paused_gc`). Median of ``--repeats`` runs per task; "small" tasks
are those under ``--max-rows`` rows (default 10,000).

    .venv/bin/python benchmarks/automl/first_trial.py --out benchmarks/out/first_trial.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tasks import default_datasets, load_tasks  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def first_trial_s(
    data: Path, target: str, *, limit: float = 30, timeout: float = 120
) -> tuple[float, float]:
    """Wall and CPU seconds from process start to the first trial row in the store
    (inf when none came)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "mlresearcher.db"
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlresearcher.cli", "run", str(data), "--target", target]
            + ["--time-limit", str(limit), "--out", tmp, "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        found = cpu = float("inf")
        try:
            while time.perf_counter() - t0 < timeout and proc.poll() is None:
                if db.exists():
                    try:
                        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05) as c:
                            if c.execute("select count(*) from trials").fetchone()[0]:
                                found = time.perf_counter() - t0
                                cpu = _cpu_s(proc.pid)
                                break
                    except sqlite3.Error:
                        pass  # table not created yet, or locked for a write
                time.sleep(0.01)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return found, cpu


def import_times(module: str, paused_gc: bool = False) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds to start a new interpreter and import
    ``module`` (with the garbage collector paused as ``mlresearcher run`` pauses it, when
    ``paused_gc``)."""
    code = f"import {module}"
    if paused_gc:
        code = f"from mlresearcher.cli import paused_gc\nwith paused_gc():\n    {code}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--datasets", default=None)
    ap.add_argument("--tasks", default=None, help="comma-separated names (default: small ones)")
    ap.add_argument("--max-rows", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None, help="append one JSON line per task here")
    ap.add_argument(
        "--imports-only", action="store_true", help="time the imports only, no first trials"
    )
    args = ap.parse_args()
    tasks = load_tasks(Path(args.datasets) if args.datasets else default_datasets())
    if args.imports_only:
        tasks = []
    elif args.tasks:
        wanted = [n.strip() for n in args.tasks.split(",") if n.strip()]
        unknown = sorted(set(wanted) - {t.name for t in tasks})
        if unknown:
            names = ", ".join(t.name for t in tasks)
            print(
                f"first_trial: error: unknown task {', '.join(unknown)}; tasks are {names}",
                file=sys.stderr,
            )
            return 2
        tasks = [t for t in tasks if t.name in wanted]
    else:
        tasks = [t for t in tasks if t.n_rows < args.max_rows]
    imports = [import_times("mlresearcher.cli")[0] for _ in range(args.repeats)]
    print(f"import mlresearcher.cli: median {statistics.median(imports):.2f} s")
    # the libraries a run imports before its first trial (scikit-learn, pandas, SQLAlchemy):
    # the machine's yardstick, since they are most of the time to the first result
    # side by side, alternating: the plain import, and the import as `run` does it
    plain, paused = [], []
    for _ in range(args.repeats):
        plain.append(import_times("mlresearcher.engine"))
        paused.append(import_times("mlresearcher.engine", paused_gc=True))
    engine, engine_gc = [w for w, _ in plain], [w for w, _ in paused]
    med = statistics.median
    print(
        f"import mlresearcher.engine: median {med(engine):.2f} s "
        f"(CPU {med(c for _, c in plain):.2f} s); with the collector paused "
        f"{med(engine_gc):.2f} s (CPU {med(c for _, c in paused):.2f} s)"
    )
    if tasks:
        print(
            "| task | rows | first trial result: wall s (median) | CPU s (median) "
            "| wall s, all runs |"
        )
        print("|---|---|---|---|---|")
    for t in tasks:
        runs = [first_trial_s(t.path, t.target) for _ in range(args.repeats)]
        times, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(
            f"| {t.name} | {t.n_rows} | {statistics.median(times):.2f} | "
            f"{statistics.median(cpus):.2f} | {', '.join(f'{x:.2f}' for x in times)} |",
            flush=True,
        )
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            with open(args.out, "a") as f:
                row = {"task": t.name, "n_rows": t.n_rows, "first_trial_s": times, "cpu_s": cpus}
                f.write(
                    json.dumps(
                        {**row, "import_s": imports, "engine_import_s": engine}
                        | {"engine_import_paused_gc_s": engine_gc}
                        | {"load1": os.getloadavg()[0]}
                    )
                )
                f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
