"""A trial that kills its worker every time is given up after a few workers, not requeued
forever: the campaign gets it back as failed, with the reason, and goes on."""

from __future__ import annotations

import pickle
import time

from exec_helpers import trial_data

from mlresearcher.execution.queue import StoreQueueExecutor
from mlresearcher.execution.trial import TrialJob
from mlresearcher.store.db import Store


def _dead_claim(store: Store, worker: str) -> int:
    """A worker that claims the trial and dies at once: no heartbeat, no result."""
    claim = store.claim(worker, "r")
    assert claim is not None
    return claim[0]


def test_a_trial_that_loses_every_worker_is_failed_after_the_last_attempt(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    store.create_run("r")
    store.enqueue("r", 0, b"job")
    for attempt in range(1, 4):
        _dead_claim(store, f"w{attempt}")
        time.sleep(0.05)
        given_up = store.requeue_stale("r", older_than=0.01, max_attempts=3)
        row = store.queue_rows("r")[0]
        assert row["attempts"] == attempt
        if attempt < 3:
            assert given_up == [] and row["status"] == "queued"
        else:
            assert given_up == [0] and row["status"] == "failed"
    assert store.claim("w4", "r") is None  # never handed out again
    store.close()


def test_the_store_executor_returns_a_trial_whose_workers_all_died_as_failed(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'q.db'}")
    store.create_run("r")
    ex = StoreQueueExecutor(store, "r", slots=1, stale_after=0.2, max_attempts=2)
    ex.start(trial_data(200))
    ex.submit(TrialJob(0, "linear", {}, "default", True, submitted_wall=time.time()))
    assert pickle.loads(store.claim("dies-1", "r")[2]).number == 0
    t0 = time.monotonic()
    results = []
    while not results and time.monotonic() - t0 < 20:
        results = ex.wait(timeout=0.5)
        row = store.queue_rows("r")[0]
        if row["status"] == "queued":  # requeued: the next worker claims it and dies too
            store.claim("dies-2", "r")
    assert [r.status for r in results] == ["failed"]
    assert "stopped" in results[0].error and "2 attempts" in results[0].error
    assert ex.in_flight() == 0  # the campaign no longer waits for it
    ex.close()
    store.close()
