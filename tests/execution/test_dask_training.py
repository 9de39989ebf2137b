"""Bigger than one machine: LightGBM trained through lightgbm.dask on a Dask DataFrame read
from partitioned Parquet, over a two-worker local cluster."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest
from conftest import load_dataset
from exec_helpers import MLRESEARCHER

pytest.importorskip("distributed")


@pytest.fixture
def partitioned(tmp_path):
    df, _ = load_dataset("credit_scoring", n=3000)
    folder = tmp_path / "credit_parts"
    folder.mkdir()
    for i, part in enumerate(range(0, len(df), 750)):
        df.iloc[part : part + 750].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder, df


def test_lightgbm_dask_trains_across_workers_on_partitioned_parquet(partitioned, tmp_path):
    folder, df = partitioned
    out = tmp_path / "model"
    res = subprocess.run(
        MLRESEARCHER
        + [
            "dask-fit",
            str(folder),
            "--target",
            "Status",
            "--cluster",
            "local:2",
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        timeout=240,
    )
    assert res.returncode == 0, res.stderr.decode()[-3000:]
    summary = json.loads(res.stdout.decode().strip().splitlines()[-1])  # libraries may print
    assert summary["n_partitions"] == 4
    assert summary["n_rows_train"] + summary["n_rows_holdout"] == len(df)
    assert summary["metric"] == "roc_auc" and summary["holdout_score"] > 0.75
    import joblib

    saved = joblib.load(out / "model.joblib")
    X = df.drop(columns=["Status"]).head(50).copy()
    for c, levels in saved["categories"].items():
        X[c] = pd.Categorical(X[c].astype(str), categories=levels)
    num = [c for c in X.columns if c not in saved["categories"]]
    X[num] = X[num].astype("float32")
    proba = saved["model"].predict_proba(X)
    assert proba.shape == (50, 2)
