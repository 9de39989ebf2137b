"""The evaluation protocol: which rows train and which validate, for every candidate.

Every candidate in a campaign is scored on the same folds. The default rule, by the number
of rows ``n`` after dropping missing targets:

* ``n < 2,500``: 5-fold cross-validation repeated 3 times (stratified for classification);
  small data gives noisy folds, repeats reduce the variance of the estimate;
* ``2,500 <= n <= 250,000``: 5-fold cross-validation (stratified for classification);
* ``n > 250,000``: a single stratified 80/20 holdout (more folds cost more than they
  tell at that size).

``--group COL`` gives group k-fold (no group in both train and validation; stratified when
classes allow), ``--time COL`` a forward-chaining time-ordered split (each validation block
comes after all its training rows; the first block is never validated). With fewer than 5
rows in the smallest class, the number of folds drops to that count (at least 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    train_test_split,
)

from mlresearcher.errors import ConfigError, DataError

SMALL_ROWS = 2_500
LARGE_ROWS = 250_000


@dataclass
class Protocol:
    """The folds every candidate uses, with a human description and its parameters."""

    kind: str  # kfold | repeated_kfold | holdout | group_kfold | time_split
    folds: list[tuple[np.ndarray, np.ndarray]]
    n_splits: int
    n_repeats: int = 1
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_folds(self) -> int:
        return len(self.folds)

    def validated_mask(self, n: int) -> np.ndarray:
        """Rows that receive at least one out-of-fold prediction."""
        mask = np.zeros(n, dtype=bool)
        for _, va in self.folds:
            mask[va] = True
        return mask

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n_splits": self.n_splits,
            "n_repeats": self.n_repeats,
            "n_folds": self.n_folds,
            "description": self.description,
            **self.params,
        }


def make_protocol(
    y: np.ndarray,
    task: str,
    seed: int = 0,
    *,
    folds: int | None = None,
    repeats: int | None = None,
    holdout: float | None = None,
    groups: pd.Series | None = None,
    time: pd.Series | None = None,
    window: str | None = None,
    train_size: str | int | None = None,
    gap: str | int | None = None,
    embargo: str | int | None = None,
    entity: str | None = None,
) -> Protocol:
    """Build the folds for a campaign (see the module doc for the default rule).

    With ``time`` and any of ``window``/``train_size``/``gap``/``embargo``/``entity`` the
    folds are walk-forward (see :mod:`mlresearcher.signal.walkforward`)."""
    n = len(y)
    classification = task != "regression"
    if folds is not None and folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}")
    walk_forward = (window, train_size, gap, embargo, entity)
    if time is None and any(v is not None for v in walk_forward):
        raise ConfigError("--window, --train-size, --gap, --embargo and --entity need --time COL")
    if time is not None and any(v is not None for v in walk_forward):
        from mlresearcher.signal.walkforward import walk_forward_protocol

        return walk_forward_protocol(
            time,
            folds or 5,
            window=window or "expanding",
            train_size=train_size,
            gap=gap,
            embargo=embargo,
            entity=entity,
        )
    if time is not None:
        return _time_split(time, folds or 5)
    min_class = int(np.bincount(y).min()) if classification else n
    if groups is not None:
        return _group_kfold(y, groups, classification, seed, folds or 5, min_class)
    if holdout is not None or (folds is None and repeats is None and n > LARGE_ROWS):
        frac = holdout or 0.2
        if not 0 < frac < 1:
            raise ConfigError(f"--holdout must be a fraction between 0 and 1, got {frac}")
        tr, va = train_test_split(
            np.arange(n), test_size=frac, random_state=seed, stratify=y if classification else None
        )
        return Protocol(
            "holdout",
            [(np.sort(tr), np.sort(va))],
            1,
            1,
            f"single {'stratified ' if classification else ''}holdout, {frac:.0%} validation (n={n})",
            {"holdout": frac},
        )
    k = folds or 5
    if classification and min_class < k:
        k = max(2, min_class)
    r = repeats if repeats is not None else (3 if n < SMALL_ROWS and folds is None else 1)
    if r < 1:
        raise ConfigError(f"--repeats must be at least 1, got {r}")
    if r > 1:
        cv = (RepeatedStratifiedKFold if classification else RepeatedKFold)(
            n_splits=k, n_repeats=r, random_state=seed
        )
    else:
        cv = (StratifiedKFold if classification else KFold)(
            n_splits=k, shuffle=True, random_state=seed
        )
    splits = [
        (np.asarray(a), np.asarray(b))
        for a, b in cv.split(np.zeros(n), y if classification else None)
    ]
    strat = "stratified " if classification else ""
    kind = "repeated_kfold" if r > 1 else "kfold"
    desc = (
        f"{strat}{k}-fold cross-validation"
        + (f", repeated {r} times" if r > 1 else "")
        + f" (n={n})"
    )
    return Protocol(kind, splits, k, r, desc)


def _group_kfold(y, groups, classification, seed, k, min_class) -> Protocol:
    g = pd.Series(groups).reset_index(drop=True)
    if g.isna().any():
        raise DataError(
            f"group column {g.name!r} has missing values; fill them or choose another --group"
        )
    codes, uniques = pd.factorize(g)
    n_groups = len(uniques)
    if n_groups < 2:
        raise DataError(
            f"group column {g.name!r} has {n_groups} group; group k-fold needs at least 2"
        )
    k = min(k, n_groups)
    n = len(y)
    if classification and min_class >= k:
        cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        splits = list(cv.split(np.zeros(n), y, codes))
        kind_desc = "stratified group"
    else:
        cv = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
        splits = list(cv.split(np.zeros(n), y, codes))
        kind_desc = "group"
    return Protocol(
        "group_kfold",
        [(np.asarray(a), np.asarray(b)) for a, b in splits],
        k,
        1,
        f"{kind_desc} {k}-fold cross-validation on {g.name!r} ({n_groups} groups, n={n})",
        {"group": str(g.name)},
    )


def to_time(time: pd.Series) -> pd.Series:
    """The time column as datetimes or numbers; strings are parsed as dates."""
    t = pd.Series(time).reset_index(drop=True)
    if not pd.api.types.is_datetime64_any_dtype(t) and not pd.api.types.is_numeric_dtype(t):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(t, errors="coerce", format="mixed")
        if parsed.isna().mean() > 0.05:
            raise DataError(
                f"time column {t.name!r} is neither numeric nor parseable as dates; choose another --time"
            )
        t = parsed
    if t.isna().any():
        raise DataError(f"time column {t.name!r} has missing values; fill or drop those rows")
    return t


def _time_split(time: pd.Series, k: int) -> Protocol:
    t = to_time(time)
    order = np.argsort(t.to_numpy(), kind="stable")
    n = len(order)
    if n < 2 * (k + 1):
        raise DataError(f"too few rows ({n}) for a {k}-fold time-ordered split")
    # k+1 contiguous blocks by time; fold i trains on blocks 0..i and validates on block i+1.
    # A block boundary never splits rows that share a timestamp.
    ts = t.to_numpy()[order]
    bounds = [0]
    for i in range(1, k + 1):
        b = int(round(i * n / (k + 1)))
        while 0 < b < n and ts[b] == ts[b - 1]:
            b += 1
        bounds.append(min(max(b, bounds[-1] + 1), n - 1))
    bounds.append(n)
    splits = []
    for i in range(1, len(bounds) - 1):
        tr, va = order[: bounds[i]], order[bounds[i] : bounds[i + 1]]
        if len(va):
            splits.append((np.sort(tr), np.sort(va)))
    return Protocol(
        "time_split",
        splits,
        len(splits),
        1,
        f"forward-chaining time-ordered split on {t.name!r}: {len(splits)} folds, each validated on a later block (n={n})",
        {"time": str(t.name)},
    )
