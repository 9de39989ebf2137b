"""ONNX export: onnxruntime gives our predictions within 1e-5; a clear error otherwise."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import load_dataset

from mlresearcher.export.onnx import onnx_inputs
from mlresearcher.predictor import Predictor

from .conftest import run_cli, train


def _held_out_with_gaps(df: pd.DataFrame, categorical: str, numeric: str) -> pd.DataFrame:
    X = df.copy()
    X.loc[X.index[::4], categorical] = "a-level-never-seen"
    X.loc[X.index[1::5], categorical] = None
    X.loc[X.index[2::6], numeric] = np.nan
    return X


def _onnx_scores(path, X: pd.DataFrame, predictor: Predictor) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, onnx_inputs(X, predictor)), strict=True))


@pytest.mark.parametrize(
    "dataset, categorical, numeric, n_train",
    [
        ("penguins_species", "island", "bill_length_mm", 240),  # multiclass
        ("school_math_achievement", None, None, 800),  # regression
    ],
)
def test_onnx_matches_our_predictions(dataset, categorical, numeric, n_train, tmp_path, capsys):
    df, entry = load_dataset(dataset, n=n_train + 200, seed=3)
    target = entry["target"]
    run_dir = train(df.iloc[:n_train], target, tmp_path, "lightgbm", 1)
    X = df.iloc[n_train:].drop(columns=[target]).reset_index(drop=True)
    if categorical is None:
        p0 = Predictor.load(run_dir)
        roles = {c.name: c.role for c in p0.schema.columns}
        categorical = next(c for c in p0.schema.input_columns if roles[c] != "numeric")
        numeric = next(c for c in p0.schema.input_columns if roles[c] == "numeric")
    X = _held_out_with_gaps(X, categorical, numeric)
    code, out, err = run_cli(
        capsys, "export", run_dir, "--format", "onnx", "--out", tmp_path / "m.onnx"
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["parity"]["max_abs_difference"] <= 1e-5
    predictor = Predictor.load(run_dir)
    outs = _onnx_scores(tmp_path / "m.onnx", X, predictor)
    expected = predictor.predict_scores(X)
    if predictor.task == "regression":
        assert np.allclose(outs["prediction"].ravel(), expected, rtol=1e-5, atol=1e-5)
    else:
        assert np.abs(outs["probabilities"] - expected).max() <= 1e-5
        assert np.array_equal(outs["class_index"], expected.argmax(axis=1))


def test_a_model_that_does_not_convert_is_a_clear_error(credit_run, tmp_path, capsys):
    code, _, err = run_cli(capsys, "export", credit_run, "--out", tmp_path / "m.onnx")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "linear" in err and "--families lightgbm" in err
    assert not (tmp_path / "m.onnx").exists()
