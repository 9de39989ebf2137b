"""``mlresearcher run`` with the walk-forward options and past-only features."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import load_dataset


def _run(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlresearcher.cli", "run", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_run_walk_forward_with_gap_and_lags(tmp_path):
    df, _ = load_dataset("nyse_log_volume")
    data = tmp_path / "nyse.parquet"
    df.iloc[:800].to_parquet(data)
    r = _run(
        str(data),
        "--target",
        "log_volume",
        "--time",
        "date",
        "--gap",
        "2",
        "--folds",
        "3",
        "--lag",
        "log_volume:1,2",
        "--rolling",
        "DJ_return:5",
        "--families",
        "linear",
        "--max-trials",
        "1",
        "--json",
        "--out",
        str(tmp_path / "runs"),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["protocol"].startswith("walk-forward on 'date': 3 folds, expanding training window")
    assert "gap 2 periods" in s["protocol"]
    schema = json.loads((tmp_path / "runs" / s["run_id"] / "schema.json").read_text())
    text = json.dumps(schema)
    for col in ("log_volume_lag1", "log_volume_lag2", "DJ_return_mean5", "DJ_return_std5"):
        assert col in text


def test_walk_forward_options_without_time_are_a_usage_error(tmp_path, capsys):
    from mlresearcher.cli import main

    assert main(["run", "x.csv", "--target", "y", "--gap", "3"]) == 2
    err = capsys.readouterr().err
    assert "need --time COL" in err and err.count("\n") == 1


def test_a_missing_entity_column_is_named(tmp_path, capsys):
    from mlresearcher.cli import main

    df, _ = load_dataset("nyse_log_volume")
    data = tmp_path / "nyse.csv"
    df.iloc[:100].to_csv(data, index=False)
    args = ["run", str(data), "--target", "log_volume", "--time", "date", "--entity", "ticker"]
    assert main([*args, "--max-trials", "1", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "--entity column 'ticker' not found" in err and err.count("\n") == 1
