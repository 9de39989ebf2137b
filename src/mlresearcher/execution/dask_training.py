"""Boosted trees on data bigger than one machine: LightGBM or XGBoost through their Dask
interfaces, on a Dask DataFrame read from partitioned Parquet.

Where the campaign's executors spread *trials* over workers (each worker holds the whole
table), this spreads *one model's data*: every worker reads and keeps only its share of
the Parquet partitions, and the library trains one booster collectively over them
(``lightgbm.dask`` or ``xgboost.dask``). The protocol is a random holdout of partitions'
rows (``random_split``), the only validation that stays affordable at that size.

Preparation happens lazily on the workers: string columns become categoricals with the
levels found in the data (one pass, ``categorize``), numbers become ``float32``, the
target becomes class codes (classification) or floats (regression).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlresearcher.errors import ConfigError, DataError

FAMILIES = ("lightgbm", "xgboost")


@dataclass
class DistributedFit:
    """A booster trained over a cluster, and its holdout score."""

    family: str
    task: str
    target: str
    classes: list[Any] | None
    metric: str
    holdout_score: float
    n_rows_train: int
    n_rows_holdout: int
    n_partitions: int
    fit_seconds: float
    model: Any  # the library's local (single-machine) estimator, ready to predict
    categories: dict[str, list[Any]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("model", "categories")}


def read_partitioned(path: str, target: str) -> Any:
    """A Dask DataFrame over a Parquet file or folder of partitions."""
    import dask.dataframe as dd

    try:
        ddf = dd.read_parquet(path)
    except (FileNotFoundError, OSError, ValueError) as e:
        raise DataError(f"cannot read Parquet from {path!r}: {e}") from e
    if target not in ddf.columns:
        raise DataError(f"no column {target!r} in {path!r}; columns: {', '.join(ddf.columns)}")
    return ddf


def fit_distributed(
    ddf: Any,
    target: str,
    client: Any,
    *,
    family: str = "lightgbm",
    task: str | None = None,
    holdout: float = 0.2,
    seed: int = 0,
    n_estimators: int = 200,
    learning_rate: float = 0.1,
) -> DistributedFit:
    """Train ``family`` on ``ddf`` over ``client``'s workers; score it on a holdout."""
    with client.as_current():  # every compute below goes to this cluster
        return _fit(ddf, target, client, family, task, holdout, seed, n_estimators, learning_rate)


def _fit(
    ddf: Any,
    target: str,
    client: Any,
    family: str,
    task: str | None,
    holdout: float,
    seed: int,
    n_estimators: int,
    learning_rate: float,
) -> DistributedFit:
    if family not in FAMILIES:
        raise ConfigError(f"distributed training supports {', '.join(FAMILIES)}, not {family!r}")
    ddf = ddf.dropna(subset=[target])
    features = [c for c in ddf.columns if c != target]
    strings = [
        c
        for c in features
        if ddf[c].dtype == object or str(ddf[c].dtype).startswith(("string", "str"))
    ]
    if strings:
        ddf[strings] = ddf[strings].astype(str).replace({"None": None, "nan": None, "<NA>": None})
        ddf = ddf.categorize(columns=strings)
    numbers = [c for c in features if c not in strings]
    ddf[numbers] = ddf[numbers].astype("float32")
    y_dtype = ddf[target].dtype
    if task is None:
        import pandas as pd

        task = "regression" if pd.api.types.is_float_dtype(y_dtype) else "classification"
    classes = None
    if task != "regression":
        classes = sorted(ddf[target].dropna().unique().compute().tolist(), key=str)
        if len(classes) < 2:
            raise DataError(f"the target {target!r} has a single class")
        codes = {c: i for i, c in enumerate(classes)}
        ddf[target] = ddf[target].map(codes, meta=(target, "int32"))
    train, valid = ddf.random_split([1 - holdout, holdout], random_state=seed)
    train, valid = client.persist([train, valid])
    X_tr, y_tr = train[features], train[target]
    X_va, y_va = valid[features], valid[target]
    model = _estimator(family, task, client, seed, n_estimators, learning_rate, len(classes or []))
    t0 = time.monotonic()
    model.fit(X_tr, y_tr)
    fit_seconds = time.monotonic() - t0
    y_true = y_va.compute().to_numpy()
    if task == "regression":
        pred = np.asarray(model.predict(X_va).compute(), dtype=float)
        metric, score = "rmse", float(np.sqrt(np.mean((pred - y_true) ** 2)))
    else:
        from sklearn.metrics import log_loss, roc_auc_score

        proba = np.asarray(model.predict_proba(X_va).compute(), dtype=float)
        if len(classes or []) == 2:
            metric, score = "roc_auc", float(roc_auc_score(y_true, proba[:, 1]))
        else:
            metric = "log_loss"
            score = float(log_loss(y_true, proba, labels=list(range(len(classes or [])))))
    local = model.to_local() if hasattr(model, "to_local") else model
    return DistributedFit(
        family=family,
        task="regression"
        if task == "regression"
        else ("binary" if len(classes) == 2 else "multiclass"),
        target=target,
        classes=classes,
        metric=metric,
        holdout_score=score,
        n_rows_train=int(len(y_tr)),
        n_rows_holdout=int(len(y_true)),
        n_partitions=int(ddf.npartitions),
        fit_seconds=round(fit_seconds, 3),
        model=local,
        categories={c: list(train[c].cat.categories) for c in strings},
    )


def _estimator(
    family: str, task: str, client: Any, seed: int, n: int, lr: float, n_classes: int
) -> Any:
    if family == "lightgbm":
        import lightgbm as lgb

        cls = lgb.DaskLGBMRegressor if task == "regression" else lgb.DaskLGBMClassifier
        return cls(
            client=client,
            n_estimators=n,
            learning_rate=lr,
            num_leaves=31,
            random_state=seed,
            verbose=-1,
        )
    import xgboost as xgb

    cls = xgb.dask.DaskXGBRegressor if task == "regression" else xgb.dask.DaskXGBClassifier
    est = cls(
        n_estimators=n,
        learning_rate=lr,
        tree_method="hist",
        enable_categorical=True,
        random_state=seed,
    )
    est.client = client
    return est


__all__ = ["DistributedFit", "fit_distributed", "read_partitioned"]
