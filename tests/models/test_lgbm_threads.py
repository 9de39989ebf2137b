"""LightGBM uses one thread on small training sets and ``n_jobs`` threads on larger ones."""

from __future__ import annotations

from conftest import load_dataset

from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
from mlresearcher.data.task import encode_target
from mlresearcher.models import get_families, lgbm
from mlresearcher.models.base import FitContext


def _fitted_threads(n_rows: int, monkeypatch, threshold: int) -> int:
    monkeypatch.setattr(lgbm, "SINGLE_THREAD_ROWS", threshold)
    df, entry = load_dataset("credit_scoring", n_rows)
    X, y = df.drop(columns=[entry["target"]]), df[entry["target"]]
    target, _ = encode_target(y, entry["target"], "binary")
    schema = build_schema(X, infer_roles(X)[0])
    Xp = prepare_features(X, schema)
    ctx = FitContext(task="binary", n_classes=2, schema=schema, n_rows=len(Xp), seed=0, n_jobs=2)
    family = get_families(["lightgbm"])[0]
    est = family.build(family.default_configs(ctx)[0], ctx).fit(Xp, target.y)
    return int(est.booster_.params["num_threads"])


def test_small_training_sets_train_on_one_thread(monkeypatch) -> None:
    assert _fitted_threads(600, monkeypatch, threshold=10_000) == 1


def test_larger_training_sets_use_n_jobs_threads(monkeypatch) -> None:
    # the same data above the threshold: the user's n_jobs applies
    assert _fitted_threads(600, monkeypatch, threshold=100) == 2
