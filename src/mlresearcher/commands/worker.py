"""``mlresearcher worker [RUN_ID] --store URL``: run trials queued in a shared store.

Start any number of workers, on any machines that reach the store (PostgreSQL for more
than one machine), next to a campaign started with ``run ... --cluster store``. Each
worker claims one queued trial at a time, runs it on the run's data (loaded once from the
store), and writes the result back; the campaign collects it.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "worker",
        help="run trials queued in a shared store by `run --cluster store`",
        description="Claim and run trials that campaigns queued in the store (--cluster store).",
    )
    p.add_argument("run_id", nargs="?", help="only this run's trials (default: any run's)")
    p.add_argument("--out", default="runs", metavar="DIR", help="runs folder (default ./runs)")
    p.add_argument(
        "--store", metavar="URL", help="store URL (default sqlite:///DIR/mlresearcher.db)"
    )
    p.add_argument(
        "--max-idle",
        type=float,
        default=None,
        metavar="SECONDS",
        help="exit after this long without a trial to run (default: wait until RUN_ID ends,"
        " or forever without RUN_ID)",
    )
    p.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace, argv: list[str]) -> int:
    import pickle

    from mlresearcher.cli import _store
    from mlresearcher.execution.queue import HEARTBEAT_S
    from mlresearcher.execution.trial import run_trial, worker_name

    store = _store(args.out, args.store)
    if args.run_id:
        args.run_id = store.get_run(args.run_id)["run_id"]
    name = worker_name()
    data: dict[str, Any] = {}  # run id -> TrialData (the latest run only)
    idle_since = time.monotonic()
    n_done = 0
    print(f"worker {name}: waiting for trials in {store.url}", file=sys.stderr, flush=True)
    while True:
        claim = store.claim(name, args.run_id)
        if claim is None:
            if args.run_id and store.get_run(args.run_id)["status"] != "running":
                break
            if args.max_idle is not None and time.monotonic() - idle_since > args.max_idle:
                break
            time.sleep(0.2)
            continue
        row_id, run_id, job_blob = claim
        if run_id not in data:
            blob = store.get_payload(run_id)
            if blob is None:  # the run ended meanwhile
                continue
            data.clear()
            data[run_id] = pickle.loads(blob)
        job = pickle.loads(job_blob)
        beating = threading.Event()

        def beat(row: int = row_id, stop: threading.Event = beating) -> None:
            while not stop.wait(HEARTBEAT_S):
                store.heartbeat(row, name)

        t = threading.Thread(target=beat, daemon=True)
        t.start()
        t0 = time.monotonic()
        try:
            result = run_trial(data[run_id], job)
        finally:
            beating.set()
            t.join()
        kept = store.complete(row_id, name, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        n_done += 1
        print(
            f"worker {name}: {run_id} trial {job.number} ({job.family}) {result.status} in"
            f" {time.monotonic() - t0:.1f}s{'' if kept else ' (claim lost; result dropped)'}",
            file=sys.stderr,
            flush=True,
        )
        idle_since = time.monotonic()
    print(f"worker {name}: {n_done} trial(s) run; exiting", file=sys.stderr, flush=True)
    return 0
