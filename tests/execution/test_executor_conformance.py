"""One conformance suite over every executor: the same trials give the same results
wherever they run, a failing trial comes back failed with its reason, and abandoning
returns the trials in flight as failed."""

from __future__ import annotations

import time

import numpy as np
import pytest
from exec_helpers import MLRESEARCHER, start, stop, trial_data

from mlresearcher.execution import InProcessExecutor
from mlresearcher.execution.trial import TrialJob, run_trial


def _jobs() -> list[TrialJob]:
    now = time.time()
    return [
        TrialJob(0, "linear", {"C": 1.0}, "default", False, submitted_wall=now),
        TrialJob(
            1,
            "lightgbm",
            {"num_boost_round": 50, "num_leaves": 15},
            "search",
            True,
            submitted_wall=now,
        ),
        TrialJob(
            2, "knn", {"n_neighbors": 7, "weights": "uniform"}, "search", True, submitted_wall=now
        ),
    ]


def _make(kind: str, tmp_path):
    if kind == "in-process":
        return InProcessExecutor(), []
    if kind == "processes":
        from mlresearcher.execution.isolated import ProcessExecutor

        return ProcessExecutor(2), []
    if kind == "dask":
        pytest.importorskip("distributed")
        from mlresearcher.execution.cluster import DaskExecutor

        return DaskExecutor("local:2"), []
    if kind == "store":
        from mlresearcher.execution.queue import StoreQueueExecutor
        from mlresearcher.store.db import Store

        url = f"sqlite:///{tmp_path / 'q.db'}"
        store = Store(url)
        store.create_run("conf")
        workers = [
            start(
                MLRESEARCHER + ["worker", "conf", "--store", url, "--max-idle", "60"],
                tmp_path / f"w{i}.log",
            )
            for i in range(2)
        ]
        return StoreQueueExecutor(store, "conf", slots=3), workers
    raise ValueError(kind)


@pytest.fixture(scope="module")
def data():
    return trial_data()


@pytest.fixture(scope="module")
def expected(data):
    return {j.number: run_trial(data, j) for j in _jobs()}


@pytest.mark.parametrize("kind", ["in-process", "processes", "dask", "store"])
def test_executor_conformance(kind, data, expected, tmp_path):
    ex, procs = _make(kind, tmp_path)
    try:
        ex.start(data)
        assert ex.slots >= 1
        jobs = _jobs()
        results = {}
        pending = list(jobs)
        while pending or ex.in_flight():
            while pending and ex.in_flight() < ex.slots:
                ex.submit(pending.pop(0))
            for r in ex.wait(timeout=60):
                results[r.number] = r
        assert sorted(results) == [0, 1, 2]
        for n, want in expected.items():
            got = results[n]
            assert got.status == want.status == "complete", got.error
            assert got.fold_scores == pytest.approx(want.fold_scores, rel=1e-9)
            assert np.allclose(got.oof, want.oof, equal_nan=True)
            assert len(got.models) == len(data.folds)
        # a configuration the learner rejects comes back failed, with the reason
        ex.submit(TrialJob(3, "linear", {"C": -1.0}, "search", True, submitted_wall=time.time()))
        bad = []
        while not bad:
            bad = ex.wait(timeout=60)
        assert bad[0].number == 3 and bad[0].status == "failed" and bad[0].error
        # abandoning returns what is in flight as failed
        ex.submit(TrialJob(4, "linear", {"C": 1.0}, "search", True, submitted_wall=time.time()))
        gone = ex.abandon("stopped for the test")
        assert [g.number for g in gone] == [4]
        assert ex.in_flight() == 0
    finally:
        ex.close()
        stop(*procs)
