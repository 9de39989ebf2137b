"""Failure injection: trials that crash, hang, exhaust memory and kill their worker, on every
executor, and SIGKILLs of a whole run at random moments followed by ``resume``.

Part 1, faults inside trials. For each executor a real campaign runs the linear and
LightGBM families beside ``chaos_family:ChaosFamily`` (``benchmarks/chaos_family.py``),
whose first trials each inject one fault. The in-process executor shares the run's
process with its trials, so only the crash is injected there (a hang, a memory blow-up or
a kill there is the run's own death: part 2). Store workers that die are restarted, as a
supervisor (systemd, Kubernetes) would restart them.

Part 2, the whole run SIGKILLed at a uniformly random moment of its 30 s budget (the last
seconds are the analysis and the saving), then resumed (``--kills`` times, alternating
the in-process and process executors).

Counted, from the store and the run directories:
  lost          a trial complete before a kill (or reported complete by the campaign) that
                is missing or changed afterwards
  duplicated    a trial number recorded twice, or a family configuration run twice
  unresumable   a killed run that ``resume`` could not finish, or whose files do not verify
  healthy hurt  a healthy trial failed because of a neighbour's fault (part 1)

    .venv/bin/python benchmarks/chaos.py                     # about 15 minutes on 2 cores
    .venv/bin/python benchmarks/chaos.py --kills 3 --part 2
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "examples" / "penguins.csv"
TARGET = "species"
CLI = [sys.executable, "-m", "mlresearcher.cli"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
ALL_FAULTS = ["crash", "hang", "memory", "kill"]
EXECUTORS: dict[str, dict[str, Any]] = {
    "in-process": {"args": [], "faults": ["crash"], "budget": 40},
    "processes": {
        "args": ["--cluster", "processes:2", "--trial-timeout", "15", "--trial-memory", "1500"],
        "faults": ALL_FAULTS,
        "budget": 60,
    },
    "dask": {"args": ["--cluster", "local:2"], "faults": ALL_FAULTS, "budget": 90},
    "store": {"args": ["--cluster", "store:2"], "faults": ALL_FAULTS, "budget": 120, "workers": 2},
}


def _store(out: Path) -> Any:
    from mlresearcher.store.db import Store, default_store_url

    return Store(default_store_url(out))


def _runs(out: Path) -> list[dict[str, Any]]:
    if not (out / "mlresearcher.db").exists():
        return []
    store = _store(out)
    try:
        return [{**r, "trials": store.trials(r["run_id"])} for r in store.list_runs()]
    finally:
        store.close()


def _key(t: dict[str, Any]) -> tuple:
    return (
        t["number"],
        t["family"],
        json.dumps(t["params"], sort_keys=True),
        t["status"],
        t["score"],
    )


def _duplicated(trials: list[dict[str, Any]]) -> int:
    numbers = [t["number"] for t in trials]
    configs = [
        (t["family"], json.dumps(t["params"], sort_keys=True))
        for t in trials
        if t["origin"] in ("default", "portfolio") and t["status"] == "complete"
    ]
    return (len(numbers) - len(set(numbers))) + (len(configs) - len(set(configs)))


def _verifies(run_dir: str | None) -> bool:
    from mlresearcher.errors import UserError
    from mlresearcher.store.integrity import verify_run

    try:
        verify_run(Path(run_dir or ""))
        return True
    except UserError:
        return False


def _cli(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=timeout)


def _run_cmd(out: Path, families: str, budget: float, *extra: str) -> list[str]:
    """``mlresearcher run`` on the example with ``families``, ``budget`` seconds, into ``out``."""
    return [
        *CLI,
        "run",
        str(DATA),
        "--target",
        TARGET,
        "--families",
        families,
        "--time-limit",
        str(budget),
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def part1(tmp: Path) -> list[dict[str, Any]]:
    rows = []
    for name, spec in EXECUTORS.items():
        out = tmp / f"faults-{name}"
        env = {**ENV, "CHAOS_FAULTS": ",".join(spec["faults"])}
        cmd = _run_cmd(
            out, "linear,lightgbm,chaos_family:ChaosFamily", spec["budget"], "--json", *spec["args"]
        )
        t0 = time.monotonic()
        run = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
        )
        workers: list[subprocess.Popen] = []
        restarts = 0
        while run.poll() is None:
            if spec.get("workers"):
                runs = _runs(out)
                if runs:
                    alive = [w for w in workers if w.poll() is None]
                    restarts += len(workers) - len(alive)
                    workers = alive
                    while len(workers) < spec["workers"]:
                        workers.append(
                            subprocess.Popen(
                                [
                                    *CLI,
                                    "worker",
                                    runs[0]["run_id"],
                                    "--out",
                                    str(out),
                                    "--max-idle",
                                    "30",
                                ],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                env=env,
                            )
                        )
            time.sleep(0.5)
        stdout, stderr = run.communicate()
        wall = time.monotonic() - t0
        for w in workers:
            w.kill()
            w.wait()
        stored = _runs(out)
        trials = stored[0]["trials"] if stored else []
        faults = {}
        for t in trials:
            fault = (t["params"] or {}).get("fault")
            if fault and fault != "none":
                faults[fault] = (t["status"], (t["error"] or "").splitlines()[0][:90])
        reported = {}
        if run.returncode == 0 and stored:
            run_dir = Path(stored[0]["run_dir"])
            reported = {t["number"]: t for t in json.loads((run_dir / "trials.json").read_text())}
        by_number = {t["number"]: t for t in trials}
        lost = sum(
            1
            for n, t in reported.items()
            if t["status"] == "complete"
            and (n not in by_number or by_number[n]["status"] != "complete")
        )
        # a healthy trial failed: the budget's end stopping it is not a neighbour's fault
        hurt = [
            f"{t['family']}#{t['number']}: {(t['error'] or '').splitlines()[0][:120]}"
            for t in trials
            if t["status"] == "failed"
            and (t["params"] or {}).get("fault", "none") == "none"
            and not (t["error"] or "").startswith("stopped: still running at the time limit")
        ]
        rows.append(
            {
                "executor": name,
                "rc": run.returncode,
                "error": stderr.strip().splitlines()[-1:] if run.returncode else [],
                "status": stored[0]["status"] if stored else None,
                "verifies": bool(stored) and _verifies(stored[0]["run_dir"]),
                "wall_s": round(wall, 1),
                "budget_s": spec["budget"],
                "trials": len(trials),
                "complete": sum(t["status"] == "complete" for t in trials),
                "faults": faults,
                "lost": lost,
                "duplicated": _duplicated(trials),
                "healthy_hurt": len(hurt),
                "healthy_failures": hurt,
                "worker_restarts": restarts,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def part2(tmp: Path, kills: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    budget = 30
    rows = []
    for i in range(kills):
        out = tmp / f"kill-{i}"
        executor = [] if i % 2 == 0 else ["--cluster", "processes:2"]
        cmd = _run_cmd(out, "linear,lightgbm,knn,random_forest", budget, *executor)
        at = rng.uniform(1.0, budget - 1.0)  # the run's last seconds are its saving
        p = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=ENV,
            start_new_session=True,
        )
        time.sleep(at)
        finished_first = p.poll() is not None
        if not finished_first:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        before = _runs(out)
        row: dict[str, Any] = {
            "kill": i,
            "executor": "in-process" if not executor else "processes:2",
            "at_s": round(at, 1),
            "finished_before_kill": finished_first,
            "run_created": bool(before),
        }
        if not before:  # killed before the run was stored: nothing to resume, nothing lost
            row.update(lost=0, duplicated=0, unresumable=0)
            rows.append(row)
            print(json.dumps(row), flush=True)
            continue
        run_id = before[0]["run_id"]
        complete_before = [t for t in before[0]["trials"] if t["status"] == "complete"]
        row["status_after_kill"] = before[0]["status"]
        row["complete_before"] = len(complete_before)
        rc = 0
        if before[0]["status"] != "finished":
            r = _cli(["resume", run_id, "--out", str(out), "--quiet", "--json"], ENV, 300)
            rc = r.returncode
            row["resume_error"] = r.stderr.strip().splitlines()[-1:] if rc else []
        after = _runs(out)[0]
        keys_after = {_key(t) for t in after["trials"]}
        row.update(
            resume_rc=rc,
            status=after["status"],
            trials_after=len(after["trials"]),
            lost=sum(_key(t) not in keys_after for t in complete_before),
            duplicated=_duplicated(after["trials"]),
            unresumable=int(
                rc != 0 or after["status"] != "finished" or not _verifies(after["run_dir"])
            ),
        )
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--part", type=int, choices=(1, 2), action="append")
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE / "out" / "chaos.json")
    args = ap.parse_args()
    parts = args.part or [1, 2]
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mlr-chaos-") as tmp:
        if 1 in parts:
            result["faults"] = part1(Path(tmp))
        if 2 in parts:
            result["kills"] = part2(Path(tmp), args.kills, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print()
    if "faults" in result:
        print(
            "| executor | run | wall / budget s | trials (complete) | crash | hang | memory | kill "
            "| lost | duplicated | healthy hurt |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in result["faults"]:
            cells = [r["faults"].get(f, ("-",))[0] for f in ALL_FAULTS]
            run = f"{r['status']}{', verified' if r['verifies'] else ''}"
            print(
                f"| {r['executor']} | {run} | {r['wall_s']} / {r['budget_s']} "
                f"| {r['trials']} ({r['complete']}) | {' | '.join(cells)} | {r['lost']} "
                f"| {r['duplicated']} | {r['healthy_hurt']} |"
            )
    if "kills" in result:
        k = result["kills"]
        print(
            f"\n{len(k)} SIGKILLs: finished trials lost {sum(r['lost'] for r in k)}, "
            f"duplicated {sum(r['duplicated'] for r in k)}, "
            f"runs left unresumable {sum(r['unresumable'] for r in k)} "
            f"({sum(not r['run_created'] for r in k)} killed before the run was stored, "
            f"{sum(r['finished_before_kill'] for r in k)} finished before the kill)"
        )


if __name__ == "__main__":
    main()
