"""One run, end to end: data -> schema -> protocol -> campaign -> ensemble -> refit ->
artifacts.

The CLI and :class:`mlresearcher.AutoModel` are thin shells over :func:`run`.

Time budget: ``time_limit`` seconds cover everything from ``clock_start`` (the CLI passes
its own start) to the saved model. The search stops at ``limit - reserve``; the reserve
(5% of the limit, at least 1.5 s, at most 15 s) pays for ensembling and saving. With
``final_model="refit"`` the campaign moves its search deadline earlier by the expected
refit time of the likely ensemble members (:mod:`mlresearcher.search.refit`).
"""

from __future__ import annotations

import json
import math
import os
import platform
import secrets
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher import __version__
from mlresearcher.data.compact import LARGE_ROWS, release_freed_memory
from mlresearcher.data.io import data_hash
from mlresearcher.data.protocol import Protocol, make_protocol
from mlresearcher.data.schema import Schema, build_schema, infer_roles, prepare_features
from mlresearcher.data.task import Target, encode_target, find_target_column
from mlresearcher.errors import ConfigError, DataError, UserError
from mlresearcher.execution import make_executor
from mlresearcher.findings import Finding
from mlresearcher.metrics import Metric, get_metric
from mlresearcher.models.registry import get_families
from mlresearcher.models.text import text_corpus
from mlresearcher.predictor import Member, Predictor
from mlresearcher.search.campaign import Campaign, CampaignResult, TrialResult
from mlresearcher.search.portfolio import PORTFOLIOS
from mlresearcher.search.refit import FINAL_MODELS, refit_members
from mlresearcher.store.db import Store
from mlresearcher.store.liveness import RunHeartbeat


@dataclass
class RunConfig:
    """Everything that decides what a run does (stored in ``config.json``)."""

    time_limit: float | None = 60.0
    max_trials: int | None = None
    seed: int = 0
    task: str | None = None
    metric: str | None = None
    families: list[str] | None = None
    folds: int | None = None
    repeats: int | None = None
    holdout: float | None = None
    group: str | None = None
    time: str | None = None
    # walk-forward protocol and past-only features (see mlresearcher.signal)
    window: str | None = None
    train_size: str | None = None
    gap: str | None = None
    embargo: str | None = None
    entity: str | None = None
    lags: list[str] | None = None
    rolling: list[str] | None = None
    n_jobs: int = 2
    ensemble_rounds: int = 40
    keep_top: int = 12
    sensitive: list[str] | None = None  # columns whose groups the fairness analysis compares
    analysis: bool = True  # run the analysis stage and write the report (with a run dir)
    cluster: str | None = None  # where trials run; see mlresearcher.execution.make_executor
    trial_timeout: float | None = None  # seconds per trial (isolated executors)
    trial_memory: float | None = None  # MB of private memory per trial (isolated executors)
    final_model: str = "refit"  # refit: members refit on all rows; bagged: their fold models
    target_transform: bool = True  # boosters may fit a skewed non-negative target's sqrt/log
    portfolio: str = "families"  # first trials: each family's own configurations, or learned

    def validate(self) -> None:
        if self.time_limit is not None and not self.time_limit > 0:
            raise ConfigError(
                f"--time-limit must be a positive number of seconds, got {self.time_limit}"
            )
        if self.max_trials is not None and self.max_trials < 1:
            raise ConfigError(f"--max-trials must be at least 1, got {self.max_trials}")
        if self.time_limit is None and self.max_trials is None:
            raise ConfigError("give a budget: --time-limit SECONDS and/or --max-trials N")
        if self.n_jobs < 1:
            raise ConfigError(f"--n-jobs must be at least 1, got {self.n_jobs}")
        if self.group and self.time:
            raise ConfigError("use either --group or --time, not both")
        walk_forward = (self.window, self.train_size, self.gap, self.embargo, self.entity)
        if not self.time and (
            any(v is not None for v in walk_forward) or self.lags or self.rolling
        ):
            raise ConfigError(
                "--window, --train-size, --gap, --embargo, --entity, --lag and --rolling need --time COL"
            )
        if not isinstance(self.target_transform, bool | np.bool_):
            raise ConfigError(
                f"target_transform must be True or False, got {self.target_transform!r}"
            )
        if self.portfolio not in PORTFOLIOS:
            raise ConfigError(
                f"--portfolio must be one of {', '.join(PORTFOLIOS)}, got {self.portfolio!r}"
            )
        if self.final_model not in FINAL_MODELS:
            raise ConfigError(
                f"--final-model must be one of {', '.join(FINAL_MODELS)}, got {self.final_model!r}"
            )
        if self.families is not None:
            get_families(self.families)
        from mlresearcher.execution import check_executor_options

        check_executor_options(self.cluster, self.trial_timeout, self.trial_memory)


@dataclass
class RunResult:
    run_id: str
    run_dir: Path | None
    predictor: Predictor
    leaderboard: pd.DataFrame
    task: str
    metric: Metric
    target: Target
    schema: Schema
    protocol: Protocol
    findings: list[Finding]
    campaign: CampaignResult
    wall_time: float
    oof: np.ndarray  # final model's out-of-fold scores, (repeats, n[, k])
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def best_score(self) -> float:
        return float(self.leaderboard.iloc[0]["score"])

    def summary(self) -> dict[str, Any]:
        lb = self.leaderboard
        return {
            "run_id": self.run_id,
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "task": self.task,
            "target": self.target.name,
            "metric": self.metric.name,
            "greater_is_better": self.metric.greater_is_better,
            "best_model": str(lb.iloc[0]["model"]),
            "best_score": self.best_score,
            "protocol": self.protocol.description,
            "n_trials": len(self.campaign.trials),
            "n_complete": sum(t.status == "complete" for t in self.campaign.trials),
            "stopped_because": self.campaign.stopped_because,
            "wall_time": round(self.wall_time, 3),
            "timings": self.campaign.timings,
            "final_model": self.predictor.describe(),
            "leaderboard": json.loads(lb.to_json(orient="records")),
        }


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def split_target(df: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    name = find_target_column([str(c) for c in df.columns], target)
    return df.drop(columns=[name]), df[name]


def _fingerprint(X_kept: pd.DataFrame, y: pd.Series, keep: np.ndarray, target_name: str) -> str:
    y_kept = y.reset_index(drop=True)[keep].reset_index(drop=True).rename(target_name)
    return data_hash(pd.concat([X_kept, y_kept], axis=1))


def run_data_hash(X: pd.DataFrame, y: pd.Series, task: str | None = None) -> str:
    """The data hash ``run`` records for features ``X`` and target ``y`` (rows with a target)."""
    target_name = str(y.name) if y.name is not None else "target"
    _, keep = encode_target(y.reset_index(drop=True), target_name, task)
    X = X.reset_index(drop=True)
    return _fingerprint(X.loc[keep].reset_index(drop=True), y, keep, target_name)


# every fit of a run (folds, refit, analysis) counts each distinct document once
@text_corpus()
def run(
    X: pd.DataFrame,
    y: pd.Series,
    config: RunConfig,
    *,
    out_dir: str | Path | None = None,
    store: Store | None = None,
    data_source: str | None = None,
    command: str | None = None,
    clock_start: float | None = None,
    progress: Any = None,
    run_id: str | None = None,
    resume: list[TrialResult] | None = None,
) -> RunResult:
    """Run a campaign on features ``X`` and target ``y``; save it when ``out_dir`` is set.

    ``resume``: the finished trials of run ``run_id``, interrupted earlier (see
    :mod:`mlresearcher.commands.resume`); the campaign continues from them in the same store
    and run directory.
    """
    start = clock_start if clock_start is not None else time.monotonic()
    config.validate()
    target_name = str(y.name) if y.name is not None else "target"
    findings: list[Finding] = []
    # -- target and task
    target, keep = encode_target(y.reset_index(drop=True), target_name, config.task)
    findings += target.findings
    X = X.reset_index(drop=True)
    if not keep.all():
        X = X.loc[keep].reset_index(drop=True)
    # the fingerprint of the input data (before derived features): what reproduce checks
    dhash = _fingerprint(X, y, keep, target_name)
    metric = get_metric(config.metric, target.task)
    if config.lags or config.rolling or config.entity:
        from mlresearcher.signal.features import features_for_run

        X = features_for_run(
            X,
            target.y,
            target_name,
            config.time,
            lags=config.lags,
            rolling=config.rolling,
            entity=config.entity,
        )
    # -- schema
    fixed: dict[str, str] = {}
    groups = times = None
    if config.group:
        find_target_column(list(X.columns), config.group, "--group column")
        fixed[config.group] = "group"
        groups = X[config.group]
    if config.time:
        find_target_column(list(X.columns), config.time, "--time column")
        times = X[config.time]
        # the time column still yields calendar features (past-only information)
    for col in config.sensitive or []:
        find_target_column(list(X.columns), col, "--sensitive column")
    infos, role_findings = infer_roles(X, exclude=fixed)
    findings += role_findings
    schema = build_schema(X, infos)
    # -- profile: reports findings only; it changes no feature, so nothing reaches the folds.
    # It runs once the first trial is stored (a first result sooner), inside the search time.
    from mlresearcher.profile import in_run_sample, profile_features

    profiled: list[Any] = []
    at = len(findings)  # the profile's findings come after those of the schema

    def profile_once() -> Any:
        """The data profile (``None`` if it failed: a report-only stage never aborts the
        campaign; the failure is a finding and the report says the profile is absent)."""
        if not profiled:
            try:
                profile = profile_features(
                    X,
                    target,
                    infos=infos,
                    time_column=config.time,
                    seed=config.seed,
                    **in_run_sample(config.time_limit),
                )
            except Exception as e:  # noqa: BLE001 - reported, the campaign goes on
                findings.insert(
                    at,
                    Finding(
                        "profile_failed",
                        "warning",
                        f"the data profile failed ({type(e).__name__}: "
                        f"{str(e).splitlines()[0][:200] if str(e) else ''}); the report has no"
                        " profile section",
                    ),
                )
                profiled.append(None)
                return None
            seen = {(f.code, f.column) for f in findings}
            findings[at:at] = [f for f in profile.findings if (f.code, f.column) not in seen]
            profiled.append(profile)
        return profiled[0]

    # large data: category codes and float32 where exact, built column by column
    Xp = prepare_features(X, schema, compact=len(X) > LARGE_ROWS)
    if len(X) > LARGE_ROWS:
        release_freed_memory()  # before trial workers start beside this process
    # -- protocol
    protocol = make_protocol(
        target.y,
        target.task,
        config.seed,
        folds=config.folds,
        repeats=config.repeats,
        holdout=config.holdout,
        groups=groups,
        time=times,
        window=config.window,
        train_size=config.train_size,
        gap=config.gap,
        embargo=config.embargo,
        entity=config.entity,
    )
    # -- budget
    deadline = ensemble_deadline = analysis_deadline = refit_deadline = None
    do_analysis = config.analysis and out_dir is not None
    if config.time_limit is not None:
        from mlresearcher.analysis import analysis_seconds, render_seconds

        reserve = min(15.0, max(1.5, 0.05 * config.time_limit))
        # the analysis stage and the report get their share inside the limit
        analysis_s = analysis_seconds(config.time_limit) if do_analysis else 0.0
        deadline = start + config.time_limit - reserve - analysis_s
        ensemble_deadline = start + config.time_limit - reserve * 0.5 - analysis_s
        analysis_deadline = start + config.time_limit - reserve - render_seconds(analysis_s)
        refit_deadline = start + config.time_limit - reserve * 0.25 - analysis_s
    # -- store
    run_id = run_id or new_run_id()
    run_dir = Path(out_dir) / run_id if out_dir is not None else None
    if resume is not None and store is not None:
        stored = store.get_run(run_id)
        if stored.get("data_hash") and stored["data_hash"] != dhash:
            raise DataError(
                f"the data of run {run_id} changed since it started (hash differs); resume"
                " needs the same data: restore the file or start a new run"
            )
        store.resume_run(run_id)
    elif store is not None:
        store.create_run(
            run_id,
            target=target_name,
            task=target.task,
            metric=metric.name,
            n_rows=len(Xp),
            n_features=Xp.shape[1],
            data_hash=dhash,
            data_source=data_source,
            run_dir=str(run_dir) if run_dir else None,
            config=asdict(config),
        )

    # a sign of life for the store's readers while this process runs the run, however it ends
    heartbeat = RunHeartbeat(store, run_id) if store is not None else None
    try:
        from mlresearcher.store.checkpoints import TrialCheckpoints

        checkpoints = TrialCheckpoints(run_dir) if run_dir is not None else None
        if checkpoints is not None and resume:
            checkpoints.saved = {t.number for t in resume if t.models is not None}

        def on_trial(res: TrialResult, camp: Campaign) -> None:
            if checkpoints is not None:  # the models first, then the row that points at them
                checkpoints.sync(camp.trials)
            if store is not None:
                store.record_trial(run_id, res.record())
            if progress is not None:
                progress.trial_done(res, camp)
            profile_once()

        def on_start(number: int, family: str, camp: Campaign) -> None:
            if progress is not None:
                progress.trial_started(number, family, camp)

        families = get_families(config.families)
        if progress is not None:
            progress.begin(
                run_id=run_id,
                task=target.task,
                metric=metric,
                protocol=protocol,
                n_rows=len(Xp),
                n_features=Xp.shape[1],
                deadline=deadline,
                start=start,
                max_trials=config.max_trials,
            )
        cluster = config.cluster
        if cluster is None and len(Xp) > LARGE_ROWS and config.time_limit is not None:
            # large data: one isolated process, so a trial still running at the time limit can
            # be stopped (in process only iterative learners stop by themselves)
            cluster = "processes:1"
        executor = make_executor(
            cluster, config.trial_timeout, config.trial_memory, store=store, run_id=run_id
        )
        try:
            campaign = Campaign(
                Xp,
                target,
                schema,
                protocol,
                metric,
                families,
                seed=config.seed,
                n_jobs=config.n_jobs,
                max_trials=config.max_trials,
                deadline=deadline,
                ensemble_deadline=ensemble_deadline,
                keep_top=config.keep_top,
                ensemble_rounds=config.ensemble_rounds,
                on_trial=on_trial,
                on_start=on_start,
                executor=executor,
                prior=resume,
                refit_reserve=config.final_model == "refit",
                target_transform=config.target_transform,
                portfolio=config.portfolio,
            )
            result = campaign.run()
        except BaseException as e:
            executor.close()
            if isinstance(e, OSError) and run_dir is not None:  # a checkpoint not written
                raise _save_failed(e, run_id, run_dir, store is not None) from e
            raise
        finally:
            if progress is not None:
                progress.end()
        profile = profile_once()  # when no trial was stored in this run (a resumed one, say)
        for note in result.notes:
            findings.append(Finding("family_skipped", "info", note))
        unscored = unscored_folds_finding(result.trials)
        if unscored is not None:
            findings.append(unscored)
        if result.ensemble is None:
            errors = sorted({(t.error or "").splitlines()[0] for t in result.trials if t.error})
            msg = "no model finished within the budget"
            if errors:
                msg += f"; trial errors: {'; '.join(errors[:3])}"
            raise DataError(msg + "; raise --time-limit or --max-trials")
        predictor, leaderboard, oof = _finalize(result, campaign, schema, target, metric, protocol)
        if config.final_model == "refit":
            outcome = refit_members(
                predictor.members,
                {t.name: t for t in result.trials},
                Xp,
                target.y,
                campaign.ctx,
                {f.name: f for f in campaign.families},
                protocol_kind=protocol.kind,
                n_splits=protocol.n_splits,
                deadline=refit_deadline,
            )
            predictor.info["refit"] = outcome.to_dict()
            result.timings["refit"] = round(outcome.seconds, 3)
            if outcome.kept and outcome.refit:
                kept = "; ".join(f"{k}: {v}" for k, v in outcome.kept.items())
                thinned = (
                    f"; {', '.join(outcome.thinned)} predict with a share of each fold model's"
                    " trees, one fold model's count in all"
                    if outcome.thinned
                    else ""
                )
                findings.append(
                    Finding(
                        "refit_partial", "info", f"members kept as fold models ({kept}){thinned}"
                    )
                )
        wall = time.monotonic() - start
        rr = RunResult(
            run_id,
            run_dir,
            predictor,
            leaderboard,
            target.task,
            metric,
            target,
            schema,
            protocol,
            findings,
            result,
            wall,
            oof,
            extra={"profile": profile.to_dict()} if profile is not None else {},
        )
        rr.extra["inputs"] = {"X": X, "Xp": Xp}  # for AutoModel.report() and the drift reference
        rr.extra["seed"] = config.seed
        if do_analysis:
            from mlresearcher.analysis import analyse

            t_analysis = time.monotonic()
            if analysis_deadline is None:  # --max-trials alone: bounded by the campaign's time
                from mlresearcher.analysis import untimed_analysis_seconds

                analysis_deadline = t_analysis + untimed_analysis_seconds(t_analysis - start)
            rr.extra["analysis"] = analyse(
                rr,
                X,
                Xp,
                sensitive=config.sensitive,
                seed=config.seed,
                n_jobs=config.n_jobs,
                deadline=analysis_deadline,
            )
            rr.findings += [Finding.from_dict(f) for f in rr.extra["analysis"]["findings"]]
            result.timings["analysis"] = round(time.monotonic() - t_analysis, 3)
        result.timings["until_saving"] = round(time.monotonic() - start, 3)
        if run_dir is not None:
            from mlresearcher.store.integrity import write_manifest
            from mlresearcher.store.rundir import write_run_dir

            try:
                manifest = write_run_dir(
                    rr,
                    config,
                    data_hash=dhash,
                    data_source=data_source,
                    command=command,
                    store_url=store.url if store else None,
                )
                if do_analysis:
                    from mlresearcher.report import render_run_dir, write_analysis

                    t_report = time.monotonic()
                    write_analysis(run_dir, rr.extra["analysis"])
                    render_run_dir(run_dir)
                    result.timings["report"] = round(time.monotonic() - t_report, 3)
                write_manifest(run_dir, manifest)  # last: it covers every file above
            except OSError as e:  # a full disk, a read-only folder: the trials stay checkpointed
                raise _save_failed(e, run_id, run_dir, store is not None) from e
            if checkpoints is not None:  # not in the manifest; removed once the run is whole
                checkpoints.remove_all()  # model.joblib now holds every model that matters
            rr.wall_time = time.monotonic() - start
            result.timings["saving"] = round(rr.wall_time - result.timings["until_saving"], 3)
        if store is not None:
            store.finish_run(
                run_id,
                best_score=rr.best_score,
                best_model=str(leaderboard.iloc[0]["model"]),
                n_trials=len(result.trials),
                summary={k: v for k, v in rr.summary().items() if k != "leaderboard"},
            )
        return rr
    except BaseException as e:  # whatever stage failed, the store says so (never "running")
        if store is not None:
            status = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
            error = str(e) if isinstance(e, UserError) else f"{type(e).__name__}: {e}"
            store.finish_run(run_id, status=status, summary={"error": error})
        raise
    finally:
        if heartbeat is not None:
            heartbeat.stop()


def _save_failed(e: OSError, run_id: str, run_dir: Path, stored: bool) -> UserError:
    """The error for a run whose folder could not be written. No manifest is written, so
    the half-written folder is never served or loaded; the finished trials are still in
    the store and their checkpoints, so ``resume`` finishes the run once space is free."""
    msg = f"cannot write {str(e.filename or run_dir)!r}: {e.strerror or e}"
    if stored:
        return UserError(
            f"{msg}; the finished trials are kept: free space, then `mlresearcher resume {run_id}`"
        )
    return UserError(f"{msg}; free space or choose another --out")


def unscored_folds_finding(trials: list[Any]) -> Finding | None:
    """A warning when the metric could not score some folds of complete trials: their
    scores are means over fewer folds, which the comparisons must not hide."""
    hit = [
        t for t in trials if t.status == "complete" and any(math.isnan(v) for v in t.fold_scores)
    ]
    if not hit:
        return None
    reasons = sorted({r.split(": ", 1)[1] for t in hit for r in t.unscored if ": " in r})
    most = max(sum(math.isnan(v) for v in t.fold_scores) for t in hit)
    return Finding(
        "folds_unscored",
        "warning",
        f"the metric could not score up to {most} fold(s) of {len(hit)} complete trial(s)"
        + (f" ({'; '.join(reasons[:2])})" if reasons else "")
        + "; their scores are means over the other folds: use a metric defined on every"
        " fold, or fewer folds (--folds) so each holds every class",
    )


def _finalize(
    result: CampaignResult,
    campaign: Campaign,
    schema: Schema,
    target: Target,
    metric: Metric,
    protocol: Protocol,
) -> tuple[Predictor, pd.DataFrame, np.ndarray]:
    ens = result.ensemble
    assert ens is not None
    by_number = {t.number: t for t in result.trials}
    members = [
        Member(
            by_number[k].name,
            by_number[k].family,
            by_number[k].params,
            w,
            by_number[k].models or [],
        )
        for k, w in sorted(ens.weights.items(), key=lambda kv: -kv[1])
    ]
    oof = sum(w * by_number[k].oof for k, w in ens.weights.items())
    predictor = Predictor(
        schema=schema,
        target=target.name,
        task=target.task,
        classes=target.classes,
        metric=metric.name,
        members=members,
        info={"protocol": protocol.to_dict(), "ensemble_rounds": ens.rounds},
    )
    rows = []
    for t in result.trials:
        rows.append(
            {
                "model": t.name,
                "family": t.family,
                "status": t.status,
                "score": t.score if t.status == "complete" else None,
                "score_std": t.score_std if t.status == "complete" else None,
                "n_folds": len(t.fold_scores),
                "fit_time": round(t.fit_time, 3),
                "predict_time": round(t.predict_time, 3),
                "origin": t.origin,
                "weight": ens.weights.get(t.number, 0.0),
                "params": json.dumps(t.params, sort_keys=True, default=str),
            }
        )
    ens_std = float(np.std(ens.fold_scores, ddof=1)) if len(ens.fold_scores) > 1 else None
    ens_row = {
        "model": "ensemble",
        "family": "ensemble",
        "status": "complete",
        "score": ens.score,
        "score_std": ens_std,
        "n_folds": len(ens.fold_scores),
        "fit_time": round(sum(by_number[k].fit_time for k in ens.weights), 3),
        "predict_time": round(sum(by_number[k].predict_time for k in ens.weights), 3),
        "origin": "ensemble",
        "weight": 1.0,
        "params": json.dumps({m.name: round(m.weight, 4) for m in members}),
    }
    lb = pd.DataFrame([ens_row] + rows)
    done = lb[lb["status"] == "complete"].copy()
    rest = lb[lb["status"] != "complete"].copy()
    done["_loss"] = done["score"].map(metric.loss)
    done = done.sort_values(["_loss", "model"], kind="stable").drop(columns="_loss")
    lb = pd.concat([done, rest], ignore_index=True)
    lb.insert(
        0,
        "rank",
        pd.array(
            [i + 1 if s == "complete" else None for i, s in enumerate(lb["status"])], dtype="Int64"
        ),
    )
    from mlresearcher.analysis.stats import add_comparison

    scores = {t.name: t.fold_scores for t in result.trials if t.status == "complete"}
    lb = add_comparison(lb, {**scores, "ensemble": list(ens.fold_scores)}, protocol.folds)
    return predictor, lb, oof


def environment() -> dict[str, Any]:
    """Versions of Python, the platform and every library a run depends on."""
    from importlib import metadata

    pkgs = {}
    for p in (
        "mlresearcher",
        "numpy",
        "pandas",
        "pyarrow",
        "scikit-learn",
        "scipy",
        "lightgbm",
        "xgboost",
        "catboost",
        "optuna",
        "sqlalchemy",
        "torch",
        "joblib",
    ):
        try:
            pkgs[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pkgs[p] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "packages": pkgs,
        "mlresearcher": __version__,
    }
