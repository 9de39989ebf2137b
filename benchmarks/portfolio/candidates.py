"""The candidate configurations the portfolio is selected from, written to ``candidates.json``.

Two sources per family, both recorded in each candidate's ``source``:

* ``hand``: the configurations the family offered before the portfolio was learned
  (``default_configs``), its own default first;
* ``random``: draws from the family's own search space (``search_space``) by Optuna's
  seeded random sampler, so the candidates cover the space the Bayesian stage searches;
* ``published``: configurations another AutoML system learned by zero-shot selection over
  many datasets: AutoGluon's ``zeroshot_portfolio_2023`` (derived with TabRepo), each named
  by its AutoGluon suffix, with only the parameters our families take (parameters not set
  there keep our family's defaults, so these are close relatives, not copies).

A candidate has one id and, where the family's space differs by task kind (the linear
model's ``C`` or ``alpha``, the forests' ``criterion``), one parameter set per kind
(``classification``, ``regression``), drawn with the same sampler seed. Target transforms
are left out: the campaign adds a booster's transformed-target trial by its own rule.

    .venv/bin/python benchmarks/portfolio/candidates.py     # (re)write candidates.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CANDIDATES_FILE = HERE / "candidates.json"
SEED = 0

#: random draws per family (on top of its hand configurations): more for the boosters,
#: whose spaces are larger and which win most often, fewer for the slow or simple families
RANDOM_DRAWS = {
    "lightgbm": 8,
    "xgboost": 5,
    "catboost": 5,
    "hist_gb": 5,
    "extra_trees": 3,
    "random_forest": 3,
    "linear": 2,
    "knn": 3,
    "mlp": 3,
}


#: (family, AutoGluon name, parameters): values as published in AutoGluon's
#: ``tabular/configs/zeroshot/zeroshot_portfolio_2023.py``; XGBoost's ``enable_categorical``
#: is our ``native_categorical``; CatBoost's Depthwise entries are left out (our family grows
#: symmetric trees) and the forests' ``max_leaf_nodes`` is left to our family's own cap
PUBLISHED: list[tuple[str, str, dict[str, Any]]] = [
    ("lightgbm", "GBMXT", {"extra_trees": True}),
    (
        "lightgbm",
        "GBM_r131",
        {
            "feature_fraction": 0.7024,
            "learning_rate": 0.01214,
            "min_data_in_leaf": 14,
            "num_leaves": 53,
        },
    ),
    (
        "lightgbm",
        "GBM_r96",
        {
            "extra_trees": True,
            "feature_fraction": 0.5637,
            "learning_rate": 0.01519,
            "min_data_in_leaf": 48,
            "num_leaves": 16,
        },
    ),
    (
        "lightgbm",
        "GBM_r188",
        {
            "extra_trees": True,
            "feature_fraction": 0.8283,
            "learning_rate": 0.03393,
            "min_data_in_leaf": 6,
            "num_leaves": 127,
        },
    ),
    (
        "lightgbm",
        "GBM_r130",
        {
            "feature_fraction": 0.6246,
            "learning_rate": 0.04712,
            "min_data_in_leaf": 56,
            "num_leaves": 89,
        },
    ),
    (
        "catboost",
        "CAT_r137",
        {
            "depth": 4,
            "l2_leaf_reg": 4.559,
            "learning_rate": 0.0494,
            "max_ctr_complexity": 3,
            "one_hot_max_size": 3,
        },
    ),
    (
        "catboost",
        "CAT_r13",
        {
            "depth": 8,
            "l2_leaf_reg": 3.327,
            "learning_rate": 0.0173,
            "max_ctr_complexity": 5,
            "one_hot_max_size": 10,
        },
    ),
    (
        "catboost",
        "CAT_r69",
        {
            "depth": 5,
            "l2_leaf_reg": 1.046,
            "learning_rate": 0.05029,
            "max_ctr_complexity": 5,
            "one_hot_max_size": 2,
        },
    ),
    (
        "xgboost",
        "XGB_r33",
        {
            "colsample_bytree": 0.6917,
            "native_categorical": False,
            "learning_rate": 0.01806,
            "max_depth": 10,
            "min_child_weight": 0.6029,
        },
    ),
    (
        "xgboost",
        "XGB_r89",
        {
            "colsample_bytree": 0.6628,
            "native_categorical": False,
            "learning_rate": 0.08776,
            "max_depth": 5,
            "min_child_weight": 0.6294,
        },
    ),
    (
        "xgboost",
        "XGB_r194",
        {
            "colsample_bytree": 0.909,
            "native_categorical": True,
            "learning_rate": 0.0929,
            "max_depth": 7,
            "min_child_weight": 0.8042,
        },
    ),
    ("random_forest", "RF_r195", {"max_features": 0.75, "min_samples_leaf": 1}),
    ("extra_trees", "XT_r42", {"max_features": 0.75, "min_samples_leaf": 1}),
]


def _ctx(task: str) -> Any:
    from mlresearcher.data.schema import Schema
    from mlresearcher.models.base import FitContext

    return FitContext(
        task=task,
        n_classes=2 if task != "regression" else 0,
        schema=Schema(columns=[], feature_roles={}),
        n_rows=1000,
    )


def _draw(family: Any, ctx: Any, seed: int) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    trial = study.ask()
    return family.search_space(trial, ctx)


def _round(params: dict[str, Any]) -> dict[str, Any]:
    """Floats to 4 significant digits: a readable table, the same configuration."""
    return {k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in params.items()}


def candidates() -> list[dict[str, Any]]:
    from mlresearcher.models.registry import FAMILIES, get_families

    kinds = {"classification": _ctx("binary"), "regression": _ctx("regression")}
    out: list[dict[str, Any]] = []
    for fam in get_families(FAMILIES):
        hand = {k: fam.default_configs(ctx) for k, ctx in kinds.items()}
        for i in range(max(len(v) for v in hand.values())):
            params = {k: _round(v[i]) for k, v in hand.items() if i < len(v)}
            out.append({"id": f"{fam.name}:h{i}", "family": fam.name, "source": "hand", **params})
        for j in range(RANDOM_DRAWS.get(fam.name, 0)):
            seed = SEED + 1000 * FAMILIES.index(fam.name) + j
            params = {k: _round(_draw(fam, ctx, seed)) for k, ctx in kinds.items()}
            out.append({"id": f"{fam.name}:r{j}", "family": fam.name, "source": "random", **params})
        for family, name, params in PUBLISHED:
            if family == fam.name:
                out.append(
                    {
                        "id": f"{family}:{name}",
                        "family": family,
                        "source": f"published: AutoGluon zeroshot_portfolio_2023 {name}",
                        **dict.fromkeys(kinds, dict(params)),
                    }
                )
    return out


def main() -> int:
    cands = candidates()
    CANDIDATES_FILE.write_text(json.dumps(cands, indent=1) + "\n")
    print(f"{len(cands)} candidates -> {CANDIDATES_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
