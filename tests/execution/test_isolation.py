"""Isolated trials: a trial that hangs past its timeout or grows past its memory cap is
killed, recorded as failed with the reason, and the campaign goes on within its budget."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from exec_helpers import small_problem

from mlresearcher.execution.isolated import ProcessExecutor
from mlresearcher.metrics import get_metric
from mlresearcher.models.base import FitContext, ModelFamily
from mlresearcher.models.registry import get_families
from mlresearcher.search.campaign import Campaign


class _Hangs:
    def fit(self, X, y):
        time.sleep(600)  # a learner stuck in native code or an endless loop


class _Hogs:
    def fit(self, X, y):
        block = np.ones(120_000_000)  # ~960 MB, touched
        time.sleep(60)
        return block


class _SingleConfig(ModelFamily):
    estimator: Any = None

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        return [{}]

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        return {}

    def build(self, params: dict[str, Any], ctx: FitContext) -> Any:
        return self.estimator()


class Hanging(_SingleConfig):
    name, cost, estimator = "hanging", 0.5, _Hangs


class Hogging(_SingleConfig):
    name, cost, estimator = "hogging", 0.6, _Hogs


def test_hanging_and_hogging_trials_fail_and_the_campaign_goes_on():
    X, target, schema, protocol = small_problem(400)
    families = get_families(["linear"]) + [Hanging(), Hogging()]
    ex = ProcessExecutor(1, trial_timeout=6.0, memory_limit_mb=120)
    t0 = time.monotonic()
    deadline = t0 + 40
    camp = Campaign(
        X,
        target,
        schema,
        protocol,
        get_metric(None, "binary"),
        families,
        n_jobs=1,
        max_trials=5,
        deadline=deadline,
        executor=ex,
    )
    result = camp.run()
    wall = time.monotonic() - t0
    by_family = {}
    for t in result.trials:
        by_family.setdefault(t.family, []).append(t)
    assert [t.family for t in result.trials] == [
        "linear",
        "hanging",
        "hogging",
        "linear",
        "linear",
    ]
    (hang,) = by_family["hanging"]
    assert hang.status == "failed" and hang.error.startswith("timed out"), hang.error
    assert 5.5 < hang.finished_at - hang.started_at < 15
    (hog,) = by_family["hogging"]
    assert hog.status == "failed" and hog.error.startswith("out of memory"), hog.error
    assert by_family["linear"][0].status == "complete"
    assert all(t.status in ("complete", "pruned") for t in by_family["linear"])
    assert result.ensemble is not None and np.isfinite(result.ensemble.score)
    assert wall < 40  # the budget holds
