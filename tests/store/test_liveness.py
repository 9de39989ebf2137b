"""A run the store calls running reads as interrupted once its process is gone, and only
then: a live run is never marked."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest
from sqlalchemy import select

from mlresearcher.store import db, liveness
from mlresearcher.store.db import Store
from mlresearcher.store.liveness import STALE_AFTER_S, RunHeartbeat

HOST = socket.gethostname()


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'runs.db'}")
    yield s
    s.close()


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()  # reaped: the pid names no process now
    return p.pid


def _stored_status(store: Store, run_id: str) -> str:
    with store.engine.connect() as c:
        return c.execute(select(db.runs.c.status).where(db.runs.c.run_id == run_id)).scalar()


def test_a_run_whose_process_died_reads_and_is_stored_as_interrupted(store):
    store.create_run("dead", owner=f"{HOST}:{_dead_pid()}")
    store.create_run("alive")  # this process, beating now
    assert store.get_run("dead")["status"] == "interrupted"
    assert _stored_status(store, "dead") == "interrupted"
    assert {r["run_id"]: r["status"] for r in store.list_runs()} == {
        "dead": "interrupted",
        "alive": "running",
    }
    assert _stored_status(store, "alive") == "running"


@pytest.mark.parametrize(
    ("owner", "silent_for", "status"),
    [
        ("elsewhere:123", 60.0, "running"),  # another host, beating: trusted
        ("elsewhere:123", STALE_AFTER_S + 60, "interrupted"),  # another host, silent
        (f"{HOST}:{os.getpid()}", STALE_AFTER_S + 60, "interrupted"),  # a reused pid
        (None, STALE_AFTER_S + 60, "interrupted"),  # a row from before runs had owners
        (None, 60.0, "running"),
    ],
)
def test_a_run_silent_past_the_stale_limit_is_interrupted(store, owner, silent_for, status):
    then = time.time() - silent_for
    store.create_run(
        "r", owner=owner, created_at=then, heartbeat_at=None if owner is None else then
    )
    assert store.get_run("r")["status"] == status


def test_a_run_that_beats_while_being_judged_is_not_overwritten(store, monkeypatch):
    store.create_run("r", owner=f"{HOST}:{_dead_pid()}")
    judged = liveness.is_abandoned

    def judged_then_beat(run, now):
        dead = judged(run, now)
        store.update_run("r", heartbeat_at=time.time() + 1)  # it beat meanwhile
        return dead

    monkeypatch.setattr(db, "is_abandoned", judged_then_beat)
    assert store.get_run("r")["status"] == "running"
    assert _stored_status(store, "r") == "running"


def test_the_heartbeat_keeps_a_run_fresh_until_it_finishes(store):
    then = time.time() - 5
    store.create_run("r", heartbeat_at=then)
    beat = RunHeartbeat(store, "r", interval=0.02)
    try:
        _wait(lambda: store.get_run("r")["heartbeat_at"] > then)
        store.finish_run("r")
        last = store.get_run("r")["heartbeat_at"]
        time.sleep(0.1)
        assert store.get_run("r")["heartbeat_at"] == last  # a finished run is not beaten
        assert store.get_run("r")["status"] == "finished"
    finally:
        beat.stop()


def test_a_live_run_a_reader_marked_interrupted_runs_again_at_its_next_beat(store):
    """Marked while its process slept past the stale limit, say: the mark is undone. An
    interruption the run itself recorded (finish_run) is not."""
    store.create_run("slept", status="interrupted")
    store.create_run("stopped")
    store.finish_run("stopped", status="interrupted")
    owner = liveness.process_owner()
    assert store.beat_run("slept", owner) and store.get_run("slept")["status"] == "running"
    assert not store.beat_run("stopped", owner)
    assert store.get_run("stopped")["status"] == "interrupted"
    assert not store.beat_run("slept", "elsewhere:1")  # another process's run


def test_a_resumed_run_is_running_again_under_its_new_owner(store):
    store.create_run("r", owner=f"{HOST}:{_dead_pid()}")
    assert store.get_run("r")["status"] == "interrupted"
    store.resume_run("r")
    row = store.get_run("r")
    assert row["status"] == "running" and row["owner"] == liveness.process_owner()


def _wait(condition, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("stage", ["_finalize", "write_run_dir"])
def test_a_run_that_fails_after_its_campaign_is_failed_not_left_running(
    stage, store, tmp_path, monkeypatch
):
    """A bug in a stage after the search (the final model, the run folder) ends the run
    as failed in the store, with the error, instead of a row that reads as running."""
    from conftest import load_dataset

    import mlresearcher.engine as engine
    import mlresearcher.store.rundir as rundir

    def broken(*args, **kwargs):
        raise RuntimeError(f"injected failure in {stage}")

    monkeypatch.setattr(engine if stage == "_finalize" else rundir, stage, broken)
    df, _ = load_dataset("penguins_species")
    y = df.pop("species")
    config = engine.RunConfig(max_trials=2, families=["linear"], analysis=False)
    with pytest.raises(RuntimeError, match="injected"):
        engine.run(df, y, config, out_dir=tmp_path / "runs", store=store)
    (row,) = store.list_runs()
    assert row["status"] == "failed"
    assert f"injected failure in {stage}" in row["summary"]["error"]
