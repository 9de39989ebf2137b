"""Resume: a real run killed with SIGKILL mid-campaign reads as interrupted and continues
with `mlresearcher resume`; every trial finished before the kill is kept as it was, none is
re-run, and the store and run directory end consistent."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import load_dataset

from mlresearcher.store.db import Store, default_store_url

CLI = [sys.executable, "-m", "mlresearcher.cli"]
HOST = socket.gethostname()


def _trials(out: Path) -> tuple[str | None, list[dict]]:
    if not (out / "mlresearcher.db").exists():
        return None, []
    store = Store(default_store_url(out))
    try:
        runs = store.list_runs()
        if not runs:
            return None, []
        return runs[0]["run_id"], store.trials(runs[0]["run_id"])
    finally:
        store.close()


def _run_row(out: Path, run_id: str) -> dict:
    store = Store(default_store_url(out))
    try:
        return store.get_run(run_id)
    finally:
        store.close()


def test_a_run_killed_mid_campaign_resumes_without_losing_or_rerunning_trials(tmp_path):
    df, _ = load_dataset("credit_scoring", n=1500)
    data = tmp_path / "credit.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "runs"
    cmd = CLI + ["run", str(data), "--target", "Status", "--max-trials", "12", "--out", str(out)]
    cmd += [
        "--families",
        "linear,lightgbm,knn",
        "--folds",
        "3",
        "--repeats",
        "1",
        "--n-jobs",
        "1",
        "-q",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        end = time.monotonic() + 90
        run_id, before = None, []
        while time.monotonic() < end and len(before) < 4:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.2)
            run_id, before = _trials(out)
        assert 4 <= len(before) < 12, "the run recorded too few trials to kill it mid-campaign"
        live = _run_row(out, run_id)
        assert live["status"] == "running" and live["owner"] == f"{HOST}:{proc.pid}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    _, before = _trials(out)  # whatever landed up to the kill
    # killed, nobody marked it: its process is gone, so it reads and is stored as interrupted
    listed = subprocess.run(
        CLI + ["runs", "list", "--out", str(out), "--json"], capture_output=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr.decode()[-2000:]
    assert [(r["run_id"], r["status"]) for r in json.loads(listed.stdout)] == [
        (run_id, "interrupted")
    ]
    checkpoints = sorted(p.name for p in (out / run_id / "trials").glob("*.joblib"))
    assert checkpoints, "complete trials should have checkpointed fold models"

    res = subprocess.run(
        CLI + ["resume", run_id[:12], "--out", str(out), "--json"],
        capture_output=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    summary = json.loads(res.stdout)
    assert summary["resumed_trials"] == len(before)
    _, after = _trials(out)
    numbers = [t["number"] for t in after]
    assert numbers == list(range(12))  # the budget of 12 trials, none lost, none twice
    by_number = {t["number"]: t for t in after}
    for t in before:  # kept exactly as recorded: not re-run, not lost
        assert by_number[t["number"]] == t
    # a family default finished before the kill is not run again
    defaults = [
        (t["family"], json.dumps(t["params"], sort_keys=True))
        for t in after
        if t["origin"] == "default"
    ]
    assert len(defaults) == len(set(defaults))
    row = _run_row(out, run_id)
    assert row["status"] == "finished" and row["n_trials"] == len(after)
    assert row["owner"].startswith(f"{HOST}:") and row["owner"] != f"{HOST}:{proc.pid}"
    run_dir = out / run_id
    assert not (run_dir / "trials").exists()  # checkpoints dropped once the model is saved
    lb = pd.read_csv(run_dir / "leaderboard.csv")
    assert set(lb["model"]) >= {f"{t['family']}#{t['number']}" for t in before}
    pred = subprocess.run(
        CLI + ["predict", str(run_dir), str(data), "--no-input"], capture_output=True, timeout=60
    )
    assert pred.returncode == 0, pred.stderr.decode()[-2000:]
    print(f"resume: {len(before)} trials before the kill, {len(after)} after resume")


def test_the_default_resume_budget_is_what_the_run_had_left():
    from types import SimpleNamespace

    from mlresearcher.commands.resume import resume_budget

    stored = {"created_at": 1000.0}
    prior = [SimpleNamespace(finished_at=1030.0), SimpleNamespace(finished_at=1045.0)]
    assert resume_budget(stored, prior, 120.0, None) == 75.0  # 45 s spent of 120
    assert resume_budget(stored, prior, 50.0, None) == 5.0  # nearly spent: a floor
    assert resume_budget(stored, prior, 120.0, 30.0) == 30.0  # --time-limit wins
    assert resume_budget(stored, prior, None, None) is None  # a --max-trials run


def test_an_altered_or_unreadable_checkpoint_is_reported_not_taken_for_absent(tmp_path, capsys):
    import numpy as np

    from mlresearcher.commands.resume import finished_trials
    from mlresearcher.execution.trial import TrialResult
    from mlresearcher.store.checkpoints import CheckpointError, TrialCheckpoints

    store = Store(f"sqlite:///{tmp_path / 'runs.db'}")
    store.create_run("r")
    cps = TrialCheckpoints(tmp_path / "r")
    for n in range(3):
        t = TrialResult(number=n, family="linear", params={}, origin="default")
        t.status, t.fold_scores = "complete", [0.8, 0.81]
        t.oof, t.models = np.full((1, 4), float(n)), [f"model-{n}"]
        cps.save(t)
        store.record_trial("r", {"number": n, "family": "linear", "status": "complete"})
    assert cps.load(1)["models"] == ["model-1"]
    f = cps.path(1)
    data = bytearray(f.read_bytes())
    data[-3] ^= 0xFF  # one flipped byte
    f.write_bytes(bytes(data))
    cps.path(2).write_bytes(b"not a pickle")
    (tmp_path / "r" / "trials" / "2.sha256").unlink()
    for n in (1, 2):
        with pytest.raises(CheckpointError):
            cps.load(n)
    unusable: list[int] = []
    trials = finished_trials(store, "r", tmp_path / "r", unusable)
    assert unusable == [1, 2]
    assert trials[0].models == ["model-0"] and trials[1].models is None
    err = capsys.readouterr().err
    assert "trial 1's checkpoint is not usable" in err and "SHA-256" in err
    store.close()


def test_a_run_whose_process_is_alive_is_not_resumed_twice(tmp_path, capsys):
    from mlresearcher import cli

    out = tmp_path / "runs"
    store = Store(default_store_url(out))
    store.create_run("r-live", data_source=str(tmp_path / "data.csv"))  # owned by this process
    store.close()
    assert cli.main(["resume", "r-live", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "is still running (process" in err and err.count("\n") == 1


def test_a_crash_between_the_run_directory_and_the_store_is_completed_not_rerun(tmp_path):
    """The run directory is written whole (manifest last), then the process dies before the
    store records the end: the run reads as interrupted, and resume completes its record
    from the verified directory without running anything again."""
    out = tmp_path / "runs"
    data = Path(__file__).resolve().parents[1] / "examples" / "penguins.csv"
    argv = ["run", str(data), "--target", "species", "--max-trials", "3", "--families", "linear"]
    argv += ["--out", str(out), "-q"]
    crash = (
        "import os, sys\n"
        "import mlresearcher.store.db as db\n"
        "finish = db.Store.finish_run\n"
        "def dies(self, run_id, status='finished', **kw):\n"
        "    if status == 'finished':\n"
        "        os._exit(9)  # the kernel kills it: nothing more is written\n"
        "    finish(self, run_id, status, **kw)\n"
        "db.Store.finish_run = dies\n"
        "from mlresearcher import cli\n"
        f"sys.exit(cli.main({argv!r}))\n"
    )
    r = subprocess.run([sys.executable, "-c", crash], capture_output=True, timeout=120)
    assert r.returncode == 9, r.stderr.decode()[-2000:]
    run_id, trials = _trials(out)
    store = Store(default_store_url(out))
    assert store.get_run(run_id)["status"] == "interrupted"
    manifest = json.loads((out / run_id / "manifest.json").read_text())
    res = subprocess.run(
        CLI + ["resume", run_id, "--out", str(out), "--json"], capture_output=True, timeout=120
    )
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    assert json.loads(res.stdout)["recovered_from"] == "manifest.json"
    row = store.get_run(run_id)
    assert row["status"] == "finished" and row["best_score"] == manifest["best_score"]
    assert row["n_trials"] == manifest["n_trials"] == 3
    _, after = _trials(out)
    assert after == trials  # nothing ran again
    assert not (out / run_id / "trials").exists()
    store.close()
