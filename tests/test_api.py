"""AutoModel: inputs, outputs, persistence and determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import load_dataset

from mlresearcher import AutoModel
from mlresearcher.errors import UserError

FAST = ("linear", "lightgbm")


@pytest.fixture(scope="module")
def credit():
    df, _ = load_dataset("credit_scoring", n=800)
    return df.drop(columns=["Status"]), df["Status"]


def test_fit_predict_proba_leaderboard(credit):
    X, y = credit
    m = AutoModel(time_limit=None, max_trials=3, families=FAST).fit(X, y)
    assert set(m.classes_) == set(y.unique())
    proba = m.predict_proba(X.head(7))
    assert proba.shape == (7, 2) and np.allclose(proba.sum(axis=1), 1)
    pred = m.predict(X.head(7))
    assert set(pred) <= set(m.classes_)
    assert (pred == m.classes_[proba.argmax(axis=1)]).all()
    lb = m.leaderboard()
    assert lb.iloc[0]["model"] == "ensemble" and lb.iloc[0]["rank"] == 1
    assert {"score", "score_std", "n_folds", "fit_time", "params"} <= set(lb.columns)
    assert 0.5 < m.best_score_ <= 1.0


def test_same_seed_and_max_trials_give_identical_results(credit):
    X, y = credit
    families = ("linear", "lightgbm", "xgboost", "hist_gb", "random_forest")
    kw = dict(time_limit=None, max_trials=7, families=families, folds=3, repeats=1)
    a = AutoModel(seed=3, **kw).fit(X, y)
    b = AutoModel(seed=3, **kw).fit(X, y)
    cols = ["model", "status", "score", "score_std", "params", "weight"]
    pd.testing.assert_frame_equal(a.leaderboard()[cols], b.leaderboard()[cols])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = AutoModel(seed=4, **kw).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


@pytest.mark.parametrize("kind", ["polars", "arrow", "numpy"])
def test_other_in_memory_inputs(credit, kind):
    X, y = credit
    num = X.select_dtypes("number")
    if kind == "polars":
        import polars as pl

        Xin = pl.from_pandas(X)
    elif kind == "arrow":
        Xin = pa.Table.from_pandas(X, preserve_index=False)
    else:
        Xin = num.to_numpy()
    m = AutoModel(time_limit=None, max_trials=1, families=("linear",)).fit(Xin, y.to_numpy())
    assert m.predict(Xin[:5] if kind != "arrow" else Xin.slice(0, 5)).shape == (5,)


def test_regression_and_save_load(tmp_path):
    df, _ = load_dataset("school_math_achievement", n=600)
    X, y = df.drop(columns=["MathAch"]), df["MathAch"]
    m = AutoModel(time_limit=None, max_trials=2, families=FAST).fit(X, y)
    assert m.task_ == "regression" and not hasattr(m, "classes_")
    with pytest.raises(AttributeError):
        m.predict_proba(X)
    m.save(tmp_path / "m")
    loaded = AutoModel.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X), m.predict(X))
    # a saved model is checked before it is unpickled: a swapped file is refused
    import pickle

    class Boom:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    (tmp_path / "m" / "automodel.joblib").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(UserError, match="does not match the SHA-256"):
        AutoModel.load(tmp_path / "m")
    (tmp_path / "m" / "automodel.json").unlink()
    with pytest.raises(UserError, match="cannot be verified"):
        AutoModel.load(tmp_path / "m")
    assert not (tmp_path / "pwned").exists()


def test_time_limit_model_exists_and_writes_run(tmp_path, credit):
    X, y = credit
    m = AutoModel(time_limit=6, out=str(tmp_path)).fit(X, y)
    assert (tmp_path / m.run_id_ / "model.joblib").exists()
    assert (tmp_path / "mlresearcher.db").exists()
    assert m.leaderboard()["status"].eq("complete").sum() >= 2


def test_unfitted_and_bad_input_errors(credit):
    X, y = credit
    with pytest.raises(UserError, match="not fitted"):
        AutoModel().predict(X)
    with pytest.raises(UserError, match="inconsistent numbers of samples"):
        AutoModel(max_trials=1).fit(X, y.head(10))
    with pytest.raises(UserError, match="give a budget"):
        AutoModel(time_limit=None).fit(X, y)


def test_group_and_time_protocols_end_to_end():
    df, _ = load_dataset("school_math_achievement", n=1500)
    X, y = df.drop(columns=["MathAch"]), df["MathAch"]
    m = AutoModel(time_limit=None, max_trials=1, families=("linear",), group="School").fit(X, y)
    assert m.protocol_["kind"] == "group_kfold" and m.protocol_["group"] == "School"
    assert "School" not in m.predictor_.schema.feature_roles  # the group id is not a feature
    ts, _ = load_dataset("nyse_log_volume")
    Xt, yt = ts.drop(columns=["log_volume"]), ts["log_volume"]
    mt = AutoModel(time_limit=None, max_trials=1, families=("linear",), time="date").fit(Xt, yt)
    assert mt.protocol_["kind"] == "time_split"
    oof_rows = mt.leaderboard().iloc[0]["n_folds"]
    assert oof_rows == 5


def test_prediction_frames_are_checked_on_the_quick_path_too(credit):
    """A frame with the columns of fit takes the quick checks; what they let through
    predicts like the general path, and what they reject gets the usual messages."""
    X, y = credit
    m = AutoModel(time_limit=None, max_trials=1, families=("linear",)).fit(X, y)
    rows = X.head(3)
    assert m._quick_columns(rows) is not None
    with pytest.warns(UserWarning, match="valid feature names"):
        expected = m.predict_proba(rows.to_numpy(dtype=object))  # the general path
    np.testing.assert_array_equal(m.predict_proba(rows), expected)
    with pytest.raises(UserError, match="Complex data not supported"):
        m.predict_proba(rows.assign(**{X.columns[0]: rows.iloc[:, 0] + 1j}))
    with pytest.raises(UserError, match="minimum of 1 is required"):
        m.predict_proba(rows.iloc[:0])
    with pytest.raises(UserError, match="feature names should match"):
        m.predict_proba(rows[list(X.columns[::-1])])
    # fitted again on other column names: the quick check follows the new names
    renamed = X.rename(columns={c: f"{c}_v2" for c in X.columns})
    m.fit(renamed, y)
    assert m._quick_columns(rows) is None
    with pytest.raises(UserError, match="feature names should match"):
        m.predict_proba(rows)
    assert m.predict_proba(renamed.head(3)).shape == (3, 2)


def test_a_failing_profile_stage_never_aborts_the_campaign(monkeypatch, tmp_path, credit):
    import mlresearcher.profile as profile

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a report-only stage")

    monkeypatch.setattr(profile, "profile_features", broken)
    X, y = credit
    m = AutoModel(time_limit=None, max_trials=2, families=("linear",), out=str(tmp_path))
    m.fit(X, y)
    codes = {f["code"]: f for f in m.findings_}
    assert (
        "profile_failed" in codes
        and "a bug in a report-only stage" in codes["profile_failed"]["message"]
    )
    assert m.predict(X.head(3)).shape == (3,)
    assert not (tmp_path / m.run_id_ / "profile.json").exists()
