"""One trial as a self-describing, picklable unit of work.

A campaign ships trials to an executor (this process, isolated worker processes, a Dask
cluster, or workers polling the store). Everything a trial needs travels in two objects:

* :class:`TrialData` — the prepared features, encoded target, folds, metric and fit context
  of the run. Sent once per worker (at its start, scattered, or loaded), never per trial.
* :class:`TrialJob` — one configuration to evaluate: family, parameters, whether it may be
  pruned, the incumbent's fold scores at submission time (for pruning), and the time
  budget as *seconds left at submission* plus the wall-clock submission time. A
  ``time.monotonic()`` value means nothing in another process or machine, so the worker
  turns the budget back into its own monotonic deadline on arrival.

:func:`run_trial` evaluates a job on the data and returns a :class:`TrialResult`: fold
scores, out-of-fold predictions and fold models of a complete trial, or the reason it was
pruned or failed. It never raises for a failing model.
"""

from __future__ import annotations

import math
import os
import socket
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.models.base import FitContext, predict_scores


@dataclass
class TrialResult:
    number: int
    family: str
    params: dict[str, Any]
    origin: str  # default (a family's default config) | portfolio | search
    status: str = "running"  # complete | pruned | failed | interrupted
    fold_scores: list[float] = field(default_factory=list)
    fit_time: float = 0.0
    predict_time: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    error: str | None = None
    oof: np.ndarray | None = None  # (repeats, n[, k]); NaN where not validated
    models: list[Any] | None = None
    worker: str | None = None  # host:pid that ran it
    train_rows: int | None = None  # training rows per fold when subsampled
    unscored: list[str] = field(default_factory=list)  # folds the metric could not score, why

    @property
    def name(self) -> str:
        return f"{self.family}#{self.number}"

    @property
    def score(self) -> float | None:
        s = [v for v in self.fold_scores if not math.isnan(v)]
        return float(np.mean(s)) if s else None

    @property
    def score_std(self) -> float | None:
        s = [v for v in self.fold_scores if not math.isnan(v)]
        return float(np.std(s, ddof=1)) if len(s) > 1 else None

    def record(self) -> dict[str, Any]:
        """The row stored for this trial."""
        return {
            "number": self.number,
            "family": self.family,
            "origin": self.origin,
            "params": self.params,
            "status": self.status,
            "score": self.score if self.status == "complete" else None,
            "score_std": self.score_std if self.status == "complete" else None,
            "fold_scores": [None if math.isnan(v) else v for v in self.fold_scores],
            "n_folds_done": len(self.fold_scores),
            "fit_time": round(self.fit_time, 4),
            "predict_time": round(self.predict_time, 4),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
        }


@dataclass
class TrialData:
    """What every trial of a run reads: prepared features, target and folds."""

    X: pd.DataFrame
    y: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    fold_repeat: list[int]  # repeat index of each fold
    n_repeats: int
    metric_name: str
    ctx: FitContext  # deadline is per job, see TrialJob
    #: the run's families by name (default: looked up in the registry where the trial runs)
    families: dict[str, Any] = field(default_factory=dict)
    _cache: dict[int, Any] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}  # fold frames are rebuilt where the trial runs
        return state

    @property
    def task(self) -> str:
        return self.ctx.task

    def fold(
        self, i: int, train_rows: int | None = None
    ) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
        """Training and validation rows of fold ``i`` (cached: every trial reuses them).

        With a single fold (holdout) nothing is cached, so large data is not held twice.
        ``train_rows``: a seeded random subsample of that many training rows (in their
        order), the same for every trial; only those rows are copied.
        """
        tr, va = self.folds[i]
        if train_rows is not None and len(tr) > train_rows:
            rng = np.random.default_rng(self.ctx.seed + 7919 * (i + 1))
            keep = np.sort(rng.choice(len(tr), train_rows, replace=False))
            if i in self._cache:
                Xtr, ytr, Xva, yva = self._cache[i]
                return Xtr.iloc[keep].reset_index(drop=True), ytr[keep], Xva, yva
            return (
                self.X.iloc[tr[keep]].reset_index(drop=True),
                self.y[tr[keep]],
                self.X.iloc[va].reset_index(drop=True),
                self.y[va],
            )
        if i in self._cache:
            return self._cache[i]
        out = (
            self.X.iloc[tr].reset_index(drop=True),
            self.y[tr],
            self.X.iloc[va].reset_index(drop=True),
            self.y[va],
        )
        if len(self.folds) > 1:
            self._cache[i] = out
        return out


@dataclass(frozen=True)
class TrialJob:
    """One configuration to evaluate on a run's folds."""

    number: int
    family: str
    params: dict[str, Any]
    origin: str
    prunable: bool
    incumbent_fold_scores: tuple[float, ...] | None = None
    seconds_left: float | None = None  # budget at submission; None = no time limit
    submitted_wall: float = 0.0  # time.time() at submission
    key: str = ""  # unique name (Dask task key, queue row)
    train_rows: int | None = None  # subsample each training fold to this many rows

    def local_deadline(self, clock: Callable[[], float] = time.monotonic) -> float | None:
        """The budget as a deadline on ``clock`` of the process that runs the trial."""
        if self.seconds_left is None:
            return None
        spent_in_transit = max(0.0, time.time() - self.submitted_wall)
        return clock() + self.seconds_left - spent_in_transit


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


#: trials on at most this many rows fit their folds side by side, one thread per fold
FOLD_PARALLEL_ROWS = 10_000


def fold_threads(n_rows: int, n_folds: int, n_jobs: int | None) -> int:
    """How many folds of a trial fit at once.

    On small data one fit cannot keep two cores busy (LightGBM runs single-threaded there,
    and every learner's parallel regions cost more than they save), so the trial's
    ``n_jobs`` threads go to as many folds, one thread each. Larger data gives each fold
    all ``n_jobs`` threads, one fold after another. The choice depends on the data and
    ``n_jobs`` only, never on the clock, so a run with a trial budget stays deterministic.
    """
    threads = int(n_jobs) if n_jobs and n_jobs > 0 else (os.cpu_count() or 1)
    if n_rows > FOLD_PARALLEL_ROWS or n_folds < 2:
        return 1
    return max(1, min(threads, n_folds))


@dataclass
class _Fold:
    index: int
    model: Any
    scores: np.ndarray
    fit_s: float
    predict_s: float
    train_rows: int


def run_trial(
    data: TrialData, job: TrialJob, clock: Callable[[], float] = time.monotonic
) -> TrialResult:
    """Evaluate ``job`` fold by fold; stop early when hopeless or out of time.

    With :func:`fold_threads` above one, folds run in waves of that many threads; the
    results are taken in fold order and pruning is checked after each one, so the trial
    (its scores, models and where it stopped) is the same as one fitted fold by fold.
    """
    from mlresearcher.metrics import get_metric
    from mlresearcher.models.registry import get_families

    metric = get_metric(data.metric_name, data.task)
    fam = data.families.get(job.family) or get_families([job.family])[0]
    deadline = job.local_deadline(clock)
    # estimators compare against time.monotonic(); the fold checks below use ``clock``
    est_deadline = job.local_deadline(time.monotonic)
    n_folds = len(data.folds)
    threads = fold_threads(len(data.y), n_folds, data.ctx.n_jobs)
    ctx = replace(data.ctx, deadline=est_deadline, n_jobs=1 if threads > 1 else data.ctx.n_jobs)
    res = TrialResult(
        job.number, job.family, job.params, job.origin, started_at=time.time(), worker=worker_name()
    )
    n = len(data.y)
    shape = (data.n_repeats, n) + ((data.ctx.n_classes,) if data.task != "regression" else ())
    oof = np.full(shape, np.nan)
    models: list[Any] = []
    own_times: list[float] = []
    status = "complete"

    def fit_fold(i: int) -> _Fold:
        # train_rows: an early, cheap look at large data (same validation rows)
        Xtr, ytr, Xva, yva = data.fold(i, job.train_rows)
        est = fam.build(job.params, replace(ctx, deadline=fit_deadline(ctx.deadline, ytr, yva)))
        t0 = clock()
        est.fit(Xtr, ytr)
        t1 = clock()
        scores = predict_scores(est, Xva, data.task, data.ctx.n_classes)
        return _Fold(i, est, scores, t1 - t0, clock() - t1, len(ytr))

    try:
        with _fold_section(threads) as pool, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            i = 0
            while i < n_folds and status == "complete":
                # with no finished model in the campaign yet, the trial completes its folds
                # (its learners still stop at the deadline): a late model beats ending with none
                if deadline is not None and i > 0 and job.incumbent_fold_scores is not None:
                    if clock() + float(np.mean(own_times)) > deadline:
                        status, res.error = "pruned", f"out of time after {i} of {n_folds} folds"
                        break
                wave = list(range(i, min(n_folds, i + threads)))
                done = pool.map(fit_fold, wave) if pool is not None else map(fit_fold, wave)
                for f in done:
                    i = f.index + 1
                    if job.train_rows is not None and f.train_rows == job.train_rows:
                        res.train_rows = job.train_rows
                    res.fit_time += f.fit_s
                    res.predict_time += f.predict_s
                    own_times.append(f.fit_s + f.predict_s)
                    if not np.all(np.isfinite(f.scores)):
                        raise ValueError("the model produced non-finite predictions")
                    _, va = data.folds[f.index]
                    oof[data.fold_repeat[f.index]][va] = f.scores
                    score, why = metric.on_fold(data.y[va], f.scores)
                    res.fold_scores.append(score)
                    if why is not None:
                        res.unscored.append(f"fold {f.index + 1}: {why}")
                    models.append(f.model)
                    if job.prunable and hopeless(
                        metric, res.fold_scores, job.incumbent_fold_scores
                    ):
                        status = "pruned"
                        res.error = f"worse than the incumbent on each of the first {i} folds"
                        break
    except Exception as e:  # a trial that raises is recorded, the campaign goes on
        status = "failed"
        res.error = f"{type(e).__name__}: {e}".strip()[:2000]
        res.error += "\n" + "".join(traceback.format_exc(limit=3))[-1500:]
    res.status = status
    res.finished_at = time.time()
    if status == "complete":
        res.oof, res.models = oof, models
        if res.unscored:  # kept with the trial's record: scored on fewer folds, and why
            k = len(res.fold_scores) - len(res.unscored)
            res.error = f"scored on {k} of {len(res.fold_scores)} folds; " + "; ".join(
                res.unscored[:3]
            )
    return res


@contextmanager
def _fold_section(threads: int) -> Iterator[ThreadPoolExecutor | None]:
    """A pool of ``threads`` fold workers (``None`` for one), inside a one-thread limit.

    The native thread pools (BLAS, OpenMP) are capped at one thread here, in the calling
    thread, before any fold starts: each fold's own limit then saves and restores that same
    value, however the folds interleave, and the cap the caller had comes back at the end.
    Warning filters are process-wide, so the caller sets them once for all folds.
    """
    if threads <= 1:
        yield None
        return
    from mlresearcher.models._estimator import _thread_limit

    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    with _thread_limit(1), ThreadPoolExecutor(threads, thread_name_prefix="fold") as pool:
        try:
            yield pool
        finally:
            if torch is not None and torch_threads is not None:
                torch.set_num_threads(torch_threads)  # the MLP's own save and restore interleave


def fit_deadline(deadline: float | None, y_fit: np.ndarray, y_valid: np.ndarray) -> float | None:
    """When a fold's fit must stop so that predicting its validation rows still ends by
    ``deadline`` (``time.monotonic()`` values).

    The time left is shared in proportion to rows. The learners that stop at a deadline
    (boosting rounds, trees, epochs) visit every training row per round and predict a row
    with one visit per tree, so predicting a row costs no more than fitting on one, and a
    fit stopped at the returned time leaves enough for the prediction. With 200,000 validation rows and 50,000 training rows the
    fit gets a fifth of the time left.
    """
    if deadline is None:
        return None
    now = time.monotonic()
    share = len(y_fit) / max(1, len(y_fit) + len(y_valid))
    return now + max(0.0, deadline - now) * share


def hopeless(metric: Any, scores: list[float], incumbent: tuple[float, ...] | None) -> bool:
    """Worse than the incumbent on every fold so far, by more than its fold spread."""
    k = len(scores)
    if incumbent is None or k < 2 or k >= len(incumbent):
        return False
    ref = list(incumbent[:k])
    if any(math.isnan(v) for v in ref + scores):
        return False
    worse_everywhere = all(
        metric.loss(s) > metric.loss(r) for s, r in zip(scores, ref, strict=True)
    )
    gap = metric.loss(float(np.mean(scores))) - metric.loss(float(np.mean(ref)))
    spread = float(np.std(incumbent, ddof=1)) if len(incumbent) > 1 else 0.0
    return worse_everywhere and gap > spread


def failed_result(job: TrialJob, reason: str, started_at: float | None = None) -> TrialResult:
    """The record of a trial that never returned (timeout, memory, lost worker)."""
    now = time.time()
    return TrialResult(
        job.number,
        job.family,
        job.params,
        job.origin,
        status="failed",
        started_at=started_at or job.submitted_wall or now,
        finished_at=now,
        error=reason,
    )
