"""Re-execute a finished run from its run directory and compare the results.

Contract: :func:`reproduce` reads ``manifest.json`` (target, data source, data hash,
seed) and ``config.json`` (the resolved :class:`~mlresearcher.engine.RunConfig`), checks
that the run directory's files still have the SHA-256 recorded in the manifest, reads the
data (the recorded source, or another file), and refuses it with
:class:`DataMismatchError` unless its fingerprint equals the recorded data hash. It then
runs the same configuration again as a new run and compares:

* the **leaderboard**: every row's model, family, status, score, score spread, folds,
  origin, ensemble weight and parameters (timings are excluded: they are never equal);
* the **predictions**: the out-of-fold predictions of the final model, and the two final
  models' predictions on the data.

With a trial-count budget and no time limit a run is deterministic, so both must match
exactly (equality, not a tolerance). With a time limit, how many trials finish depends on
the machine's speed, so differences are reported, not expected away.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.errors import DataError, RunNotFoundError, UserError

LEADERBOARD_COLUMNS = (
    "rank",
    "model",
    "family",
    "status",
    "score",
    "score_std",
    "n_folds",
    "origin",
    "weight",
    "params",
)
CHECKED_FILES = ("config.json", "leaderboard.csv", "oof.parquet", "model.joblib")


class DataMismatchError(DataError):
    """The data given to reproduce a run is not the data the run used."""


@dataclass
class Reproduction:
    """The outcome of re-executing a run (see the module doc)."""

    original_run_id: str
    original_run_dir: str
    new_run_id: str
    new_run_dir: str
    data_source: str
    data_hash: str
    deterministic: bool  # trial budget without a time limit: exact equality expected
    leaderboard_match: bool
    oof_match: bool
    predictions_match: bool
    leaderboard_differences: list[dict[str, Any]] = field(default_factory=list)
    oof_max_abs_difference: float = 0.0
    prediction_max_abs_difference: float = 0.0
    original_best: dict[str, Any] = field(default_factory=dict)
    new_best: dict[str, Any] = field(default_factory=dict)
    wall_time: float = 0.0

    @property
    def matches(self) -> bool:
        return self.leaderboard_match and self.oof_match and self.predictions_match

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "matches": self.matches}


def run_config(config: dict[str, Any]) -> Any:
    """The :class:`RunConfig` of a stored ``config.json`` (keys it does not know are ignored,
    so a run written by a newer version with extra settings still loads)."""
    from mlresearcher.engine import RunConfig

    known = {f.name for f in fields(RunConfig)}
    return RunConfig(**{k: v for k, v in config.items() if k in known})


def _check_files(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Every file the reproduction compares against must be there and unchanged: the ones
    it reads, and every other file the manifest records (an altered report or analysis
    means the run is no longer the one that was made)."""
    from mlresearcher.store.integrity import verify_run

    for name in CHECKED_FILES:
        if not (run_dir / name).exists():
            raise RunNotFoundError(
                f"{str(run_dir / name)!r} is missing; the run directory is incomplete"
            )
    verify_run(run_dir, manifest)


def load_run_data(
    manifest: dict[str, Any], config: Any, data: str | Path | None
) -> tuple[pd.DataFrame, pd.Series, str]:
    """Read the run's data and check its fingerprint; returns ``X``, ``y`` and the source."""
    from mlresearcher.data.io import read_table
    from mlresearcher.engine import run_data_hash, split_target

    source = str(data) if data is not None else manifest.get("data_source")
    if not source:
        raise UserError(
            "the run records no data file (it was fitted from memory); pass the data with --data FILE"
        )
    if data is None and not Path(source).exists():
        raise DataError(
            f"the run's data file {source!r} no longer exists; pass its copy with --data FILE"
        )
    df = read_table(source)
    X, y = split_target(df, manifest["target"])
    found = run_data_hash(X, y, config.task)
    if found != manifest["data_hash"]:
        raise DataMismatchError(
            f"the data in {source!r} is not the data of run {manifest['run_id']} (fingerprint "
            f"{found[:12]}... instead of {manifest['data_hash'][:12]}...); pass the original "
            "file with --data"
        )
    return X, y, source


def compare_leaderboards(a: pd.DataFrame, b: pd.DataFrame) -> list[dict[str, Any]]:
    """Cell-by-cell differences between two leaderboards (exact; NaN equals NaN)."""
    diffs: list[dict[str, Any]] = []
    if len(a) != len(b):
        diffs.append({"row": None, "column": "n_rows", "original": len(a), "new": len(b)})
    for i in range(min(len(a), len(b))):
        for col in LEADERBOARD_COLUMNS:
            va = a[col].iloc[i] if col in a.columns else None
            vb = b[col].iloc[i] if col in b.columns else None
            if not _same(va, vb):
                diffs.append({"row": i, "column": col, "original": _py(va), "new": _py(vb)})
    return diffs


def _same(a: Any, b: Any) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    return bool(a == b)


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return None if pd.isna(v) else v


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return float("inf")
    a = np.asarray(a, dtype="float64")
    b = np.asarray(b, dtype="float64")
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.where(both_nan, 0.0, np.abs(a - b))
    return float(np.nan_to_num(d, nan=np.inf).max()) if d.size else 0.0


def _oof_values(path: Path) -> np.ndarray:
    df = pd.read_parquet(path)
    probas = [c for c in df.columns if c.startswith("proba_")]  # classifiers: compare probas
    return df[probas or ["prediction"]].to_numpy(dtype="float64")


def _scoring_frame(X: pd.DataFrame, y: pd.Series, config: Any) -> pd.DataFrame:
    """The rows with a target, with the run's past-only features (``--lag``, ``--rolling``)
    added as ``run`` adds them, so both models can score the data they were trained on."""
    from mlresearcher.data.task import encode_target

    name = str(y.name) if y.name is not None else "target"
    target, keep = encode_target(y.reset_index(drop=True), name, config.task)
    X = X.reset_index(drop=True).loc[keep].reset_index(drop=True)
    if not (config.lags or config.rolling or config.entity):
        return X
    from mlresearcher.signal.features import features_for_run

    return features_for_run(
        X,
        target.y,
        name,
        config.time,
        lags=config.lags,
        rolling=config.rolling,
        entity=config.entity,
    )


def reproduce(
    run_dir: str | Path,
    *,
    data: str | Path | None = None,
    out_dir: str | Path | None = None,
    store: Any = None,
    command: str | None = None,
    progress: Any = None,
) -> Reproduction:
    """Re-execute the run in ``run_dir`` into ``out_dir`` (default: beside it) and compare."""
    from mlresearcher.engine import run
    from mlresearcher.predictor import Predictor
    from mlresearcher.store.integrity import read_run_manifest, record_files
    from mlresearcher.store.rundir import _write_json

    start = time.monotonic()
    run_dir = Path(run_dir)
    manifest = read_run_manifest(run_dir)
    _check_files(run_dir, manifest)
    config = run_config(json.loads((run_dir / "config.json").read_text()))
    X, y, source = load_run_data(manifest, config, data)
    out = Path(out_dir) if out_dir is not None else run_dir.parent
    rr = run(
        X,
        y,
        config,
        out_dir=out,
        store=store,
        data_source=str(Path(source).resolve()),
        command=command,
        clock_start=start,
        progress=progress,
    )
    assert rr.run_dir is not None
    lb_a = pd.read_csv(run_dir / "leaderboard.csv")
    lb_b = pd.read_csv(rr.run_dir / "leaderboard.csv")
    diffs = compare_leaderboards(lb_a, lb_b)
    oof_diff = _max_abs_diff(
        _oof_values(run_dir / "oof.parquet"), _oof_values(rr.run_dir / "oof.parquet")
    )
    scoring = _scoring_frame(X, y, config)
    pred_a = Predictor.load(run_dir).predict_scores(scoring)
    pred_b = rr.predictor.predict_scores(scoring)
    pred_diff = _max_abs_diff(pred_a, pred_b)
    rep = Reproduction(
        original_run_id=manifest["run_id"],
        original_run_dir=str(run_dir),
        new_run_id=rr.run_id,
        new_run_dir=str(rr.run_dir),
        data_source=source,
        data_hash=manifest["data_hash"],
        deterministic=config.time_limit is None and config.max_trials is not None,
        leaderboard_match=not diffs,
        oof_match=oof_diff == 0.0,
        predictions_match=pred_diff == 0.0,
        leaderboard_differences=diffs[:50],
        oof_max_abs_difference=oof_diff,
        prediction_max_abs_difference=pred_diff,
        original_best={"model": manifest.get("best_model"), "score": manifest.get("best_score")},
        new_best={"model": str(rr.leaderboard.iloc[0]["model"]), "score": rr.best_score},
    )
    rep.wall_time = round(time.monotonic() - start, 3)
    _write_json(rr.run_dir / "reproduction.json", rep.to_dict())
    record_files(rr.run_dir, ["reproduction.json"])
    return rep
