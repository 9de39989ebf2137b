"""The list of model families, cheapest first, and lookup by name.

Family modules are imported only when asked for, so a run restricted to a few families
never pays for importing the others.
"""

from __future__ import annotations

import importlib

from mlresearcher.errors import ConfigError
from mlresearcher.models.base import ModelFamily

_REGISTRY: dict[str, tuple[str, str]] = {
    "linear": ("linear", "LinearFamily"),
    "knn": ("knn", "KNeighborsFamily"),
    "lightgbm": ("lgbm", "LightGBMFamily"),
    "hist_gb": ("histgb", "HistGradientBoostingFamily"),
    "xgboost": ("xgb", "XGBoostFamily"),
    "extra_trees": ("forests", "ExtraTreesFamily"),
    "random_forest": ("forests", "RandomForestFamily"),
    "catboost": ("catb", "CatBoostFamily"),
    "mlp": ("mlp", "MLPFamily"),
    "realmlp": ("deep", "RealMLPFamily"),
}

FAMILIES: list[str] = list(_REGISTRY)
#: families a run uses when none are named: every family but those still on trial.
#: RealMLP is opt-in (``--families ...,realmlp``) until the portfolio evaluation on the
#: meta suite's train part shows where it pays at a run's budget on two CPU cores (one fit
#: of 1,600 rows takes about 10 s there, one row's prediction about 12 ms per fold model).
OPT_IN: frozenset[str] = frozenset({"realmlp"})
DEFAULT_FAMILIES: list[str] = [n for n in FAMILIES if n not in OPT_IN]


def _load(name: str) -> ModelFamily:
    module, cls = _REGISTRY[name]
    return getattr(importlib.import_module(f"mlresearcher.models.{module}"), cls)()


def _defaults() -> list[ModelFamily]:
    return [_load(n) for n in DEFAULT_FAMILIES]


def _load_path(spec: str) -> ModelFamily:
    """A family of the user's own, named ``module:Class``: any importable subclass of
    :class:`~mlresearcher.models.base.ModelFamily`. Its module must import wherever trials
    run (every worker) and wherever the saved model is loaded."""
    module, _, cls = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as e:
        raise ConfigError(
            f"cannot load the model family {spec!r}: {e}; a family of your own is given as"
            " module:Class, importable here and on every worker"
        ) from e
    if not (isinstance(obj, type) and issubclass(obj, ModelFamily)) or not obj.name:
        raise ConfigError(
            f"{spec!r} is not a model family: give a subclass of"
            " mlresearcher.models.base.ModelFamily with a name"
        )
    if obj.name in _REGISTRY:
        raise ConfigError(f"the model family {spec!r} takes the built-in name {obj.name!r}")
    return obj()


def get_families(names: list[str] | tuple[str, ...] | None = None) -> list[ModelFamily]:
    """Family objects for ``names`` (:data:`DEFAULT_FAMILIES` when ``None``), in registry
    order, then the user's own families (``module:Class``) in the order given."""
    if names is None:
        return _defaults()
    own = [n for n in names if ":" in n]
    unknown = [n for n in names if n not in _REGISTRY and ":" not in n]
    if unknown:
        raise ConfigError(
            f"unknown model famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}; "
            f"choose from: {', '.join(FAMILIES)}, or name a family of your own as module:Class"
        )
    if not names:
        raise ConfigError(f"no model family given; choose from: {', '.join(FAMILIES)}")
    return [_load(n) for n in FAMILIES if n in set(names)] + [_load_path(n) for n in own]
