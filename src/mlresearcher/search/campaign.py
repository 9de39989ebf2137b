"""The budgeted search: portfolio first, then Bayesian optimisation, then ensembling.

Order of work:

1. **Portfolio.** Each family's known-strong configurations, round by round: every
   family's default first (in ``PORTFOLIO_ORDER``: strong and cheap first, slow last),
   then every family's second configuration, and so on. Family defaults are never pruned, so the leaderboard always
   holds each family's default-configured model on the same folds.
2. **Bayesian optimisation.** Optuna's TPE sampler over one conditional space: the family,
   then that family's parameters. Every finished trial (portfolio ones included) informs it.
3. **Early stopping of hopeless candidates.** After two folds, a trial that is worse than
   the incumbent on every fold so far, by more than the incumbent's fold-to-fold standard
   deviation, is pruned.
4. **Budget.** A trial starts only when all its folds are expected to fit before the
   search deadline (fold time from the family's earlier trials, or scaled from a cheaper
   family by relative cost), and each further fold only when it is expected to fit; iterative learners
   also stop at the deadline on their own. With ``max_trials`` and no time limit nothing
   depends on the clock, so the campaign is deterministic.
"""

from __future__ import annotations

import math
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.data.protocol import Protocol
from mlresearcher.data.schema import Schema
from mlresearcher.data.task import Target
from mlresearcher.metrics import Metric
from mlresearcher.models.base import FitContext, ModelFamily, predict_scores
from mlresearcher.search.ensemble import EnsembleSelection, fold_scores, select_ensemble

#: Order of the families' first (default) configurations: the usually strongest and cheap
#: boosters first, a cheap linear baseline early, the slowest families last.
PORTFOLIO_ORDER = (
    "lightgbm",
    "linear",
    "hist_gb",
    "xgboost",
    "catboost",
    "knn",
    "extra_trees",
    "random_forest",
    "mlp",
)


@dataclass
class TrialResult:
    number: int
    family: str
    params: dict[str, Any]
    origin: str  # default (a family's default config) | portfolio | search
    status: str = "running"  # complete | pruned | failed | skipped
    fold_scores: list[float] = field(default_factory=list)
    fit_time: float = 0.0
    predict_time: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    error: str | None = None
    oof: np.ndarray | None = None  # (repeats, n[, k]); NaN where not validated
    models: list[Any] | None = None

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
class CampaignResult:
    trials: list[TrialResult]
    ensemble: EnsembleSelection | None
    notes: list[str]
    stopped_because: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds: search, ensemble


class Campaign:
    """Run trials over ``families`` on ``protocol``'s folds until the budget is spent."""

    def __init__(
        self,
        X: pd.DataFrame,
        target: Target,
        schema: Schema,
        protocol: Protocol,
        metric: Metric,
        families: list[ModelFamily],
        *,
        seed: int = 0,
        n_jobs: int = 2,
        max_trials: int | None = None,
        deadline: float | None = None,
        ensemble_deadline: float | None = None,
        keep_top: int = 12,
        ensemble_rounds: int = 40,
        on_trial: Callable[[TrialResult, Campaign], None] | None = None,
        on_start: Callable[[int, str, Campaign], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.X, self.target, self.schema, self.protocol, self.metric = (
            X,
            target,
            schema,
            protocol,
            metric,
        )
        self.seed, self.n_jobs, self.max_trials = seed, n_jobs, max_trials
        self.deadline, self.ensemble_deadline = deadline, ensemble_deadline
        self.keep_top, self.ensemble_rounds = keep_top, ensemble_rounds
        self.on_trial, self.on_start, self.clock = on_trial, on_start, clock
        self.y = target.y
        self.notes: list[str] = []
        self.trials: list[TrialResult] = []
        self.ctx = FitContext(
            task=target.task,
            n_classes=target.n_classes,
            schema=schema,
            n_rows=len(X),
            seed=seed,
            n_jobs=n_jobs,
            deadline=deadline,
        )
        self.families = self._usable(families)
        self._fold_cache: dict[int, tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]] = {}
        self._fold_repeat = self._fold_repeats()
        self._fold_times: dict[str, list[float]] = {}
        self._spaces: dict[str, dict[str, Any]] = {}

    # setup ---------------------------------------------------------------------------------
    def _usable(self, families: list[ModelFamily]) -> list[ModelFamily]:
        usable = []
        for f in families:
            reason = f.unavailable_reason() or f.applicable(self.ctx)
            if reason:
                self.notes.append(f"skipped family {f.name}: {reason}")
            else:
                usable.append(f)
        if not usable:
            from mlresearcher.errors import ConfigError

            raise ConfigError("no model family can run on this data; " + "; ".join(self.notes))
        return usable

    def _fold_repeats(self) -> list[int]:
        k = self.protocol.n_splits
        return [i // k if self.protocol.n_repeats > 1 else 0 for i in range(self.protocol.n_folds)]

    def _fold(self, i: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
        if i not in self._fold_cache:
            tr, va = self.protocol.folds[i]
            self._fold_cache[i] = (
                self.X.iloc[tr].reset_index(drop=True),
                self.y[tr],
                self.X.iloc[va].reset_index(drop=True),
                self.y[va],
            )
        return self._fold_cache[i]

    def _portfolio(self) -> list[tuple[ModelFamily, dict[str, Any], str]]:
        """Portfolio trials in order: every family's default, then second configs, ..."""
        rank = {name: i for i, name in enumerate(PORTFOLIO_ORDER)}
        ordered = sorted(self.families, key=lambda f: (rank.get(f.name, len(rank)), f.cost))
        per_family = [(f, f.default_configs(self.ctx)) for f in ordered]
        out = []
        depth = max(len(c) for _, c in per_family)
        for r in range(depth):
            for fam, configs in per_family:
                if r < len(configs):
                    out.append((fam, dict(configs[r]), "default" if r == 0 else "portfolio"))
        return out

    # the loop ----------------------------------------------------------------------------------
    def run(self) -> CampaignResult:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=self.seed, multivariate=True, group=True, n_startup_trials=5
        )
        study = optuna.create_study(direction="minimize", sampler=sampler)
        names = [f.name for f in self.families]
        by_name = {f.name: f for f in self.families}
        queue = self._portfolio()
        stopped = "search space exhausted"
        number = 0
        while True:
            if self.max_trials is not None and number >= self.max_trials:
                stopped = f"reached --max-trials {self.max_trials}"
                break
            if self.deadline is not None and self.clock() >= self.deadline:
                stopped = "time limit"
                break
            ot = None
            if queue:
                fam, params, origin = queue.pop(
                    0
                )  # run exactly as configured; the sampler learns afterwards
                prunable = origin != "default"
            else:
                ot = study.ask()
                fam = by_name[ot.suggest_categorical("family", names)]
                params = fam.search_space(ot, self.ctx)
                prunable, origin = True, "search"
            if self.deadline is not None and not self._fits_in_time(fam):
                # Too slow for what is left: tell the sampler nothing useful and try another.
                if ot is not None:
                    study.tell(ot, state=optuna.trial.TrialState.FAIL)
                if not queue and all(not self._fits_in_time(f) for f in self.families):
                    stopped = "time limit (no family fits in the time left)"
                    break
                continue
            if self.on_start:
                self.on_start(number, fam.name, self)
            result = self._run_trial(number, fam, params, origin, prunable)
            self.trials.append(result)
            if ot is None:
                self._teach(study, fam, names, params, result)
            elif result.status == "complete":
                study.tell(ot, self.metric.loss(result.score))
            elif result.status == "pruned":
                study.tell(ot, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(ot, state=optuna.trial.TrialState.FAIL)
            self._retain_models()
            if self.on_trial:
                self.on_trial(result, self)
            number += 1
        t_search = self.clock()
        ensemble = self._ensemble()
        timings = {"ensemble": round(self.clock() - t_search, 3)}
        return CampaignResult(self.trials, ensemble, self.notes, stopped, timings)

    def _teach(
        self,
        study: Any,
        fam: ModelFamily,
        names: list[str],
        params: dict[str, Any],
        result: TrialResult,
    ) -> None:
        """Add a finished portfolio trial to the sampler's history (the parameters it shares
        with the family's search space; values outside the space are left out)."""
        import optuna
        from optuna.distributions import CategoricalDistribution

        if result.status != "complete":
            return
        if fam.name not in self._spaces:
            probe = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
            fam.search_space(probe, self.ctx)
            self._spaces[fam.name] = dict(probe.distributions)
        dists: dict[str, Any] = {"family": CategoricalDistribution(names)}
        values: dict[str, Any] = {"family": fam.name}
        for key, dist in self._spaces[fam.name].items():
            v = params.get(key.split(".", 1)[1] if key.startswith(fam.name + ".") else key)
            if v is None:
                continue
            try:
                dist.to_internal_repr(v)
                if hasattr(dist, "low") and not dist.low <= v <= dist.high:
                    continue
                if isinstance(dist, CategoricalDistribution) and v not in dist.choices:
                    continue
            except (ValueError, TypeError):
                continue
            dists[key], values[key] = dist, v
        try:
            study.add_trial(
                optuna.trial.create_trial(
                    params=values, distributions=dists, value=self.metric.loss(result.score)
                )
            )
        except ValueError:
            pass

    # budget ------------------------------------------------------------------------------------
    def _expected_fold_time(self, fam: ModelFamily) -> float:
        times = self._fold_times.get(fam.name)
        if times:
            return float(np.median(times))
        known = [
            (self._family_cost(n), float(np.median(t))) for n, t in self._fold_times.items() if t
        ]
        if known:  # scale the cheapest observed family by relative cost
            cost, t = min(known)
            return t * fam.cost / max(cost, 1e-9) * 0.5
        return 0.0

    def _family_cost(self, name: str) -> float:
        return next((f.cost for f in self.families if f.name == name), 1.0)

    def _fits_in_time(self, fam: ModelFamily) -> bool:
        """Whether a whole trial of ``fam`` (all folds) is expected to end before the deadline."""
        assert self.deadline is not None
        return self.clock() + self._expected_fold_time(fam) * self.protocol.n_folds <= self.deadline

    # one trial -----------------------------------------------------------------------------------
    def _run_trial(
        self, number: int, fam: ModelFamily, params: dict[str, Any], origin: str, prunable: bool
    ) -> TrialResult:
        res = TrialResult(number, fam.name, params, origin, started_at=time.time())
        n = len(self.y)
        shape = (self.protocol.n_repeats, n) + (
            (self.target.n_classes,) if self.target.task != "regression" else ()
        )
        oof = np.full(shape, np.nan)
        models: list[Any] = []
        own_times: list[float] = []
        status = "complete"
        try:
            for i, (_, va) in enumerate(self.protocol.folds):
                if self.deadline is not None and i > 0:
                    expected = float(np.mean(own_times))
                    if self.clock() + expected > self.deadline:
                        status, res.error = (
                            "pruned",
                            f"out of time after {i} of {self.protocol.n_folds} folds",
                        )
                        break
                Xtr, ytr, Xva, yva = self._fold(i)
                est = fam.build(params, self.ctx)
                t0 = self.clock()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.fit(Xtr, ytr)
                    t1 = self.clock()
                    scores = predict_scores(est, Xva, self.target.task, self.target.n_classes)
                t2 = self.clock()
                res.fit_time += t1 - t0
                res.predict_time += t2 - t1
                own_times.append(t2 - t0)
                if not np.all(np.isfinite(scores)):
                    raise ValueError("the model produced non-finite predictions")
                oof[self._fold_repeat[i]][va] = scores
                try:
                    res.fold_scores.append(self.metric(yva, scores))
                except ValueError:
                    res.fold_scores.append(float("nan"))
                models.append(est)
                if prunable and self._hopeless(res.fold_scores):
                    status, res.error = (
                        "pruned",
                        f"worse than the incumbent on each of the first {i + 1} folds",
                    )
                    break
        except Exception as e:  # a trial that raises is recorded, the campaign goes on
            status = "failed"
            res.error = f"{type(e).__name__}: {e}".strip()[:2000]
            res.error += "\n" + "".join(traceback.format_exc(limit=3))[-1500:]
        self._fold_times.setdefault(fam.name, []).extend(own_times)
        res.status = status
        res.finished_at = time.time()
        if status == "complete":
            res.oof, res.models = oof, models
        return res

    def incumbent(self) -> TrialResult | None:
        done = [t for t in self.trials if t.status == "complete" and t.score is not None]
        if not done:
            return None
        return min(done, key=lambda t: (self.metric.loss(t.score), t.number))

    def _hopeless(self, scores: list[float]) -> bool:
        inc = self.incumbent()
        k = len(scores)
        if inc is None or k < 2 or k >= self.protocol.n_folds:
            return False
        ref = inc.fold_scores[:k]
        if any(math.isnan(v) for v in ref + scores):
            return False
        worse_everywhere = all(
            self.metric.loss(s) > self.metric.loss(r) for s, r in zip(scores, ref, strict=True)
        )
        gap = self.metric.loss(float(np.mean(scores))) - self.metric.loss(float(np.mean(ref)))
        spread = float(np.std(inc.fold_scores, ddof=1)) if len(inc.fold_scores) > 1 else 0.0
        return worse_everywhere and gap > spread

    def _retain_models(self) -> None:
        """Keep fold models only for the ``keep_top`` best trials (bounded memory)."""
        done = sorted(
            (t for t in self.trials if t.models is not None),
            key=lambda t: (self.metric.loss(t.score), t.number),
        )
        for t in done[self.keep_top :]:
            t.models = None

    # ensemble ---------------------------------------------------------------------------------------
    def _ensemble(self) -> EnsembleSelection | None:
        cands = [t for t in self.trials if t.models is not None and t.oof is not None]
        if not cands:
            return None
        cands.sort(key=lambda t: (self.metric.loss(t.score), t.number))
        folds = [(self._fold_repeat[i], va) for i, (_, va) in enumerate(self.protocol.folds)]
        return select_ensemble(
            self.metric,
            self.y,
            {t.number: t.oof for t in cands},
            folds,
            rounds=self.ensemble_rounds,
            deadline=self.ensemble_deadline,
            clock=self.clock,
        )

    def fold_scores_of(self, oof: np.ndarray) -> list[float]:
        folds = [(self._fold_repeat[i], va) for i, (_, va) in enumerate(self.protocol.folds)]
        return fold_scores(self.metric, self.y, oof, folds)
