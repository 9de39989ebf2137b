"""`mlresearcher reproduce`: exact re-execution under a trial budget, refusal of changed data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLES

from mlresearcher.reproduce import compare_leaderboards

CLI = [sys.executable, "-m", "mlresearcher.cli"]


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A finished run under a trial budget (no time limit), on a copy of the example data."""
    base = tmp_path_factory.mktemp("repro")
    data = base / "penguins.csv"
    shutil.copy(EXAMPLES / "penguins.csv", data)
    out = base / "runs"
    r = cli(
        "run", data, "--target", "species", "--max-trials", "2", "--repeats", "1",
        "--families", "lightgbm,linear", "--out", out, "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return data, Path(json.loads(r.stdout)["run_dir"])


def test_a_trial_budget_run_reproduces_exactly(original):
    data, run_dir = original
    r = cli("reproduce", run_dir, "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["matches"] and rep["deterministic"]
    assert rep["leaderboard_match"] and rep["leaderboard_differences"] == []
    assert rep["oof_match"] and rep["oof_max_abs_difference"] == 0.0
    assert rep["predictions_match"] and rep["prediction_max_abs_difference"] == 0.0
    new_dir = Path(rep["new_run_dir"])
    assert new_dir.parent == run_dir.parent and new_dir != run_dir
    a = pd.read_csv(run_dir / "leaderboard.csv")
    b = pd.read_csv(new_dir / "leaderboard.csv")
    assert len(a) == 3 and a["score"].equals(b["score"])  # the ensemble and two trials
    assert json.loads((new_dir / "reproduction.json").read_text())["matches"]
    manifest = json.loads((new_dir / "manifest.json").read_text())
    assert manifest["command"].startswith("mlresearcher reproduce")


def test_every_run_writes_its_profile(original):
    _, run_dir = original
    profile = json.loads((run_dir / "profile.json").read_text())
    assert profile["n_rows"] == 344 and profile["target"]["name"] == "species"
    assert {c["name"] for c in profile["columns"]} >= {"bill_length_mm", "island"}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "profile.json" in manifest["files"]
    codes = {f["code"] for f in json.loads((run_dir / "findings.json").read_text())}
    assert "strongest_associations" in codes  # profile findings join the run's findings


def test_changed_data_is_refused_before_any_work(original, tmp_path):
    data, run_dir = original
    df = pd.read_csv(data)
    df.loc[5, "bill_length_mm"] = df.loc[5, "bill_length_mm"] + 0.1
    changed = tmp_path / "changed.csv"
    df.to_csv(changed, index=False)
    before = set(run_dir.parent.iterdir())
    r = cli("reproduce", run_dir, "--data", changed)
    assert r.returncode == 2
    assert "is not the data of run" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert set(run_dir.parent.iterdir()) == before  # no new run was started


def test_a_modified_run_directory_is_refused(original, tmp_path):
    _, run_dir = original
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy)
    lb = pd.read_csv(copy / "leaderboard.csv")
    lb.loc[0, "score"] = lb.loc[0, "score"] * 0.5
    lb.to_csv(copy / "leaderboard.csv", index=False)
    r = cli("reproduce", copy, "--out", tmp_path / "new")
    assert (
        r.returncode == 2 and "leaderboard.csv" in r.stderr and "changed after the run" in r.stderr
    )


def test_unknown_run_is_a_user_error(tmp_path):
    r = cli("reproduce", "nope", "--runs", tmp_path)
    assert r.returncode == 2 and "no run directory" in r.stderr


def test_leaderboard_differences_name_the_cell(original):
    _, run_dir = original
    a = pd.read_csv(run_dir / "leaderboard.csv")
    b = a.copy()
    b.loc[1, "score"] = b.loc[1, "score"] + 1e-12
    b.loc[2, "fit_time"] = 999.0  # timings are not compared
    diffs = compare_leaderboards(a, b)
    assert diffs == [
        {"row": 1, "column": "score", "original": a.loc[1, "score"], "new": b.loc[1, "score"]}
    ]
    assert compare_leaderboards(a, a.iloc[:2])[0]["column"] == "n_rows"


def test_a_run_with_past_only_features_reproduces(tmp_path):
    # --lag adds features derived from the data; the fingerprint is of the input data and
    # both models score the data with those features rebuilt
    from conftest import load_dataset

    df, _ = load_dataset("nyse_log_volume")
    data = tmp_path / "nyse.csv"
    df.head(800).to_csv(data, index=False)
    r = cli(
        "run", data, "--target", "log_volume", "--time", "date", "--lag", "log_volume:1,2",
        "--max-trials", "1", "--families", "linear", "--out", tmp_path / "runs", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = cli("reproduce", json.loads(r.stdout)["run_dir"], "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["matches"]
