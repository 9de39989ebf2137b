"""The run store keeps runs and trials, committed as they finish."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from mlresearcher.errors import ConfigError, RunNotFoundError
from mlresearcher.store.db import Store


def test_trials_are_visible_to_another_connection_as_soon_as_recorded(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    writer = Store(url)
    writer.create_run("r1", target="y", task="binary", metric="roc_auc", config={"seed": 0})
    writer.record_trial(
        "r1",
        {
            "number": 0,
            "family": "linear",
            "status": "complete",
            "score": 0.9,
            "params": {"C": 1.0},
            "fold_scores": [0.9, 0.91],
        },
    )
    reader = Store(url)  # a separate engine, as another process would have
    trials = reader.trials("r1")
    assert trials[0]["params"] == {"C": 1.0} and trials[0]["fold_scores"] == [0.9, 0.91]
    assert reader.get_run("r1")["status"] == "running"
    writer.finish_run("r1", best_score=0.9)
    assert reader.get_run("r1")["status"] == "finished"


def test_duplicate_trial_numbers_are_refused(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'runs.db'}")
    s.create_run("r1")
    s.record_trial("r1", {"number": 0, "family": "linear", "status": "complete"})
    with pytest.raises(IntegrityError):
        s.record_trial("r1", {"number": 0, "family": "linear", "status": "complete"})
    assert len(s.trials("r1")) == 1


def test_unknown_run_and_prefix_lookup(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'runs.db'}")
    s.create_run("20260101-000000-abcdef")
    assert s.get_run("20260101-000000-ab")["run_id"] == "20260101-000000-abcdef"
    with pytest.raises(RunNotFoundError, match="no run"):
        s.get_run("nope")


def test_bad_store_url_is_a_clear_error():
    with pytest.raises(ConfigError, match="invalid store URL"):
        Store("notadb://x")


def test_a_store_that_cannot_be_created_is_a_clear_error(tmp_path):
    (tmp_path / "runs.db").write_text("not a database")
    with pytest.raises(ConfigError, match="cannot open the store"):
        Store(f"sqlite:///{tmp_path / 'runs.db'}")
