"""The budgeted search: portfolio first, then Bayesian optimisation, then ensembling.

Order of work:

1. **Portfolio.** Each family's known-strong configurations, round by round: every family's
   default first (in ``PORTFOLIO_ORDER``: cheap first, slow last; for a booster on a skewed
   non-negative regression target, followed by its default on the transformed target),
   then every family's second configuration, and so on; with ``portfolio="learned"`` the
   learned portfolio (:mod:`mlresearcher.search.portfolio`) instead, a family's first entry
   its ``default`` trial, families it does not name after it. Default trials are never
   pruned, so the leaderboard holds every usable family's first configuration on the same
   folds.
2. **Bayesian optimisation.** Optuna's TPE sampler over one conditional space: the family,
   then that family's parameters. Every finished trial (portfolio ones included) informs it.
3. **Early stopping of hopeless candidates.** After two folds, a trial that is worse than
   the incumbent on every fold so far, by more than the incumbent's fold-to-fold standard
   deviation, is pruned.
4. **Large data.** Above ``LARGE_ROWS`` rows (where the protocol is already a holdout),
   every family's default first runs on a random ``SUBSAMPLE_ROWS``-row subsample of the
   training rows (origin ``subsample``, validated on the same holdout rows): a useful model
   and fold-time estimates within seconds, before the full-data portfolio. Each such trial
   gets at most ``SUBSAMPLE_SHARE`` of the time left (iterative learners stop there), so
   one slow family cannot spend the budget of the others.
5. **Budget.** A trial starts only when all its folds are expected to fit before the
   search deadline (fold time from the family's earlier trials, or scaled from a cheaper
   family by relative cost), and each further fold only when it is expected to fit; iterative learners
   also stop at the deadline on their own. With ``max_trials`` and no time limit nothing
   depends on the clock, so the campaign is deterministic. With ``refit_reserve`` the
   search and ensemble deadlines move earlier by the expected refit time of the likely
   members (see :meth:`Campaign._reserve_refit`), so the final model can be refit in time.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.data.compact import LARGE_ROWS
from mlresearcher.data.protocol import Protocol
from mlresearcher.data.schema import Schema
from mlresearcher.data.task import Target
from mlresearcher.execution.base import Executor
from mlresearcher.execution.trial import TrialData, TrialJob, TrialResult, fold_threads
from mlresearcher.metrics import Metric
from mlresearcher.models.base import FitContext, ModelFamily, target_transforms
from mlresearcher.search.ensemble import EnsembleSelection, fold_scores, select_ensemble
from mlresearcher.search.portfolio import portfolio_queue
from mlresearcher.search.refit import expected_refit_seconds

#: Order of the families' own configurations, round by round (and of those the learned
#: portfolio does not name, after it): the linear baseline first (a first result within a
#: second on small data), then the usually strongest and cheap boosters, the slowest last.
PORTFOLIO_ORDER = (
    "linear",
    "lightgbm",
    "hist_gb",
    "xgboost",
    "catboost",
    "knn",
    "extra_trees",
    "random_forest",
    "mlp",
    "realmlp",
)


#: out-of-fold rows the refit probe (an ensemble selection that foresees the final one's
#: members) scores on at most: enough to pick the same members, cheap at any data size
REFIT_PROBE_ROWS = 5_000
#: the most of the search time kept for the refit
REFIT_SHARE = 0.2

#: share of the machine's physical memory that the kept fold models may hold, all trials
#: together (the default of ``model_memory``)
MODEL_MEMORY_SHARE = 0.125

#: training rows of the subsampled first look at large data
SUBSAMPLE_ROWS = 50_000
#: the most of the time left that one subsampled trial may take (fit and prediction)
SUBSAMPLE_SHARE = 0.15


@dataclass
class CampaignResult:
    trials: list[TrialResult]
    ensemble: EnsembleSelection | None
    notes: list[str]
    stopped_because: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds: search, ensemble
    #: the families the trials came from, by name (a user's own ``module:Class`` included)
    families: dict[str, ModelFamily] = field(default_factory=dict)


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
        executor: Executor | None = None,
        prior: list[TrialResult] | None = None,
        refit_reserve: bool = False,
        target_transform: bool = True,
        model_memory: int | None = None,
        portfolio: str = "families",
    ) -> None:
        self.X, self.target, self.schema, self.protocol, self.metric = (
            X,
            target,
            schema,
            protocol,
            metric,
        )
        self.seed, self.n_jobs, self.max_trials = seed, n_jobs, max_trials
        self.portfolio = portfolio
        self.deadline, self.ensemble_deadline = deadline, ensemble_deadline
        # the search ends early enough to refit the likely ensemble members afterwards
        self.refit_reserve, self._search_end = refit_reserve, deadline
        self._ensemble_end = ensemble_deadline
        self._reserve_key: tuple[int, ...] = ()
        self._probe_fold_rows: list[tuple[int, np.ndarray]] | None = None
        self._started = clock()
        self.keep_top, self.ensemble_rounds = keep_top, ensemble_rounds
        self.model_memory = default_model_memory() if model_memory is None else model_memory
        self._model_bytes: dict[int, int] = {}
        self._memory_dropped: set[int] = set()
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
            target_transforms=target_transforms(target.task, target.y) if target_transform else (),
        )
        if self.ctx.target_transforms:
            self.notes.append(
                "the target is non-negative and skewed: the boosters also try it transformed "
                f"({', '.join(self.ctx.target_transforms)}), scored on its own scale"
            )
        self.families = self._usable(families)
        self.executor = executor
        self.prior = sorted(prior or [], key=lambda t: t.number)
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

    def _portfolio(self) -> list[tuple[ModelFamily, dict[str, Any], str]]:
        """Portfolio trials in order: every family's own configurations round by round (with
        ``portfolio="learned"`` the learned portfolio, see :mod:`mlresearcher.search.portfolio`),
        after a subsampled first look at large data."""
        entries = () if self.portfolio == "families" else None
        out = portfolio_queue(self.families, self.ctx, PORTFOLIO_ORDER, entries)
        if self.ctx.n_rows > LARGE_ROWS:
            firsts = [(fam, dict(params), "subsample") for fam, params, o in out if o == "default"]
            out = firsts + out
        return out

    # the loop ----------------------------------------------------------------------------------
    def run(self) -> CampaignResult:
        """Search until the budget is spent, then ensemble.

        Trials go to the executor (in process by default). With a parallel executor and a
        time limit, free slots are filled at once, and the sampler treats running trials as
        a constant liar. Without a time limit (``max_trials`` only) the campaign stays
        deterministic whatever the executor: a trial that depends on earlier results (a
        prunable or a sampled one) starts only when every earlier trial is in, and results
        are taken in trial-number order; only family defaults run ahead in parallel.
        """
        from mlresearcher.execution.local import InProcessExecutor

        study = _Study(self, seed=self.seed + len(self.prior))
        names = [f.name for f in self.families]
        by_name = {f.name: f for f in self.families}
        queue = self._portfolio()
        number = self._restore(study, names, queue)
        executor = self.executor or InProcessExecutor(self.clock)
        deterministic = self.deadline is None
        asked: dict[int, tuple[Any, ModelFamily, dict[str, Any]]] = {}
        ready: dict[int, TrialResult] = {}
        next_in_order = number
        stopped: str | None = None
        executor.start(self._trial_data())
        try:
            while True:
                # 1. fill the free slots
                while stopped is None and len(asked) < max(1, executor.slots):
                    if self.max_trials is not None and number >= self.max_trials:
                        stopped = f"reached --max-trials {self.max_trials}"
                        break
                    if self.deadline is not None and self.clock() >= self.deadline:
                        stopped = "time limit"
                        break
                    if deterministic and asked and not (queue and queue[0][2] in _FIXED):
                        break  # the next trial depends on the results in flight
                    ot = None
                    if queue:
                        # run exactly as configured; the sampler learns afterwards
                        fam, params, origin = queue.pop(0)
                        prunable = origin not in _FIXED
                    else:
                        ot = study.get().ask()
                        fam = by_name[ot.suggest_categorical("family", names)]
                        params = fam.search_space(ot, self.ctx)
                        prunable, origin = True, "search"
                    if self.deadline is not None and not self._fits_in_time(fam, origin):
                        # Too slow for what is left: tell the sampler nothing useful.
                        if ot is not None:
                            study.fail(ot)
                        if not queue and all(not self._fits_in_time(f) for f in self.families):
                            stopped = "time limit (no family fits in the time left)"
                            break
                        continue
                    if self.on_start:
                        self.on_start(number, fam.name, self)
                    executor.submit(self._job(number, fam, params, origin, prunable))
                    asked[number] = (ot, fam, params)
                    number += 1
                if not asked:
                    break
                # 2. take finished trials
                results = executor.wait(self._wait_timeout())
                if not results and self._past_hard_stop() and self.incumbent() is not None:
                    # (with no model at all yet, the first trials are awaited: a run that ends
                    # late with a model beats one that ends on time with none)
                    results = executor.abandon("stopped: still running at the time limit")
                for r in results:
                    if deterministic:
                        ready[r.number] = r
                        while next_in_order in ready:
                            self._take(ready.pop(next_in_order), asked, study, names)
                            next_in_order += 1
                    else:
                        self._take(r, asked, study, names)
        finally:
            executor.close()
        self.trials.sort(key=lambda t: t.number)
        t_search = self.clock()
        ensemble = self._ensemble()
        timings = {"ensemble": round(self.clock() - t_search, 3)}
        return CampaignResult(
            self.trials,
            ensemble,
            self.notes,
            stopped or "search space exhausted",
            timings,
            {f.name: f for f in self.families},
        )

    def _trial_data(self) -> TrialData:
        return TrialData(
            X=self.X,
            y=self.y,
            folds=list(self.protocol.folds),
            fold_repeat=self._fold_repeat,
            n_repeats=self.protocol.n_repeats,
            metric_name=self.metric.name,
            ctx=replace(self.ctx, deadline=None),
            families={f.name: f for f in self.families},
        )

    def _job(
        self, number: int, fam: ModelFamily, params: dict[str, Any], origin: str, prunable: bool
    ) -> TrialJob:
        inc = self.incumbent()
        seconds_left = None if self.deadline is None else self.deadline - self.clock()
        if seconds_left is not None and origin == "subsample":
            seconds_left *= SUBSAMPLE_SHARE  # a first look: it must leave room for the rest
        return TrialJob(
            number=number,
            family=fam.name,
            params=params,
            origin=origin,
            prunable=prunable,
            incumbent_fold_scores=tuple(inc.fold_scores) if inc is not None else None,
            seconds_left=seconds_left,
            submitted_wall=time.time(),
            train_rows=SUBSAMPLE_ROWS if origin == "subsample" else None,
        )

    def _wait_timeout(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.05, min(1.0, self._hard_stop() - self.clock()))

    def _hard_stop(self) -> float:
        """When trials still running are abandoned: a little after the search deadline, well
        before the ensemble's (the in-process executor cannot abandon; its learners stop at
        the deadline on their own)."""
        assert self.deadline is not None
        end = self.ensemble_deadline if self.ensemble_deadline is not None else self.deadline + 4
        return self.deadline + max(0.5, 0.4 * (end - self.deadline))

    def _past_hard_stop(self) -> bool:
        return self.deadline is not None and self.clock() >= self._hard_stop()

    def _take(
        self,
        result: TrialResult,
        asked: dict[int, tuple[Any, ModelFamily, dict[str, Any]]],
        study: _Study,
        names: list[str],
    ) -> None:
        """Learn from one finished trial: sampler, fold times, incumbent, callbacks."""
        ot, fam, params = asked.pop(result.number)
        self.trials.append(result)
        self._note_fold_times(result)
        if ot is None:
            study.teach(fam, names, params, result)
        elif result.status == "complete":
            study.get().tell(ot, self.metric.loss(result.score))
        elif result.status == "pruned":
            study.pruned(ot)
        else:
            study.fail(ot)
        self._retain_models()
        self._reserve_refit()
        if self.on_trial:
            self.on_trial(result, self)

    def _note_fold_times(self, result: TrialResult) -> None:
        k = len(result.fold_scores)
        if k:
            per_fold = (result.fit_time + result.predict_time) / k
            if result.origin == "subsample":  # fit time grows about linearly with rows
                per_fold *= self._subsample_factor()
            self._fold_times.setdefault(result.family, []).extend([per_fold] * k)

    def _restore(self, study: _Study, names: list[str], queue: list[Any]) -> int:
        """Take the trials of an interrupted campaign as if they had just run: they count
        towards the budget, teach the sampler and fold times, and their portfolio entries are
        not run again. Returns the next trial number."""
        by_name = {f.name: f for f in self.families}
        for t in self.prior:
            self.trials.append(t)
            self._note_fold_times(t)
            fam = by_name.get(t.family)
            if fam is not None:
                study.teach(fam, names, t.params, t)
            if t.origin in ("default", "portfolio", "subsample"):
                key = (t.family, _canonical(t.params), t.origin)
                for i, (f, p, o) in enumerate(queue):
                    if (f.name, _canonical(p), o) == key:
                        del queue[i]
                        break
        self._retain_models()
        self._reserve_refit()
        return max((t.number for t in self.prior), default=-1) + 1

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

    def _reserve_refit(self) -> None:
        """Move the search and ensemble deadlines so that the likely members can be refit
        before the run's end.

        The likely members are those of an ensemble selection with the final one's
        candidates (the trials that keep their fold models) and rounds, scored on at most
        :data:`REFIT_PROBE_ROWS` out-of-fold rows, redone only when the candidates change;
        the time kept is their expected refit time, at most :data:`REFIT_SHARE` of the
        search time."""
        if not self.refit_reserve or self._search_end is None:
            return
        cands = self._candidates()
        key = tuple(t.number for t in cands)
        if not cands or key == self._reserve_key:
            return
        self._reserve_key = key
        if len(cands) == 1:  # what a selection over one candidate picks
            likely = {cands[0].number}
        else:  # only the weights are read: the quick arithmetic's scores will do
            likely = set(
                select_ensemble(
                    self.metric,
                    self.y,
                    {t.number: t.oof for t in cands},
                    self._probe_folds(),
                    rounds=self.ensemble_rounds,
                    exact_scores=False,
                ).weights
            )
        need = sum(
            expected_refit_seconds(t.fit_time, len(t.fold_scores), self.protocol.n_splits)
            for t in cands
            if t.number in likely and t.origin != "subsample" and len(t.models) > 1
        )
        cap = REFIT_SHARE * max(0.0, self._search_end - self._started)
        reserve = min(need, cap)
        self.deadline = self._search_end - reserve
        if self._ensemble_end is not None:  # the refit comes after the ensemble
            self.ensemble_deadline = self._ensemble_end - reserve

    def _probe_folds(self) -> list[tuple[int, np.ndarray]]:
        """The selection's folds, each cut to the same share of its validation rows so that
        all of them hold at most :data:`REFIT_PROBE_ROWS` (drawn once, fixed seed)."""
        if self._probe_fold_rows is None:
            folds = self._folds()
            share = REFIT_PROBE_ROWS / max(1, sum(len(va) for _, va in folds))
            if share < 1.0:
                rng = np.random.default_rng(0)
                folds = [
                    (r, np.sort(rng.choice(va, max(1, round(share * len(va))), replace=False)))
                    for r, va in folds
                ]
            self._probe_fold_rows = folds
        return self._probe_fold_rows

    def _family_cost(self, name: str) -> float:
        return next((f.cost for f in self.families if f.name == name), 1.0)

    def _fits_in_time(self, fam: ModelFamily, origin: str = "default") -> bool:
        """Whether a whole trial of ``fam`` (all folds) is expected to end before the deadline.

        Fold times are kept at full-data scale; a subsampled trial is expected to take its
        share of rows of that. Folds fitted side by side (:func:`fold_threads`) take one
        fold's time per wave."""
        assert self.deadline is not None
        n_folds = self.protocol.n_folds
        waves = -(-n_folds // fold_threads(len(self.y), n_folds, self.n_jobs))
        expected = self._expected_fold_time(fam) * waves
        if origin == "subsample":
            expected /= self._subsample_factor()
        return self.clock() + expected <= self.deadline

    def _subsample_factor(self) -> float:
        """How many times more training rows a full-data fold has than a subsampled one."""
        full = np.mean([len(tr) for tr, _ in self.protocol.folds])
        return max(1.0, full / SUBSAMPLE_ROWS)

    def incumbent(self) -> TrialResult | None:
        done = [t for t in self.trials if t.status == "complete" and t.score is not None]
        if not done:
            return None
        return min(done, key=lambda t: (self.metric.loss(t.score), t.number))

    def _retain_models(self) -> None:
        """Keep fold models for the ``keep_top`` best trials at most, best first, and only
        while their estimated memory (:meth:`TabularEstimator.memory_bytes`) stays within
        ``model_memory`` bytes; the best trial keeps its models whatever their size. A trial
        that does not fit is skipped, and a smaller one below it may still be kept."""
        done = sorted(
            (t for t in self.trials if t.models is not None),
            key=lambda t: (self.metric.loss(t.score), t.number),
        )
        kept = used = 0
        for t in done:
            size = self._bytes_of(t)
            if kept == 0 or (kept < self.keep_top and used + size <= self.model_memory):
                kept, used = kept + 1, used + size
                continue
            if kept < self.keep_top and t.number not in self._memory_dropped:
                self._memory_dropped.add(t.number)
                if len(self._memory_dropped) == 1:
                    self.notes.append(
                        f"fold models were kept within {self.model_memory / 2**20:,.0f} MB: "
                        "trials that did not fit in it could not join the ensemble"
                    )
            t.models = None

    def _bytes_of(self, t: TrialResult) -> int:
        """The fold models' estimated memory, measured once per trial."""
        if t.number not in self._model_bytes:
            self._model_bytes[t.number] = sum(_memory_bytes(m) for m in t.models or [])
        return self._model_bytes[t.number]

    # ensemble ---------------------------------------------------------------------------------------
    def _candidates(self) -> list[TrialResult]:
        """The final ensemble's candidates, best first: the trials that keep fold models."""
        cands = [t for t in self.trials if t.models is not None and t.oof is not None]
        return sorted(cands, key=lambda t: (self.metric.loss(t.score), t.number))

    def _folds(self) -> list[tuple[int, np.ndarray]]:
        """(repeat, validation rows) of every fold, as the ensemble selection scores them."""
        return [(self._fold_repeat[i], va) for i, (_, va) in enumerate(self.protocol.folds)]

    def _ensemble(self) -> EnsembleSelection | None:
        cands = self._candidates()
        if not cands:
            return None
        return select_ensemble(
            self.metric,
            self.y,
            {t.number: t.oof for t in cands},
            self._folds(),
            rounds=self.ensemble_rounds,
            deadline=self.ensemble_deadline,
            clock=self.clock,
        )

    def fold_scores_of(self, oof: np.ndarray) -> list[float]:
        return fold_scores(self.metric, self.y, oof, self._folds())


def default_model_memory() -> int:
    """:data:`MODEL_MEMORY_SHARE` of the machine's physical memory, in bytes (of 8 GiB where
    the system does not report it)."""
    import os

    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = 8 * 2**30
    return int(MODEL_MEMORY_SHARE * total)


def _memory_bytes(model: Any) -> int:
    measure = getattr(model, "memory_bytes", None)
    if callable(measure):
        return int(measure())
    from mlresearcher.models._estimator import reachable_array_bytes

    return reachable_array_bytes(model)


#: origins of trials whose configuration and pruning depend on no other trial
_FIXED = ("default", "subsample")


def _canonical(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


class _Study:
    """The TPE sampler's study, created when first needed (the first sampled trial).

    Finished portfolio trials taught before that wait here and reach the study, in the
    order they finished, before anything else is asked of it, so the sampler sees the same
    history in the same order as if it had existed from the start; the first result does
    not wait for Optuna's import and set-up."""

    def __init__(self, campaign: Campaign, *, seed: int) -> None:
        self._campaign = campaign
        self._seed = seed
        self._study: Any = None
        self._pending: list[tuple[ModelFamily, list[str], dict[str, Any], TrialResult]] = []

    def teach(
        self, fam: ModelFamily, names: list[str], params: dict[str, Any], result: TrialResult
    ) -> None:
        """Add a finished portfolio trial to the sampler's history (once it exists)."""
        self._pending.append((fam, names, params, result))

    def get(self) -> Any:
        """The study, with every trial taught so far added to it."""
        if self._study is None:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.ERROR)
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=self._seed,
                multivariate=True,
                group=True,
                n_startup_trials=5,
                constant_liar=True,
            )
            self._study = optuna.create_study(direction="minimize", sampler=sampler)
        for fam, names, params, result in self._pending:
            self._campaign._teach(self._study, fam, names, params, result)
        self._pending.clear()
        return self._study

    def fail(self, trial: Any) -> None:
        import optuna

        self.get().tell(trial, state=optuna.trial.TrialState.FAIL)

    def pruned(self, trial: Any) -> None:
        import optuna

        self.get().tell(trial, state=optuna.trial.TrialState.PRUNED)
