"""Trials on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on
loopback. With a trial-count budget the result equals the local one; a worker killed
mid-trial costs only that trial's retry."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from exec_helpers import free_port, small_problem, start, stop, wait_for

distributed = pytest.importorskip("distributed")

from mlresearcher.engine import RunConfig, run  # noqa: E402
from mlresearcher.execution.cluster import DaskExecutor  # noqa: E402
from mlresearcher.metrics import get_metric  # noqa: E402
from mlresearcher.models.registry import get_families  # noqa: E402
from mlresearcher.search.campaign import Campaign  # noqa: E402

DASK = str(Path(sys.executable).parent / "dask")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    logs = tmp_path_factory.mktemp("dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [
        start(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            logs / "scheduler.log",
        )
    ]
    for i in range(2):
        procs.append(
            start(
                [
                    DASK,
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--name",
                    f"w{i}",
                ],
                logs / f"worker{i}.log",
            )
        )
    try:
        client = wait_for(lambda: _connect(address), 60, "the Dask scheduler")
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 60, "two Dask workers")
        yield address, client
        client.close()
    finally:
        stop(*procs)


def _connect(address):
    try:
        return distributed.Client(address, timeout=2, set_as_default=False)
    except (OSError, TimeoutError):
        return None


def _frame(n=600):
    from conftest import load_dataset

    df, _ = load_dataset("credit_scoring", n=n)
    return df.drop(columns=["Status"]), df["Status"]


def test_a_trial_count_campaign_on_the_cluster_equals_the_local_one(cluster):
    address, _ = cluster
    X, y = _frame()
    config = dict(
        max_trials=6, time_limit=None, families=["linear", "lightgbm", "knn"], n_jobs=1, folds=3
    )
    local = run(X, y, RunConfig(**config))
    remote = run(X, y, RunConfig(**config, cluster=address))
    cols = ["model", "status"]
    assert local.leaderboard[cols].equals(remote.leaderboard[cols])
    np.testing.assert_allclose(
        local.leaderboard["score"].astype(float),
        remote.leaderboard["score"].astype(float),
        rtol=1e-9,
    )
    workers = {t.worker for t in remote.campaign.trials}
    assert len(workers) == 2  # both workers ran trials
    np.testing.assert_allclose(
        local.predictor.predict_scores(X), remote.predictor.predict_scores(X), rtol=1e-9
    )


def test_a_worker_killed_mid_trial_costs_only_that_trials_retry(cluster):
    address, client = cluster
    X, target, schema, protocol = small_problem(1200)
    camp = Campaign(
        X,
        target,
        schema,
        protocol,
        get_metric(None, "binary"),
        get_families(["random_forest", "extra_trees"]),
        n_jobs=1,
        max_trials=4,
        executor=DaskExecutor(address),
    )
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("result", camp.run()), daemon=True)
    t.start()

    def busy_worker():
        for addr, keys in client.processing().items():
            if keys:
                return addr, next(iter(keys))
        return None

    addr, victim_key = wait_for(busy_worker, 60, "a trial running on a worker", interval=0.05)
    time.sleep(0.3)  # well inside the trial (several seconds of forest growing)
    pid = client.run(os.getpid, workers=[addr])[addr]
    held = {int(str(k).split("-")[2]) for k in client.processing()[addr]}
    os.kill(pid, signal.SIGKILL)
    t.join(timeout=180)
    assert not t.is_alive(), "the campaign did not finish after losing a worker"
    result = box["result"]
    assert [r.number for r in result.trials] == [0, 1, 2, 3]
    assert all(r.status in ("complete", "pruned") for r in result.trials), [
        (r.status, r.error) for r in result.trials
    ]
    log = client.run_on_scheduler(
        lambda dask_scheduler: [(str(e[0]), e[2]) for e in dask_scheduler.transition_log]
    )
    prefix = "-".join(str(victim_key).split("-")[:2])
    victim = int(str(victim_key).split("-")[2])
    starts = {}  # trial number -> times a worker started it
    for key, finish in log:
        if key.startswith(prefix) and finish == "processing":
            n = int(key.split("-")[2])
            starts[n] = starts.get(n, 0) + 1
    print("trial starts on workers:", starts, "killed during trial", victim, "held", held)
    assert sorted(starts) == [0, 1, 2, 3]
    assert held == {victim}  # the killed worker held only the trial it was running
    assert starts[victim] == 2  # that trial ran again
    assert all(v == 1 for n, v in starts.items() if n != victim)  # no other trial did
