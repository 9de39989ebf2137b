"""Campaign behaviour: failing trials, budgets, portfolio order and the store."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import load_dataset

from mlresearcher.data.protocol import make_protocol
from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
from mlresearcher.data.task import encode_target
from mlresearcher.metrics import get_metric
from mlresearcher.models.base import FitContext, ModelFamily
from mlresearcher.models.registry import get_families
from mlresearcher.search.campaign import Campaign
from mlresearcher.store.db import Store


class _Exploding:
    def fit(self, X, y):
        raise RuntimeError("boom: this configuration cannot be fitted")


class ExplodingFamily(ModelFamily):
    """A family whose every trial raises, as a broken configuration would."""

    name = "exploding"
    cost = 0.5

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        return [{"x": 1}]

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        return {"x": trial.suggest_int("exploding.x", 1, 3)}

    def build(self, params: dict[str, Any], ctx: FitContext) -> Any:
        return _Exploding()


@pytest.fixture(scope="module")
def problem():
    df, _ = load_dataset("credit_scoring", n=600)
    y = df.pop("Status")
    target, _ = encode_target(y, "Status")
    infos, _ = infer_roles(df)
    schema = build_schema(df, infos)
    protocol = make_protocol(target.y, target.task, folds=3, repeats=1)
    return prepare_features(df, schema), target, schema, protocol


def test_a_failing_trial_is_recorded_and_the_campaign_goes_on(problem, tmp_path):
    X, target, schema, protocol = problem
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.create_run("r")
    camp = Campaign(
        X,
        target,
        schema,
        protocol,
        get_metric(None, "binary"),
        [ExplodingFamily(), *get_families(["linear"])],
        max_trials=6,
        on_trial=lambda res, c: store.record_trial("r", res.record()),
    )
    result = camp.run()
    rows = store.trials("r")
    assert len(rows) == 6
    failed = [r for r in rows if r["family"] == "exploding"]
    assert failed and all(r["status"] == "failed" and "boom" in r["error"] for r in failed)
    assert any(r["family"] == "linear" and r["status"] == "complete" for r in rows)
    assert result.ensemble is not None and set(result.ensemble.weights) <= {
        t.number for t in result.trials if t.family == "linear"
    }


def test_each_familys_first_trial_is_its_default_and_every_family_gets_one(problem):
    X, target, schema, protocol = problem
    fams = get_families(["linear", "lightgbm", "knn"])
    n = len(
        camp_queue := Campaign(
            X, target, schema, protocol, get_metric(None, "binary"), fams
        )._portfolio()
    )
    camp = Campaign(X, target, schema, protocol, get_metric(None, "binary"), fams, max_trials=n)
    trials = camp.run().trials
    assert len(trials) == len(camp_queue)
    seen: set[str] = set()
    for t in trials:
        assert t.origin == ("portfolio" if t.family in seen else "default"), t.name
        seen.add(t.family)
    assert seen == {"linear", "lightgbm", "knn"}


def test_time_budget_stops_the_search(problem):
    X, target, schema, protocol = problem
    t = [0.0]

    def clock() -> float:  # a fake clock: every reading advances 1 s
        t[0] += 1.0
        return t[0]

    camp = Campaign(
        X,
        target,
        schema,
        protocol,
        get_metric(None, "binary"),
        get_families(["linear"]),
        deadline=30.0,
        clock=clock,
    )
    result = camp.run()
    assert result.stopped_because.startswith("time limit")
    assert 1 <= len(result.trials) < 30
    assert np.isfinite(result.ensemble.score)


def test_subsampled_trials_take_a_share_of_the_time_and_are_sized_as_such(problem, monkeypatch):
    from mlresearcher.search import campaign as campaign_module

    X, target, schema, protocol = problem
    now = [0.0]
    camp = Campaign(
        X,
        target,
        schema,
        protocol,
        get_metric(None, "binary"),
        get_families(["linear", "lightgbm"]),
        deadline=100.0,
        clock=lambda: now[0],
    )
    linear, lgbm = camp.families[0], camp.families[1]
    # a subsampled trial may take a share of the time left; others all of it
    assert camp._job(0, linear, {}, "subsample", False).seconds_left == pytest.approx(
        100.0 * campaign_module.SUBSAMPLE_SHARE
    )
    assert camp._job(0, linear, {}, "default", False).seconds_left == pytest.approx(100.0)
    # fold times are kept at full-data scale: 4x the rows of a subsample here
    full_rows = np.mean([len(tr) for tr, _ in protocol.folds])
    monkeypatch.setattr(campaign_module, "SUBSAMPLE_ROWS", full_rows / 4)
    camp._fold_times = {"linear": [12.0]}  # 36 s for 3 folds of full data
    now[0] = 80.0  # 20 s left
    assert not camp._fits_in_time(linear, "default")
    assert camp._fits_in_time(linear, "subsample")  # 9 s on a quarter of the rows
    # a family not seen yet is sized from the cheapest one seen, by relative cost
    assert camp._fits_in_time(lgbm, "subsample") == (camp._expected_fold_time(lgbm) * 3 / 4 <= 20.0)


def test_quick_fold_scores_match_the_metric_on_every_fold():
    from mlresearcher.search.ensemble import fold_scores, quick_fold_scores

    rng = np.random.default_rng(0)
    n = 300
    folds = [(r, np.arange(n)[np.arange(n) % 3 == k]) for r in range(2) for k in range(3)]
    y_cls = rng.integers(0, 3, n)
    proba = rng.dirichlet(np.ones(3), size=(2, n))
    proba[0, 0] = [1.0, 0.0, 0.0]  # a zero probability: clipped the same way
    y_bin = rng.integers(0, 2, n)
    p_bin = rng.dirichlet(np.ones(2), size=(2, n)).round(2)  # ties in the ranks
    y_reg = rng.normal(size=n)
    values = rng.normal(size=(2, n))
    cases = [
        ("log_loss", "multiclass", y_cls, proba),
        ("roc_auc", "binary", y_bin, p_bin),
        ("rmse", "regression", y_reg, values),
        ("mae", "regression", y_reg, values),
        ("r2", "regression", y_reg, values),  # no quick form: the metric itself
    ]
    for name, task, y, oof in cases:
        metric = get_metric(name, task)
        np.testing.assert_allclose(
            quick_fold_scores(metric, y, oof, folds), fold_scores(metric, y, oof, folds), rtol=1e-12
        )


def test_ensemble_selection_keeps_the_fewest_members_among_prefixes_that_score_alike():
    from mlresearcher.search.ensemble import PARSIMONY, select_ensemble

    rng = np.random.default_rng(0)
    n = 400
    y = rng.normal(size=n)
    folds = [(0, np.arange(n)[np.arange(n) % 4 == k]) for k in range(4)]
    metric = get_metric("rmse", "regression")
    strong = (y + rng.normal(scale=0.5, size=n))[None]
    noise = rng.normal(scale=0.5, size=n)
    # a near copy of the strong candidate: averaging the two gains far less than PARSIMONY
    twin = strong + 1e-4 * noise[None]
    other = (y + rng.normal(scale=0.5, size=n))[None]  # independent errors: a real gain
    sel = select_ensemble(metric, y, {0: strong, 1: twin}, folds)
    assert len(sel.weights) == 1
    sel = select_ensemble(metric, y, {0: strong, 1: twin, 2: other}, folds)
    assert set(sel.weights) >= {2} and len(sel.weights) == 2
    unpruned = np.mean([metric(y[va], ((strong + other) / 2)[0][va]) for _, va in folds])
    assert sel.score <= unpruned * (1 + PARSIMONY)
    # scores of the quick arithmetic instead of the metric's: the same picks, the same
    # scores up to rounding
    quick = select_ensemble(metric, y, {0: strong, 1: twin, 2: other}, folds, exact_scores=False)
    assert quick.weights == sel.weights and quick.rounds == sel.rounds
    np.testing.assert_allclose(quick.fold_scores, sel.fold_scores, rtol=1e-12)


@pytest.mark.parametrize("share", [None, 1e-6])  # the estimate, then the cap
def test_the_search_keeps_time_to_refit_the_final_ensembles_members(problem, monkeypatch, share):
    import time

    from mlresearcher.search import campaign as campaign_module
    from mlresearcher.search.refit import expected_refit_seconds

    if share is not None:
        monkeypatch.setattr(campaign_module, "REFIT_SHARE", share)
    X, target, schema, protocol = problem
    metric = get_metric(None, "binary")

    def campaign(reserve: bool) -> Campaign:
        start = time.monotonic()
        return Campaign(
            X,
            target,
            schema,
            protocol,
            metric,
            get_families(["linear", "lightgbm", "knn"]),
            max_trials=5,
            deadline=start + 1000.0,
            ensemble_deadline=start + 1010.0,
            refit_reserve=reserve,
        )

    plain = campaign(False)
    plain.run()
    assert plain.deadline == plain._search_end  # no refit, no reserve

    camp = campaign(True)
    result = camp.run()
    reserve = camp._search_end - camp.deadline
    assert reserve > 0
    assert camp._ensemble_end - camp.ensemble_deadline == pytest.approx(reserve)
    # the time kept is what the members the final selection chose take to refit
    by_number = {t.number: t for t in result.trials}
    members = [by_number[n] for n in camp._ensemble().weights]
    need = sum(
        expected_refit_seconds(t.fit_time, len(t.fold_scores), protocol.n_splits) for t in members
    )
    cap = campaign_module.REFIT_SHARE * (camp._search_end - camp._started)
    assert reserve == pytest.approx(min(need, cap))
    if share is not None:
        assert reserve <= 1e-6 * 1000.0 + 1e-9


def test_the_refit_probe_scores_a_bounded_share_of_every_fold(problem, monkeypatch):
    from mlresearcher.search import campaign as campaign_module

    monkeypatch.setattr(campaign_module, "REFIT_PROBE_ROWS", 150)
    X, target, schema, protocol = problem
    camp = Campaign(
        X, target, schema, protocol, get_metric(None, "binary"), get_families(["linear"])
    )
    probe, full = camp._probe_folds(), camp._folds()
    assert 140 <= sum(len(va) for _, va in probe) <= 150
    for (r, sub), (r_full, va) in zip(probe, full, strict=True):
        assert r == r_full
        assert set(sub) <= set(va) and len(sub) == pytest.approx(len(va) / 4, abs=1)
    assert camp._probe_folds() is probe  # drawn once


def test_fold_models_are_kept_within_the_memory_budget_best_first(problem):
    X, target, schema, protocol = problem
    metric = get_metric(None, "binary")
    fams = get_families(["linear", "random_forest", "extra_trees"])

    def campaign(model_memory: int | None) -> Campaign:
        return Campaign(
            X, target, schema, protocol, metric, fams, max_trials=6, model_memory=model_memory
        )

    free = campaign(10**12)
    free.run()
    sizes = {t.number: free._bytes_of(t) for t in free.trials if t.models is not None}
    assert len(sizes) == 6  # under keep_top, with room for all: every trial keeps its models
    forest = max(sizes.values())
    assert forest > 10 * min(sizes.values())  # a forest's folds outweigh a linear model's

    budget = forest + forest // 2  # room for the largest forest trial and small ones
    tight = campaign(budget)
    result = tight.run()
    ranked = sorted(result.trials, key=lambda t: (metric.loss(t.score), t.number))
    kept = [t for t in ranked if t.models is not None]
    assert ranked[0].models is not None  # the best trial keeps its models whatever their size
    assert sum(tight._bytes_of(t) for t in kept) <= max(budget, tight._bytes_of(ranked[0]))
    dropped = [t for t in ranked if t.models is None]
    assert dropped and all(t.oof is not None for t in dropped)
    # greedy, best first: each dropped trial would have overflowed what better ones hold
    for t in dropped:
        better = [k for k in kept if metric.loss(k.score) <= metric.loss(t.score) and k is not t]
        assert sum(tight._bytes_of(k) for k in better) + tight._bytes_of(t) > budget
    assert set(result.ensemble.weights) <= {t.number for t in kept}
    assert any("kept within" in n for n in result.notes)
    assert not any("kept within" in n for n in free.notes)


def test_the_default_memory_budget_is_a_share_of_the_machine():
    import os

    from mlresearcher.search.campaign import MODEL_MEMORY_SHARE, default_model_memory

    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert default_model_memory() == int(MODEL_MEMORY_SHARE * total)


def test_the_sampler_learns_every_portfolio_trial_before_it_samples(problem, monkeypatch):
    import mlresearcher.search.campaign as campaign_mod

    seen: list[Any] = []
    get = campaign_mod._Study.get

    def recording_get(self):
        study = get(self)
        seen.append(study)
        return study

    monkeypatch.setattr(campaign_mod._Study, "get", recording_get)
    X, target, schema, protocol = problem
    fams = get_families(["linear"])
    camp = Campaign(X, target, schema, protocol, get_metric(None, "binary"), fams, max_trials=7)
    trials = camp.run().trials
    fixed = [t for t in trials if t.origin in ("default", "portfolio")]
    sampled = [t for t in trials if t.origin == "search"]
    assert fixed and sampled
    study = seen[-1]
    # every finished trial is in the sampler's history, the portfolio ones first, in order
    values = [t.value for t in study.trials if t.value is not None]
    loss = camp.metric.loss
    expected = [loss(t.score) for t in fixed if t.status == "complete"]
    expected += [loss(t.score) for t in sampled if t.status == "complete"]
    assert values == pytest.approx(expected)


def test_the_first_result_does_not_wait_for_the_samplers_import(tmp_path):
    import subprocess
    import sys

    from conftest import DATASETS

    code = f"""
import sys
from mlresearcher.data.io import read_table
from mlresearcher.engine import RunConfig, run, split_target
X, y = split_target(read_table({str(DATASETS / "penguins_species.parquet")!r}), "species")
seen = []
class Progress:
    def begin(self, **kw): pass
    def trial_started(self, *a): pass
    def trial_done(self, res, camp): seen.append("optuna" in sys.modules)
    def end(self): pass
run(X, y, RunConfig(time_limit=None, max_trials=6, analysis=False, families=["linear"]),
    progress=Progress())
print(seen)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # the portfolio's results (linear has four configurations) came before Optuna was
    # imported; the sampled trials after them need it
    assert out.stdout.strip().splitlines()[-1] == str([False] * 4 + [True] * 2)
