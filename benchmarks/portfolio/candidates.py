"""The candidate configurations the portfolio is selected from, written to ``candidates.json``.

Two sources per family, both recorded in each candidate's ``source``:

* ``hand``: the configurations the family offered before the portfolio was learned
  (``default_configs``), its own default first;
* ``random``: draws from the family's own search space (``search_space``) by Optuna's
  seeded random sampler, so the candidates cover the space the Bayesian stage searches.

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
    return out


def main() -> int:
    cands = candidates()
    CANDIDATES_FILE.write_text(json.dumps(cands, indent=1) + "\n")
    print(f"{len(cands)} candidates -> {CANDIDATES_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
