"""`mlresearcher monitor`: quiet on fresh rows of the same distribution, loud on shifted rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlresearcher.serve.drift import categorical_shift, numeric_shift

from .conftest import run_cli


@pytest.fixture(scope="module")
def data_files(credit_split, tmp_path_factory):
    _, fresh, entry = credit_split
    d = tmp_path_factory.mktemp("monitor")
    fresh.to_parquet(d / "fresh.parquet")
    shifted = fresh.copy()
    shifted["Income"] = shifted["Income"] * 2.5 + 100  # incomes moved up
    shifted["Home"] = shifted["Home"].where(shifted.index % 2 == 0, "rent")  # more renters
    shifted.to_parquet(d / "shifted.parquet")
    return d


def test_fresh_sample_from_the_same_distribution_is_quiet(credit_run, data_files, capsys):
    code, out, err = run_cli(
        capsys,
        "monitor",
        credit_run,
        data_files / "fresh.parquet",
        "--labels",
        "Status",
        "--out",
        data_files / "fresh.json",
        "--html",
        data_files / "fresh.html",
    )
    assert code == 0, out + err
    rep = json.loads(out)
    assert rep["drift"] is False and rep["n_drifted_features"] == 0
    assert rep["prediction"]["drifted"] is False
    perf = rep["performance"]
    assert perf["metric"] == "roc_auc" and perf["degraded"] is False and perf["n_labelled"] == 1500
    assert json.loads((data_files / "fresh.json").read_text())["drift"] is False
    html = (data_files / "fresh.html").read_text()
    assert "no drift" in html and "Income" in html


def test_shifted_copy_is_flagged(credit_run, data_files, capsys):
    code, out, err = run_cli(
        capsys,
        "monitor",
        credit_run,
        data_files / "shifted.parquet",
        "--html",
        data_files / "s.html",
    )
    assert code == 1, out + err
    rep = json.loads(out)
    assert rep["drift"] is True
    flagged = {f["column"] for f in rep["features"] if f["drifted"]}
    assert {"Income", "Home"} <= flagged
    assert not flagged - {"Income", "Home"}  # untouched columns stay quiet
    assert "DRIFT" in err and "DRIFT" in (data_files / "s.html").read_text()


def test_degraded_performance_is_flagged(credit_run, credit_split, tmp_path, capsys):
    _, fresh, _ = credit_split
    flipped = fresh.copy()
    flipped["Status"] = np.where(flipped["Status"] == "good", "bad", "good")  # labels inverted
    flipped.to_csv(tmp_path / "flipped.csv", index=False)
    code, out, err = run_cli(
        capsys, "monitor", credit_run, tmp_path / "flipped.csv", "--labels", "Status"
    )
    assert code == 1, err
    rep = json.loads(out)
    assert rep["performance"]["degraded"] is True and "roc_auc degraded" in rep["reasons"]


def test_user_errors_exit_2(credit_run, data_files, capsys):
    code, _, err = run_cli(
        capsys, "monitor", credit_run, data_files / "fresh.parquet", "--labels", "Statuz"
    )
    assert code == 2 and "Statuz" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "monitor", credit_run, data_files / "missing.parquet")
    assert code == 2 and "missing.parquet" in err
    code, _, err = run_cli(
        capsys, "monitor", credit_run, data_files / "fresh.parquet", "--alpha", "2"
    )
    assert code == 2 and "--alpha" in err


def test_shift_statistics():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=3000), rng.normal(size=1000)
    same = numeric_shift(a, b)
    moved = numeric_shift(a, b + 1.0)
    assert same["psi"] < 0.05 and same["p_value"] > 0.01
    assert moved["psi"] > 0.5 and moved["p_value"] < 1e-10
    # missing values count as their own bin
    holes = b.copy()
    holes[:500] = np.nan
    assert numeric_shift(a, holes)["psi"] > 0.5
    cats = np.array(["x", "y", "z"], dtype=object)
    r = categorical_shift(rng.choice(cats, 3000), rng.choice(cats, 1000))
    s = categorical_shift(rng.choice(cats, 3000), rng.choice(cats, 1000, p=[0.8, 0.1, 0.1]))
    assert r["psi"] < 0.05 and s["psi"] > 0.3 and s["p_value"] < 1e-10
