"""A signal study end to end from a spec, and the honesty verdict on a null signal."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import load_dataset

from mlresearcher.signal.research import (
    SignalSpec,
    build_frame,
    evaluate,
    predict_folds,
    shuffled_folds,
    verdict,
)
from mlresearcher.signal.walkforward import parse_span, walk_forward_folds
from mlresearcher.study.spec import SpecError

SPEC = """
kind: signal
name: nyse-small
data: {data}
time: date
label: {{column: DJ_return, horizon: 1}}
features:
  columns: [DJ_return, log_volatility]
  lags: {{DJ_return: [1, 2]}}
  rolling: {{DJ_return: [5]}}
methods:
  - {{name: ridge, estimator: sklearn.linear_model.Ridge}}
protocol: {{folds: 4}}
backtest: {{cost_bps: 5}}
"""


def test_signal_study_from_a_spec_writes_its_report(tmp_path):
    df, _ = load_dataset("nyse_log_volume")
    data = tmp_path / "nyse.parquet"
    df.iloc[:1500].to_parquet(data)
    spec = tmp_path / "signal.yaml"
    spec.write_text(textwrap.dedent(SPEC.format(data=data)))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlresearcher.cli",
            "study",
            str(spec),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "walk-forward mean IC" in r.stdout and "Shuffled k-fold" in r.stdout
    s = json.loads((tmp_path / "o" / "nyse-small" / "signal.json").read_text())
    m = s["methods"]["ridge"]
    assert s["n_test_rows"] == pytest.approx(1500 * 4 / 5, abs=5)
    for proto in ("walk_forward", "shuffled"):
        assert -1 <= m[proto]["ic_mean"] <= 1 and 0 <= m[proto]["hit_rate"] <= 1
        assert m[proto]["backtest"]["max_drawdown"] >= 0 and m[proto]["backtest"]["cost_bps"] == 5
    assert "gap 1 period" in s["protocol"]
    html = (tmp_path / "o" / "nyse-small" / "report.html").read_text()
    assert html.count("<svg") == 2 and "Honesty" in html and "Sharpe" in html


def test_bad_signal_spec_is_one_line(tmp_path, capsys):
    df, _ = load_dataset("nyse_log_volume")
    data = tmp_path / "nyse.parquet"
    df.iloc[:100].to_parquet(data)
    spec = tmp_path / "signal.yaml"
    spec.write_text(
        textwrap.dedent(SPEC.format(data=data)).replace("log_volatility]", "volatility]")
    )
    from mlresearcher.cli import main

    assert main(["study", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'volatility'" in err
    from mlresearcher.signal.research import parse_signal_spec

    with pytest.raises(SpecError, match="needs data"):
        parse_signal_spec({"time": "date"}, tmp_path)


def test_a_permuted_label_is_reported_as_not_distinguishable_from_zero():
    df, _ = load_dataset("nyse_log_volume")
    df = df.iloc[:2000].copy()
    rng = np.random.default_rng(1)
    df["DJ_return"] = rng.permutation(df["DJ_return"].to_numpy())  # destroys any signal
    spec = SignalSpec(
        "null", "", "date", "DJ_return", 1, ["log_volatility"], {"DJ_return": [1]}, {}, [], folds=4
    )
    fr = build_frame(df, spec)
    m = {"name": "ridge", "estimator": "sklearn.linear_model.Ridge"}
    walk = walk_forward_folds(fr.time, 4, gap=parse_span(1, "gap"))
    rows = np.sort(np.concatenate([te for _, te in walk]))
    wf = evaluate(predict_folds(m, fr.X, fr.y, walk), fr, rows, spec)
    sh = evaluate(predict_folds(m, fr.X, fr.y, shuffled_folds(len(fr.y), 4)), fr, rows, spec)
    v = verdict(wf, sh)
    assert abs(wf["ic_t"]) < 2 and not v["distinguishable"]
    assert "NOT distinguishable from zero" in v["text"]


def test_verdict_tells_a_negative_signal_from_a_positive_one():
    def res(ic, t):
        return {
            "ic_mean": ic,
            "ic_t": t,
            "hit_rate": 0.4,
            "n_periods": 100,
            "r2": 0.0,
            "backtest": None,
        }

    neg = verdict(res(-0.1, -4.0), res(0.1, 4.0))
    assert neg["distinguishable"] and not neg["positive"] and "NEGATIVE" in neg["text"]
    assert neg["overstatement"]["ic_mean"] == pytest.approx(0.2)
    pos = verdict(res(0.08, 6.0), res(0.1, 8.0))
    assert pos["positive"] and "distinguishable from zero at about" in pos["text"]
