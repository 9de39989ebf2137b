"""The learned portfolio: the shipped table, and how the campaign turns it into trials."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import load_dataset

from mlresearcher.data.protocol import make_protocol
from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
from mlresearcher.data.task import encode_target
from mlresearcher.metrics import get_metric
from mlresearcher.models.base import FitContext
from mlresearcher.models.registry import FAMILIES, get_families
from mlresearcher.search.campaign import PORTFOLIO_ORDER, Campaign
from mlresearcher.search.portfolio import PORTFOLIO_FILE, learned_portfolio, portfolio_queue

META_SPLIT = Path(__file__).resolve().parents[2] / "benchmarks" / "portfolio" / "meta_split.json"


def _ctx(task: str, transforms: tuple[str, ...] = ()) -> FitContext:
    df, _ = load_dataset("credit_scoring", n=300)
    df.pop("Status")
    infos, _ = infer_roles(df)
    return FitContext(
        task=task,
        n_classes=2 if task != "regression" else 0,
        schema=build_schema(df, infos),
        n_rows=300,
        target_transforms=transforms,
    )


def test_the_shipped_portfolio_was_learned_on_the_meta_train_part_only():
    doc = json.loads(PORTFOLIO_FILE.read_text())
    split = json.loads(META_SPLIT.read_text())
    assert doc["tasks"] and set(doc["tasks"]) <= set(split["train"])
    assert not set(doc["tasks"]) & set(split["validate"])
    ids = [e["id"] for e in doc["portfolio"]]
    assert ids and len(ids) == len(set(ids))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_every_shipped_entry_builds_an_estimator_of_its_family(task):
    ctx = _ctx(task)
    kind = "classification" if task != "regression" else "regression"
    for e in learned_portfolio():
        assert e["family"] in FAMILIES
        fam = get_families([e["family"]])[0]
        if e.get(kind) is not None and fam.unavailable_reason() is None:
            assert hasattr(fam.build(e[kind], ctx), "fit"), e["id"]


ENTRIES: tuple[dict[str, Any], ...] = (
    {
        "id": "a",
        "family": "lightgbm",
        "classification": {"num_leaves": 7},
        "regression": {"num_leaves": 9},
    },
    {"id": "b", "family": "linear", "classification": {"C": 0.5}},
    {
        "id": "c",
        "family": "lightgbm",
        "classification": {"num_leaves": 63},
        "regression": {"num_leaves": 65},
    },
    {"id": "d", "family": "catboost", "classification": {"depth": 4}, "regression": {"depth": 5}},
)


def test_the_queue_follows_the_learned_order_and_marks_each_familys_first_as_default():
    fams = get_families(["linear", "lightgbm", "knn"])  # no catboost: its entry is left out
    queue = portfolio_queue(fams, _ctx("binary"), PORTFOLIO_ORDER, ENTRIES)
    head = [(f.name, p, o) for f, p, o in queue[:3]]
    assert head == [
        ("lightgbm", {"num_leaves": 7}, "default"),
        ("linear", {"C": 0.5}, "default"),
        ("lightgbm", {"num_leaves": 63}, "portfolio"),
    ]
    # the family the portfolio does not name runs its own configurations after it
    knn = get_families(["knn"])[0]
    rest = [(f.name, p, o) for f, p, o in queue[3:]]
    expected = knn.default_configs(_ctx("binary"))
    assert rest == [
        ("knn", c, "default" if i == 0 else "portfolio") for i, c in enumerate(expected)
    ]


def test_an_entry_without_parameters_for_the_task_kind_is_left_out():
    fams = get_families(["linear", "lightgbm"])
    queue = portfolio_queue(fams, _ctx("regression"), PORTFOLIO_ORDER, ENTRIES)
    names = [(f.name, o) for f, _, o in queue]
    assert names[:2] == [("lightgbm", "default"), ("lightgbm", "portfolio")]
    # linear has no regression entry: its own configurations follow, its first the default
    assert names[2] == ("linear", "default")


def test_a_skewed_target_adds_the_transformed_first_configuration_right_after_it():
    fams = get_families(["linear", "lightgbm"])
    queue = portfolio_queue(fams, _ctx("regression", ("sqrt", "log1p")), PORTFOLIO_ORDER, ENTRIES)
    head = [(f.name, p, o) for f, p, o in queue[:3]]
    assert head == [
        ("lightgbm", {"num_leaves": 9}, "default"),
        ("lightgbm", {"num_leaves": 9, "target_transform": "sqrt"}, "portfolio"),
        ("lightgbm", {"num_leaves": 65}, "portfolio"),
    ]
    # the linear model has no transformed trial
    assert not any(f.name == "linear" and "target_transform" in p for f, p, _ in queue)


def _campaign(families: list[str], **kwargs: Any) -> Campaign:
    """A campaign on 400 rows of the credit data, 3-fold, over ``families``."""
    df, _ = load_dataset("credit_scoring", n=400)
    y = df.pop("Status")
    target, _ = encode_target(y, "Status")
    infos, _ = infer_roles(df)
    schema = build_schema(df, infos)
    protocol = make_protocol(target.y, target.task, folds=3, repeats=1)
    X = prepare_features(df, schema)
    metric = get_metric(None, "binary")
    return Campaign(X, target, schema, protocol, metric, get_families(families), **kwargs)


def test_the_campaign_runs_the_learned_portfolio_in_order():
    camp = _campaign(["linear", "lightgbm", "hist_gb"], max_trials=5, portfolio="learned")
    expected = portfolio_queue(camp.families, camp.ctx, PORTFOLIO_ORDER)[:5]
    trials = camp.run().trials
    assert [(t.family, t.params, t.origin) for t in trials] == [
        (f.name, p, o) for f, p, o in expected
    ]
    assert {t.family for t in trials if t.origin == "default"} <= {"linear", "lightgbm", "hist_gb"}


def test_the_families_portfolio_runs_each_familys_own_configurations_round_by_round():
    camp = _campaign(["linear", "lightgbm"], portfolio="families")
    queue = [(f.name, p, o) for f, p, o in camp._portfolio()]
    lin, lgb = (f.default_configs(camp.ctx) for f in camp.families)
    assert queue[:4] == [
        ("linear", lin[0], "default"),
        ("lightgbm", lgb[0], "default"),
        ("linear", lin[1], "portfolio"),
        ("lightgbm", lgb[1], "portfolio"),
    ]


def test_an_unknown_portfolio_is_a_config_error():
    from mlresearcher.engine import RunConfig
    from mlresearcher.errors import ConfigError

    with pytest.raises(ConfigError, match="--portfolio must be one of families, learned"):
        RunConfig(time_limit=10, portfolio="tuned").validate()
