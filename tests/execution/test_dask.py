"""Trials on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on
loopback. With a trial-count budget the result equals the local one; a worker killed
mid-trial costs only that trial's retry."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from exec_helpers import free_port, small_problem, start, stop, wait_for

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402

from mlresearcher.engine import RunConfig, run  # noqa: E402
from mlresearcher.execution.cluster import MAX_RETRIES, DaskExecutor  # noqa: E402
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


def test_a_trial_that_kills_every_worker_fails_once_the_scheduler_gives_up():
    """On a local cluster (nannies restart dead workers) the scheduler moves a trial whose
    worker died to another worker, up to its allowed failures; then the trial fails with
    the reason, and no further round of submissions kills more workers."""
    from exec_helpers import WorkerKillerFamily, trial_data

    from mlresearcher.execution.trial import TrialJob

    data = trial_data()
    data.families = {"worker_killer": WorkerKillerFamily()}
    ex = DaskExecutor("local:2")
    try:
        ex.start(data)
        now = time.time()
        ex.submit(TrialJob(0, "worker_killer", {"C": 1.0}, "default", False, submitted_wall=now))
        ex.submit(TrialJob(1, "linear", {"C": 1.0}, "default", False, submitted_wall=now))
        results, end = [], time.monotonic() + 150
        while len(results) < 2 and time.monotonic() < end:
            results += ex.wait(timeout=1.0)
        log = ex.client.run_on_scheduler(
            lambda dask_scheduler: [(str(e[0]), e[2]) for e in dask_scheduler.transition_log]
        )
    finally:
        ex.close()
    by_number = {r.number: r for r in results}
    assert set(by_number) == {0, 1}, "the campaign would wait forever on the killer trial"
    assert by_number[1].status == "complete", by_number[1].error
    error = by_number[0].error
    assert by_number[0].status == "failed" and "on each of its" in error and "stopped" in error
    starts = sum(
        1
        for k, finish in log
        if re.fullmatch(r"trial-[0-9a-f]+-0(-r\d+)?", k) and finish == "processing"
    )
    allowed = int(dask.config.get("distributed.scheduler.allowed-failures"))
    assert 1 <= starts <= (MAX_RETRIES + 1) * (allowed + 1)  # bounded: no worker-killing loop
