"""The run directory: everything a run produced, as plain files.

``<runs>/<run-id>/``

=====================  =============================================================
``model.joblib``       the final predictor (see :mod:`mlresearcher.predictor`)
``leaderboard.csv``    every trial and the ensemble, best first
``oof.parquet``        out-of-fold predictions of the final model, with the target
``trials.json``        every trial: status, params, per-fold scores, timings, errors
``config.json``        the resolved run configuration
``schema.json``        column roles and prepared features
``findings.json``      data and run findings
``profile.json``       the data profile: column statistics and findings (first stage)
``reference.parquet``  a bounded, seeded sample of training inputs with out-of-fold
                       predictions: the drift monitor's baseline
``analysis.json``      the analysis stage's results (when it ran)
``report.html``        the research report, also as ``report.md``, and ``model_card.md``
``manifest.json``      run id, data hash, seed, protocol, package versions, command,
                       and the SHA-256 of every other file: written last, by
                       :func:`mlresearcher.store.integrity.write_manifest`
=====================  =============================================================

Files are written atomically (:mod:`mlresearcher.store.atomic`), so a crash never leaves
a half file; a directory without ``manifest.json`` is an unfinished run.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlresearcher.errors import RunNotFoundError
from mlresearcher.store.atomic import atomic_path, write_text

if TYPE_CHECKING:
    from mlresearcher.engine import RunConfig, RunResult


def _write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def oof_frame(rr: RunResult) -> pd.DataFrame:
    """The final model's out-of-fold predictions (mean over repeats), one row per data row."""
    oof = np.nanmean(rr.oof, axis=0) if rr.oof.shape[0] > 1 else rr.oof[0]
    validated = rr.protocol.validated_mask(len(rr.target.y))
    df = pd.DataFrame({"row": np.arange(len(rr.target.y)), "validated": validated})
    if rr.task == "regression":
        df["target"] = rr.target.y
        df["prediction"] = oof
    else:
        classes = rr.target.classes or []
        df["target"] = pd.Series(np.asarray(classes, dtype=object)[rr.target.y]).astype(str)
        pred = np.where(validated, np.argmax(np.nan_to_num(oof, nan=-1), axis=1), -1)
        df["prediction"] = [str(classes[i]) if i >= 0 else None for i in pred]
        for j, c in enumerate(classes):
            df[f"proba_{c}"] = oof[:, j]
    return df


def write_run_dir(
    rr: RunResult,
    config: RunConfig,
    *,
    data_hash: str,
    data_source: str | None,
    command: str | None,
    store_url: str | None,
) -> dict[str, Any]:
    """Write every file of the run's results; returns the fields of its manifest, which the
    engine writes with :func:`~mlresearcher.store.integrity.write_manifest` after the
    analysis and the report, so it covers them too."""
    from mlresearcher.engine import environment

    assert rr.run_dir is not None
    d = rr.run_dir
    d.mkdir(parents=True, exist_ok=True)
    rr.predictor.save(d)
    with atomic_path(d / "leaderboard.csv") as tmp:
        rr.leaderboard.to_csv(tmp, index=False)
    with atomic_path(d / "oof.parquet") as tmp:
        oof_frame(rr).to_parquet(tmp, index=False)
    _write_json(d / "trials.json", [t.record() for t in rr.campaign.trials])
    _write_json(d / "config.json", asdict(config))
    _write_json(d / "schema.json", rr.schema.to_dict())
    _write_json(d / "findings.json", [f.to_dict() for f in rr.findings])
    if "profile" in rr.extra:
        _write_json(d / "profile.json", rr.extra["profile"])
    from mlresearcher.serve.reference import write_reference

    write_reference(rr, d)  # the drift monitor's baseline (serve/reference.py)
    return {
        "run_id": rr.run_id,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        "data_source": data_source,
        "data_hash": data_hash,
        "n_rows": int(len(rr.target.y)),
        "target": rr.target.name,
        "task": rr.task,
        "classes": rr.target.classes,
        "metric": rr.metric.name,
        "greater_is_better": rr.metric.greater_is_better,
        "seed": config.seed,
        "protocol": rr.protocol.to_dict(),
        "best_model": str(rr.leaderboard.iloc[0]["model"]),
        "best_score": rr.best_score,
        "final_model": rr.predictor.describe(),
        "stopped_because": rr.campaign.stopped_because,
        "n_trials": len(rr.campaign.trials),
        "wall_time": round(rr.wall_time, 3),
        "store": store_url,
        "environment": environment(),
    }


def resolve_run_dir(ref: str | Path, runs_dir: str | Path = "runs") -> Path:
    """A finished run directory from a path, or from a run id (or unique prefix) under
    ``runs_dir``. A run's folder without ``manifest.json`` (a run that was interrupted or
    could not save) is refused: its files cannot be verified before they are loaded."""
    base = Path(runs_dir)
    p = Path(ref)
    if not p.is_dir():
        p = base / str(ref)
    if not p.is_dir() and base.is_dir():
        matches = [c for c in base.iterdir() if c.is_dir() and c.name.startswith(str(ref))]
        if len(matches) == 1:
            p = matches[0]
    if (p / "manifest.json").exists():
        return p
    if p.is_dir() and any((p / f).exists() for f in ("model.joblib", "config.json", "trials")):
        raise RunNotFoundError(
            f"{str(p)!r} is not a finished run: it has no manifest.json, so its files cannot be "
            f"verified before they are loaded (an interrupted run, or one that could not save: "
            f"finish it with `mlresearcher resume {p.name}`)"
        )
    raise RunNotFoundError(
        f"no run directory {str(ref)!r} (looked in {str(base)!r}); pass runs/<run-id>, or a run id with --runs DIR"
    )
