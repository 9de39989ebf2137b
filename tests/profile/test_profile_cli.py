"""`mlresearcher profile` on the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
from conftest import EXAMPLES, load_dataset

CLI = [sys.executable, "-m", "mlresearcher.cli"]


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_profile_prints_findings_and_writes_json(tmp_path):
    out = tmp_path / "p" / "profile.json"
    r = cli("profile", EXAMPLES / "penguins.csv", "--target", "species", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "344 rows" in r.stdout and "strongest associations" in r.stdout
    doc = json.loads(out.read_text())
    assert doc["target"]["task"] == "multiclass" and len(doc["columns"]) == 7


def test_profile_with_a_test_file_reports_shift_as_json(tmp_path):
    df, _ = load_dataset("police_stop_search")
    df = df.sort_values("date").reset_index(drop=True)
    train, test = tmp_path / "train.parquet", tmp_path / "test.parquet"
    df.iloc[:3000].to_parquet(train)
    df.iloc[-3000:].to_parquet(test)
    r = cli("profile", train, "--target", "person_search", "--test", test, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["shift"]["auc"] > 0.8 and "date" in doc["shift"]["drivers"]


def test_profile_without_target_and_user_errors(tmp_path):
    r = cli("profile", EXAMPLES / "penguins.csv", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["target"] is None
    r = cli("profile", EXAMPLES / "penguins.csv", "--target", "specie")
    assert r.returncode == 2 and "did you mean 'species'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = cli("profile", EXAMPLES / "penguins.csv", "--out", tmp_path / "p.txt")
    assert r.returncode == 2 and ".json" in r.stderr
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "one.csv", index=False)
    r = cli("profile", tmp_path / "nothing.csv")
    assert r.returncode == 2 and "file not found" in r.stderr
