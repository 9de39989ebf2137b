"""A PostgreSQL store shared by several worker processes: one campaign, trials claimed row by
row (FOR UPDATE SKIP LOCKED), none lost and none run twice, results equal to a local run.

Needs the PostgreSQL server on 127.0.0.1:5432 (database ``test``, trust authentication);
``.ci/run`` starts it. Each test works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from exec_helpers import MLRESEARCHER, start, stop, write_csv

from mlresearcher.store.db import Store


def _run(args: list[str], timeout: float = 180) -> dict:
    res = subprocess.run(MLRESEARCHER + args, capture_output=True, timeout=timeout)
    assert res.returncode == 0, res.stderr.decode()[-3000:]
    return json.loads(res.stdout)


def test_postgres_store_works_like_sqlite(pg_url, tmp_path):
    data = write_csv(tmp_path, 300)
    out = _run(
        [
            "run",
            str(data),
            "--target",
            "Status",
            "--max-trials",
            "3",
            "--families",
            "linear,lightgbm",
            "--store",
            pg_url,
            "--out",
            str(tmp_path / "runs"),
            "--json",
        ]
    )
    store = Store(pg_url)
    assert store.get_run(out["run_id"])["status"] == "finished"
    assert [t["number"] for t in store.trials(out["run_id"])] == [0, 1, 2]
    store.close()


def test_workers_share_one_campaign_through_postgres(pg_url, tmp_path):
    data = write_csv(tmp_path, 400)
    common = ["--target", "Status", "--max-trials", "8", "--families", "linear,lightgbm,knn"]
    common += ["--seed", "3", "--folds", "3", "--repeats", "1", "--n-jobs", "1", "--json"]
    workers = [
        start(
            MLRESEARCHER + ["worker", "--store", pg_url, "--max-idle", "120"],
            tmp_path / f"w{i}.log",
        )
        for i in range(3)
    ]
    try:
        shared = _run(
            [
                "run",
                str(data),
                *common,
                "--store",
                pg_url,
                "--cluster",
                "store:3",
                "--out",
                str(tmp_path / "shared"),
            ]
        )
    finally:
        stop(*workers)
    local = _run(["run", str(data), *common, "--out", str(tmp_path / "local")])
    store = Store(pg_url)
    trials = store.trials(shared["run_id"])
    queue = store.queue_rows(shared["run_id"])
    store.close()
    # every trial exactly once, each claimed once by one worker, and several workers busy
    assert [t["number"] for t in trials] == list(range(8))
    assert [q["number"] for q in queue] == list(range(8))
    assert all(q["status"] == "done" and q["attempts"] == 1 for q in queue)
    assert len({q["worker"] for q in queue}) >= 2
    # same trials, same scores as the same campaign run locally
    lb_shared = {r["model"]: r["score"] for r in shared["leaderboard"]}
    lb_local = {r["model"]: r["score"] for r in local["leaderboard"]}
    assert lb_shared.keys() == lb_local.keys()
    for k, v in lb_local.items():
        assert lb_shared[k] == pytest.approx(v, rel=1e-9, abs=1e-12)
    logs = "".join((tmp_path / f"w{i}.log").read_text() for i in range(3))
    assert "trial" in logs
