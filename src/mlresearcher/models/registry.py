"""The list of model families, cheapest first, and lookup by name."""

from __future__ import annotations

from mlresearcher.errors import ConfigError
from mlresearcher.models.base import ModelFamily


def _all() -> list[ModelFamily]:
    from mlresearcher.models.catb import CatBoostFamily
    from mlresearcher.models.forests import ExtraTreesFamily, RandomForestFamily
    from mlresearcher.models.histgb import HistGradientBoostingFamily
    from mlresearcher.models.knn import KNeighborsFamily
    from mlresearcher.models.lgbm import LightGBMFamily
    from mlresearcher.models.linear import LinearFamily
    from mlresearcher.models.mlp import MLPFamily
    from mlresearcher.models.xgb import XGBoostFamily

    return [
        LinearFamily(),
        KNeighborsFamily(),
        LightGBMFamily(),
        HistGradientBoostingFamily(),
        XGBoostFamily(),
        ExtraTreesFamily(),
        RandomForestFamily(),
        CatBoostFamily(),
        MLPFamily(),
    ]


FAMILIES: list[str] = [
    "linear", "knn", "lightgbm", "hist_gb", "xgboost", "extra_trees", "random_forest", "catboost", "mlp",
]


def get_families(names: list[str] | tuple[str, ...] | None = None) -> list[ModelFamily]:
    """Family objects for ``names`` (all when ``None``), in registry order."""
    fams = _all()
    if names is None:
        return fams
    by_name = {f.name: f for f in fams}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigError(
            f"unknown model famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}; "
            f"choose from: {', '.join(FAMILIES)}"
        )
    return [f for f in fams if f.name in set(names)]
