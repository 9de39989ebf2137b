"""A signal study: is there a predictive signal in time-ordered data, honestly measured?

Given a table ordered by a time column (one series, or a panel of entities), a label
(a column, or the forward sum of a return column over ``horizon`` periods), features
known at each row's time (the row's own columns plus past-only lags and rolling
statistics), and one or more methods (see :mod:`mlresearcher.study.methods`):

1. **walk-forward** predictions: each test block is predicted by a model trained only on
   earlier rows, ``gap`` periods (default: the label horizon) purged in between, so no
   training label overlaps a test row;
2. **shuffled k-fold** predictions on the same rows, the naive protocol, for comparison;
3. for both: ML metrics (RMSE, R², direction accuracy), the IC per period with its mean,
   t-statistic and hit rate, and a sign-following (or long/short, for a panel) backtest
   with transaction costs;
4. the **honesty verdict**: whether the walk-forward IC is distinguishable from zero
   (|t| >= 2), and how much shuffled k-fold overstates the IC, R² and Sharpe ratio.
"""

from __future__ import annotations

import json
import math
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.signal import metrics as sm
from mlresearcher.signal.features import add_past_features, forward_label
from mlresearcher.signal.walkforward import Span, parse_span, to_time, walk_forward_folds
from mlresearcher.store.atomic import write_text

SIGNAL_KEYS = {
    "name",
    "kind",
    "data",
    "dataset",
    "time",
    "entity",
    "label",
    "features",
    "methods",
    "protocol",
    "backtest",
    "period",
    "seed",
}


@dataclass
class SignalSpec:
    name: str
    data: str
    time: str
    label_column: str
    horizon: int | None  # None: the label column as is
    columns: list[str]
    lags: dict[str, list[int]]
    rolling: dict[str, list[int]]
    methods: list[dict[str, Any]]
    entity: str | None = None
    folds: int = 10
    window: str = "expanding"
    gap: str | int | None = None
    embargo: str | int | None = None
    train_size: str | int | None = None
    cost_bps: float = 0.0
    periods_per_year: float = 252.0
    period: str = "M"
    seed: int = 0
    backtest: bool = True
    raw: dict[str, Any] = field(default_factory=dict)


def parse_signal_spec(raw: dict[str, Any], base: Path) -> SignalSpec:
    """Validate a ``kind: signal`` spec before any compute."""
    from mlresearcher.study.methods import validate_method
    from mlresearcher.study.spec import SpecError, _path, find_dev_manifest

    unknown = set(raw) - SIGNAL_KEYS
    if unknown:
        raise SpecError(f"unknown key(s) in the signal spec: {', '.join(sorted(unknown))}")
    if "dataset" in raw:
        manifest = find_dev_manifest(base)
        entries = {e["name"]: e for e in json.loads(manifest.read_text())}
        if raw["dataset"] not in entries:
            raise SpecError(f"dataset {raw['dataset']!r} is not in {manifest}")
        data = manifest.parent / entries[raw["dataset"]]["file"]
    elif "data" in raw:
        data = _path(raw["data"], base)
    else:
        raise SpecError("a signal spec needs data: FILE or dataset: NAME (a dev dataset)")
    if not data.exists():
        raise SpecError(f"data file {str(data)!r} not found")
    for key in ("time", "label", "methods"):
        if key not in raw:
            raise SpecError(f"a signal spec needs {key}:")
    label = raw["label"]
    if isinstance(label, str):
        label = {"column": label}
    if not isinstance(label, dict) or "column" not in label:
        raise SpecError("label: must be a column name or {column: COL, horizon: H}")
    feats = raw.get("features") or {}
    prot = raw.get("protocol") or {}
    bt = raw.get("backtest")
    # a backtest trades the label, so by default only a forward return is traded
    do_backtest = bt is not False and (bool(bt) or bool(label.get("horizon")))
    bt = bt if isinstance(bt, dict) else {}
    lags = {str(k): [int(x) for x in v] for k, v in (feats.get("lags") or {}).items()}
    rolling = {str(k): [int(x) for x in v] for k, v in (feats.get("rolling") or {}).items()}
    for what, d in (("lags", lags), ("rolling", rolling)):
        if any(min(v) < 1 for v in d.values() if v):
            raise SpecError(f"features.{what} must be whole numbers >= 1 (past rows only)")
    import pyarrow.parquet as pq

    columns = (
        list(pq.read_schema(data).names)
        if data.suffix in (".parquet", ".pq")
        else [
            str(c)
            for c in __import__("mlresearcher.data.io", fromlist=["read_table"])
            .read_table(data)
            .columns
        ]
    )
    needed = [raw["time"], label["column"], *feats.get("columns", []), *lags, *rolling]
    if raw.get("entity"):
        needed.append(raw["entity"])
    missing = [c for c in needed if c not in columns]
    if missing:
        raise SpecError(
            f"column(s) {', '.join(map(repr, missing))} not in {data.name}; columns are: {', '.join(columns)}"
        )
    methods = raw["methods"]
    if not isinstance(methods, list) or not methods:
        raise SpecError("methods: must be a non-empty list")
    for m in methods:
        if not isinstance(m, dict) or "name" not in m:
            raise SpecError("every method needs a name:")
        validate_method(m, {"regression"})
    horizon = label.get("horizon")
    window = prot.get("window", "expanding")
    if window not in ("expanding", "rolling"):
        raise SpecError("protocol.window must be expanding or rolling for a signal study")
    gap = prot.get("gap", horizon if horizon else 0)
    for what, v in (
        ("gap", gap),
        ("embargo", prot.get("embargo")),
        ("train_size", prot.get("train_size")),
    ):
        parse_span(v, f"protocol.{what}")
    return SignalSpec(
        name=str(raw.get("name") or "signal"),
        data=str(data),
        time=str(raw["time"]),
        label_column=str(label["column"]),
        horizon=int(horizon) if horizon else None,
        columns=[str(c) for c in feats.get("columns", [])],
        lags=lags,
        rolling=rolling,
        methods=methods,
        entity=raw.get("entity"),
        folds=int(prot.get("folds", 10)),
        window=window,
        gap=gap,
        embargo=prot.get("embargo"),
        train_size=prot.get("train_size"),
        cost_bps=float(bt.get("cost_bps", 0.0)),
        periods_per_year=float(bt.get("periods_per_year", 252)),
        period=str(raw.get("period", "M")),
        seed=int(raw.get("seed", 0)),
        backtest=do_backtest,
        raw=raw,
    )


@dataclass
class Frame:
    """Features, label and bookkeeping columns of a signal study, in time order."""

    X: pd.DataFrame
    y: np.ndarray
    time: pd.Series
    realised: np.ndarray  # what a position taken at the row earns over the next period
    entity: np.ndarray | None


def build_frame(df: pd.DataFrame, spec: SignalSpec) -> Frame:
    """Label, past-only features, and the rows that have a label, ordered by time."""
    d = df.copy()
    d[spec.time] = to_time(d[spec.time]).to_numpy()
    d = d.sort_values([spec.time] + ([spec.entity] if spec.entity else []), kind="stable")
    d = d.reset_index(drop=True)
    if spec.horizon:
        label = forward_label(d, spec.label_column, spec.horizon, spec.time, spec.entity)
        realised = forward_label(d, spec.label_column, 1, spec.time, spec.entity)
    else:
        label = d[spec.label_column].astype(float)
        realised = label
    d = add_past_features(d, spec.time, lags=spec.lags, rolling=spec.rolling, entity=spec.entity)
    new = [c for c in d.columns if c not in df.columns]
    keep = label.notna().to_numpy()
    X = d.loc[keep, spec.columns + new].reset_index(drop=True)
    return Frame(
        X,
        label[keep].to_numpy(dtype=float),
        d.loc[keep, spec.time].reset_index(drop=True),
        realised[keep].to_numpy(dtype=float),
        d.loc[keep, spec.entity].to_numpy() if spec.entity else None,
    )


def predict_folds(
    method: dict[str, Any], X: pd.DataFrame, y: np.ndarray, folds, seed: int = 0
) -> np.ndarray:
    """Out-of-fold predictions (NaN for rows no fold tests)."""
    from mlresearcher.study.methods import fit_predict

    pred = np.full(len(y), np.nan)
    for tr, te in folds:
        pred[te] = fit_predict(
            method,
            X.iloc[tr].reset_index(drop=True),
            y[tr],
            X.iloc[te].reset_index(drop=True),
            task="regression",
            n_classes=0,
            seed=seed,
        )
    return pred


def shuffled_folds(n: int, k: int, seed: int = 0):
    from sklearn.model_selection import KFold

    return list(KFold(k, shuffle=True, random_state=seed).split(np.zeros(n)))


def periods(time: pd.Series, entity: np.ndarray | None, freq: str) -> np.ndarray:
    """The IC grouping: each time stamp for a panel, else calendar periods of ``freq``."""
    if entity is not None:
        return time.to_numpy()
    if pd.api.types.is_datetime64_any_dtype(time):
        return time.dt.to_period(freq).astype(str).to_numpy()
    return (np.arange(len(time)) // 21).astype(int)  # numeric time: blocks of 21 rows


def evaluate(pred: np.ndarray, fr: Frame, rows: np.ndarray, spec: SignalSpec) -> dict[str, Any]:
    """ML and signal metrics of ``pred`` on ``rows``."""
    p, y = pred[rows], fr.y[rows]
    resid = y - p
    r2 = 1 - np.sum(resid**2) / np.sum((y - y.mean()) ** 2)
    ics = sm.ic_per_period(
        p, y, periods(fr.time.iloc[rows].reset_index(drop=True), fr.entity, spec.period)
    )
    bt = None
    if spec.backtest:
        bt = sm.backtest(
            p,
            fr.realised[rows],
            fr.time.iloc[rows].to_numpy(),
            entity=fr.entity[rows] if fr.entity is not None else None,
            cost_bps=spec.cost_bps,
            periods_per_year=spec.periods_per_year,
        )
    return {
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "r2": float(r2),
        "direction_accuracy": sm.direction_accuracy(p, y),
        **sm.ic_summary(ics),
        "backtest": bt.summary if bt is not None else None,
        "_ics": ics,
        "_bt": bt,
    }


def verdict(wf: dict[str, Any], sh: dict[str, Any]) -> dict[str, Any]:
    """The honesty section: is the walk-forward signal distinguishable from zero, and how
    much would shuffled k-fold have overstated it?"""
    t = wf["ic_t"]
    real = t is not None and math.isfinite(t) and abs(t) >= 2
    text = (
        f"walk-forward mean IC {wf['ic_mean']:.4f} (t = {t:.2f}, hit rate {wf['hit_rate']:.0%} over "
        f"{wf['n_periods']} periods): "
        + (
            "NOT distinguishable from zero (|t| < 2): treat the signal as absent."
            if not real
            else "distinguishable from zero at about the 5 % level."
            if wf["ic_mean"] > 0
            else "distinguishable from zero but NEGATIVE: out of sample the model ranks "
            "outcomes the wrong way round (what it learnt from the past did not hold)."
        )
    )
    over = {"ic_mean": sh["ic_mean"] - wf["ic_mean"], "r2": sh["r2"] - wf["r2"]}
    sharpe = ""
    if wf["backtest"] is not None:
        over["sharpe"] = sh["backtest"]["sharpe"] - wf["backtest"]["sharpe"]
        sharpe = f", Sharpe {sh['backtest']['sharpe']:.2f} vs {wf['backtest']['sharpe']:.2f}"
    text += (
        f" Shuffled k-fold on the same rows reports mean IC {sh['ic_mean']:.4f} (t = {sh['ic_t']:.2f}), "
        f"R² {sh['r2']:.4f} vs {wf['r2']:.4f}{sharpe}: it overstates the IC by {over['ic_mean']:+.4f}."
    )
    return {
        "distinguishable": bool(real),
        "positive": bool(real and wf["ic_mean"] > 0),
        "overstatement": over,
        "text": text,
    }


def run_signal_study(spec: SignalSpec, out_dir: Path, log=None) -> dict[str, Any]:
    """Run every method under both protocols, write the report; return the summary."""
    from mlresearcher.data.io import read_table

    t0 = _time.monotonic()
    fr = build_frame(read_table(spec.data), spec)
    gap = parse_span(spec.gap, "protocol.gap")
    emb = parse_span(spec.embargo, "protocol.embargo")
    ts = parse_span(spec.train_size, "protocol.train_size") if spec.train_size is not None else None
    wf_folds = walk_forward_folds(
        fr.time, spec.folds, window=spec.window, train_size=ts, gap=gap, embargo=emb
    )
    rows = np.sort(np.concatenate([te for _, te in wf_folds]))
    sh_folds = shuffled_folds(len(fr.y), spec.folds, spec.seed)
    results: dict[str, Any] = {}
    for m in spec.methods:
        t1 = _time.monotonic()
        wf = evaluate(predict_folds(m, fr.X, fr.y, wf_folds, spec.seed), fr, rows, spec)
        sh = evaluate(predict_folds(m, fr.X, fr.y, sh_folds, spec.seed), fr, rows, spec)
        results[m["name"]] = {"walk_forward": wf, "shuffled": sh, "verdict": verdict(wf, sh)}
        if log:
            log(
                f"{m['name']}: {results[m['name']]['verdict']['text']} ({_time.monotonic() - t1:.1f}s)"
            )
    summary = {
        "name": spec.name,
        "data": spec.data,
        "n_rows": int(len(fr.y)),
        "n_test_rows": int(len(rows)),
        "features": list(fr.X.columns),
        "label": f"{spec.label_column}"
        + (f" summed over the next {spec.horizon} period(s)" if spec.horizon else ""),
        "protocol": f"walk-forward, {len(wf_folds)} folds, {spec.window} window, gap {gap}"
        + (f", embargo {emb}" if not emb.is_zero else "")
        + f"; compared with shuffled {spec.folds}-fold on the same rows",
        "cost_bps": spec.cost_bps,
        "methods": {
            name: {
                proto: {k: v for k, v in r[proto].items() if not k.startswith("_")}
                for proto in ("walk_forward", "shuffled")
            }
            | {"verdict": r["verdict"]}
            for name, r in results.items()
        },
        "wall_time": round(_time.monotonic() - t0, 2),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(
        out_dir / "signal.json",
        json.dumps(_finite(summary), indent=2, default=_json_default, allow_nan=False),
    )
    from mlresearcher.signal.report import write_signal_report

    write_signal_report(out_dir, spec, summary, results, fr, rows)
    return summary


def _finite(o: Any) -> Any:
    """``o`` with every non-finite float replaced by ``None`` (JSON has no NaN)."""
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_finite(v) for v in o]
    if isinstance(o, float | np.floating):
        return float(o) if np.isfinite(o) else None
    return o


def _json_default(o: Any) -> Any:
    if isinstance(o, float | np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, Span):
        return str(o)
    raise TypeError(type(o).__name__)
