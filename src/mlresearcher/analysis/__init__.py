"""The analysis stage: statistics, explanations, diagnostics and fairness of a finished run.

:func:`analyse` takes the :class:`~mlresearcher.engine.RunResult` and the data it was run
on and returns one plain dict (saved as ``analysis.json`` in the run directory), which
:mod:`mlresearcher.report` renders. Every step runs within the stage's time budget; a step
that does not fit, or fails, is listed under ``skipped`` with the reason, and never costs
the finished run.

Time: inside ``--time-limit``, the stage gets :func:`analysis_seconds` of the limit (the
search stops that much earlier); without a time limit (``--max-trials`` alone) it gets
:func:`untimed_analysis_seconds`: twice the campaign's time, at least 60 s. Either way
it works on bounded row samples. The leaderboard and the predictions never depend on it.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.analysis._common import (
    Budget,
    baseline_fold_scores,
    finite,
    first_repeat_folds,
    oof_scores,
)
from mlresearcher.findings import Finding

ANALYSIS_FILE = "analysis.json"
VERSION = 1


def analysis_seconds(time_limit: float) -> float:
    """Seconds of a run's time limit kept for the analysis and report.

    20% of the limit from 30 s up, at most 120 s; below 30 s the share shrinks with the
    limit (``0.2 * limit * limit / 30``: 0.24 s of 6 s) so short runs keep their search
    time: a model first, the analysis with what is left (its costly steps then skip)."""
    return min(120.0, 0.2 * time_limit * min(1.0, time_limit / 30.0))


def untimed_analysis_seconds(campaign_seconds: float) -> float:
    """Without a time limit, the analysis may take twice the campaign's time (>= 60 s).

    A cap, not a target: on small data it ends long before; it bounds the refits of the
    null check and learning curve on large data."""
    return max(60.0, 2.0 * campaign_seconds)


def render_seconds(analysis_total: float) -> float:
    """Of those, the share left for rendering the report (plots): 40%, at most 8 s."""
    return min(8.0, 0.4 * analysis_total)


def best_pipeline(
    rr: Any, n_rows: int, *, seed: int = 0, n_jobs: int = 2, deadline: float | None = None
) -> tuple[Any, Any, Any] | None:
    """``(trial, family, fit context)`` of the best single (non-ensemble) pipeline, or None."""
    from mlresearcher.models.base import FitContext
    from mlresearcher.models.registry import get_families

    lb = rr.leaderboard
    done = lb[(lb["status"] == "complete") & (lb["family"] != "ensemble")]
    if done.empty:
        return None
    name = str(done.iloc[0]["model"])
    trial = next((t for t in rr.campaign.trials if t.name == name), None)
    if trial is None:
        return None
    ctx = FitContext(
        task=rr.task,
        n_classes=rr.target.n_classes,
        schema=rr.schema,
        n_rows=n_rows,
        seed=seed,
        n_jobs=n_jobs,
        deadline=deadline,
    )
    family = rr.campaign.families.get(trial.family) or get_families([trial.family])[0]
    return trial, family, ctx


#: steps that predict or refit: skipped outright once the stage's deadline has passed
_COSTLY = ("importance", "null_check", "shap", "partial_dependence", "learning_curve")


def _step(out: dict, key: str, notes: Budget, fn: Any, *args: Any, **kw: Any) -> None:
    """Run one analysis step; a failure is recorded, never raised."""
    if key in _COSTLY and notes.left() <= 0:
        notes.skip(f"{key}: no analysis time left")
        return
    t0 = time.monotonic()
    try:
        out[key] = fn(*args, **kw)
    except Exception as e:  # an analysis bug must not cost the finished run
        out[key] = None
        notes.skip(f"{key}: failed ({type(e).__name__}: {e})")
        out.setdefault("errors", []).append(
            {"step": key, "error": "".join(traceback.format_exc(limit=4))[-2000:]}
        )
    out.setdefault("timings", {})[key] = round(time.monotonic() - t0, 3)


def analyse(
    rr: Any,
    X: pd.DataFrame,
    Xp: pd.DataFrame,
    *,
    sensitive: list[str] | None = None,
    seed: int = 0,
    n_jobs: int = 2,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Analyse run ``rr``; ``X`` is the raw feature frame, ``Xp`` the prepared one (rows of
    both aligned with ``rr.target.y``). ``deadline`` is a ``time.monotonic()`` value."""
    from mlresearcher.analysis import diagnostics, explain, fairness, learning_curve, null_check
    from mlresearcher.analysis.stats import comparison_summary, jsonable_rows

    t_start = time.monotonic()
    budget = Budget(deadline)
    y = rr.target.y
    task, metric, protocol = rr.task, rr.metric, rr.protocol
    classes = rr.target.classes
    folds1 = first_repeat_folds(protocol)
    base_scores = baseline_fold_scores(metric, y, protocol, task, rr.target.n_classes)
    base = float(np.nanmean(base_scores)) if base_scores else None
    out: dict[str, Any] = {
        "version": VERSION,
        "run": {
            "run_id": rr.run_id,
            "task": task,
            "target": rr.target.name,
            "classes": [str(c) for c in classes] if classes else None,
            "metric": metric.name,
            "metric_description": metric.description,
            "greater_is_better": metric.greater_is_better,
            "protocol": protocol.to_dict(),
            "n_rows": int(len(y)),
            "n_features": int(Xp.shape[1]),
            "best_model": str(rr.leaderboard.iloc[0]["model"]),
            "best_score": rr.best_score,
            "final_model": rr.predictor.describe(),
            "n_trials": len(rr.campaign.trials),
            "stopped_because": rr.campaign.stopped_because,
            "sensitive": list(sensitive or []),
        },
        "baseline": {
            "description": "naive baseline: predicts the training fold's class shares"
            if task != "regression"
            else "naive baseline: predicts the training fold's mean",
            "fold_scores": base_scores,
            "score": base,
        },
        "comparison": {
            **comparison_summary(rr.leaderboard, protocol.folds),
            "leaderboard": jsonable_rows(rr.leaderboard, limit=30),
        },
    }
    oof, mask = oof_scores(rr)
    yv, sv, Xv = y[mask], oof[mask], Xp.loc[mask].reset_index(drop=True)
    # cheap steps first, from out-of-fold predictions
    if task != "regression":
        _step(out, "calibration", budget, diagnostics.calibration, yv, sv)
        _step(out, "confusion", budget, diagnostics.confusion, yv, sv, classes)
    else:
        _step(out, "residuals", budget, diagnostics.residuals, yv, sv, seed)
    _step(out, "error_slices", budget, diagnostics.error_slices, Xv, yv, sv, task)
    if sensitive:
        sens = X.loc[mask, list(sensitive)].reset_index(drop=True)
        _step(out, "fairness", budget, fairness.fairness, sens, yv, sv, task, classes)
    # steps that predict or refit
    _step(
        out,
        "importance",
        budget,
        explain.permutation_importance_oof,
        rr.predictor,
        Xp,
        y,
        folds1,
        metric,
        seed=seed,
        budget=budget,
    )
    pipeline = best_pipeline(rr, len(Xp), seed=seed, n_jobs=n_jobs, deadline=deadline)
    best, family, ctx = pipeline if pipeline else (None, None, None)
    fold_seconds = 0.0
    if best is not None:
        fold_seconds = (best.fit_time + best.predict_time) / max(1, len(best.fold_scores))
        if budget.fits(fold_seconds * 2):
            _step(
                out,
                "null_check",
                budget,
                null_check.null_check,
                Xp,
                y,
                family=family,
                params=best.params,
                ctx=ctx,
                folds=folds1,
                metric=metric,
                seed=seed + 1,
                budget=budget,
                expected_fold_seconds=fold_seconds,
            )
        else:
            budget.skip("null check: the best pipeline's folds do not fit in the time left")
    _step(
        out,
        "shap",
        budget,
        explain.shap_values,
        rr.predictor,
        Xp,
        folds1,
        classes=classes,
        seed=seed,
        budget=budget,
    )
    top = [f["feature"] for f in (out.get("importance") or {}).get("features", [])[:3]]
    if top:
        _step(
            out,
            "partial_dependence",
            budget,
            explain.partial_dependence,
            rr.predictor,
            Xp,
            top,
            seed=seed,
            budget=budget,
        )
    if best is not None and family is not None:
        _step(
            out,
            "learning_curve",
            budget,
            learning_curve.learning_curve,
            Xp,
            y,
            family=family,
            params=best.params,
            ctx=ctx,
            folds=folds1,
            full_scores=best.fold_scores,
            metric=metric,
            seed=seed + 2,
            budget=budget,
            full_fold_seconds=fold_seconds,
        )
    out["findings"] = [f.to_dict() for f in analysis_findings(out)]
    out["skipped"] = budget.skipped
    out.setdefault("timings", {})["total"] = round(time.monotonic() - t_start, 3)
    return clean(out)


def analysis_findings(a: dict[str, Any]) -> list[Finding]:
    """Findings the analysis adds: the leakage alarm and fairness gaps."""
    out = []
    nc = a.get("null_check")
    if nc and nc.get("alarm"):
        t = nc["test"]
        out.append(
            Finding(
                "leakage_alarm",
                "critical",
                f"the best pipeline beats chance on a permuted target "
                f"({nc['model_score']:.4g} vs baseline {nc['baseline_score']:.4g}, "
                f"one-sided corrected t-test p={t['p']:.2g}): the validation scores are "
                "not trustworthy",
                evidence={"null_check": {k: nc[k] for k in ("model_score", "baseline_score")}},
                action="look for duplicated records across folds, columns computed from the "
                "target, or rows that share an entity (use --group COL)",
            )
        )
    fair = a.get("fairness") or {}
    for c in fair.get("columns", []):
        if not c.get("flagged"):
            continue
        if "per_class" in c:
            worst = max(
                c["per_class"],
                key=lambda p: max(
                    p["demographic_parity_difference"], p["equalized_odds_difference"]
                ),
            )
            msg = (
                f"large gap between groups of {c['column']!r}: demographic-parity difference "
                f"{worst['demographic_parity_difference']:.3f}, equalized-odds difference "
                f"{worst['equalized_odds_difference']:.3f} (class {worst['positive_class']!r}; "
                f"flag above {fair['thresholds']['gap']})"
            )
        else:
            msg = (
                f"large gap between groups of {c['column']!r}: the worst group's mean absolute "
                f"error is {c['mae_ratio_worst_to_best']:.2f} times the best group's "
                f"(flag above {fair['thresholds']['mae_ratio']})"
            )
        out.append(
            Finding(
                "fairness_gap",
                "warning",
                msg,
                column=c["column"],
                action="review the per-group table before use; consider whether the column "
                "(or its proxies) should inform the decision",
            )
        )
    return out


def clean(obj: Any) -> Any:
    """``obj`` with NaN/inf as None and numpy scalars as Python values (valid JSON)."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return finite(obj)
    return obj


__all__ = ["ANALYSIS_FILE", "analyse", "analysis_findings", "analysis_seconds", "clean"]
