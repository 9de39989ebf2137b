"""Walk-forward folds on a time column, with purging (gap) and an embargo.

The rows are ordered by their time stamps; rows that share a time stamp (a panel: many
entities observed at the same date) always fall on the same side of every boundary. A
*period* is one distinct time stamp, so for a single series a period is a row.

Windows:

* ``expanding``: fold ``i`` of ``k`` tests on block ``i`` of ``k + 1`` contiguous blocks
  and trains on everything before it (the first block is never tested);
* ``rolling``: as expanding, but training keeps only the last ``train_size`` before the
  test block;
* ``purged``: purged k-fold -- ``k`` blocks, each tested once, trained on all the other
  blocks, *including later ones*. Not walk-forward: use it only when the past and future
  are exchangeable apart from label overlap.

``gap`` removes training rows just before each test block. A label that looks ``h``
periods ahead (a forward return over ``h`` days) overlaps the test block when it starts
fewer than ``h`` periods before it, so ``gap >= h`` purges every training row whose label
window overlaps a test row. ``embargo`` removes training rows just *after* a test block
(only the purged window trains on rows after a test block, so only it is affected).

Spans (``gap``, ``embargo``, ``train_size``) are an integer number of periods (rows of a
single series), or a duration such as ``"5D"``, ``"2W"`` or ``"36h"`` for a datetime
time column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlresearcher.data.protocol import to_time  # noqa: F401  (part of this module's API)
from mlresearcher.errors import ConfigError, DataError

WINDOWS = ("expanding", "rolling", "purged")


@dataclass(frozen=True)
class Span:
    """A length along the time axis: ``periods`` distinct time stamps or a ``duration``."""

    periods: int = 0
    duration: pd.Timedelta | None = None

    @property
    def is_zero(self) -> bool:
        return self.duration is None and self.periods == 0

    def __str__(self) -> str:
        if self.duration is not None:
            return str(self.duration)
        return f"{self.periods} period{'s' if self.periods != 1 else ''}"


def parse_span(value: str | int | float | None, what: str) -> Span:
    """``3`` -> 3 periods; ``"5D"`` / ``"36h"`` -> a duration. ``what`` names the option."""
    if value is None:
        return Span()
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a number of periods or a duration, got {value!r}")
    if isinstance(value, int | float | np.integer):
        if float(value) != int(value) or int(value) < 0:
            raise ConfigError(
                f"{what} must be a whole number of periods >= 0 or a duration like 5D, got {value!r}"
            )
        return Span(periods=int(value))
    text = str(value).strip()
    if text.isdigit():
        return Span(periods=int(text))
    try:
        td = pd.Timedelta(text)
    except (ValueError, TypeError):
        raise ConfigError(
            f"{what} must be a number of periods (rows) or a duration like 5D, 2W or 36h, got {value!r}"
        ) from None
    if td < pd.Timedelta(0):
        raise ConfigError(f"{what} must not be negative, got {value!r}")
    return Span(duration=td)


def _periods_before(u: np.ndarray, start: int, span: Span) -> int:
    """Index into the sorted distinct times ``u``: the first period kept when ``span``
    before period ``start`` is removed (periods ``[result, start)`` are dropped)."""
    if span.duration is None:
        return max(0, start - span.periods)
    if start >= len(u):
        return start
    # keep only times strictly earlier than (start time - duration)
    return int(np.searchsorted(u, u[start] - span.duration, side="left"))


def _periods_after(u: np.ndarray, end: int, span: Span) -> int:
    """First period index kept after test block ending at ``end`` (exclusive) plus span."""
    if span.duration is None:
        return min(len(u), end + span.periods)
    if end == 0:
        return 0
    limit = u[end - 1] + span.duration
    return int(np.searchsorted(u, limit, side="right"))


def walk_forward_folds(
    time: pd.Series,
    k: int = 5,
    *,
    window: str = "expanding",
    train_size: Span | None = None,
    gap: Span | None = None,
    embargo: Span | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train_rows, test_rows)`` per fold, row positions sorted (see the module doc)."""
    if window not in WINDOWS:
        raise ConfigError(f"unknown window {window!r}; choose from: {', '.join(WINDOWS)}")
    if k < 2:
        raise ConfigError(f"walk-forward needs at least 2 folds, got {k}")
    gap, embargo = gap or Span(), embargo or Span()
    if window == "rolling" and (train_size is None or train_size.is_zero):
        raise ConfigError("a rolling window needs a training size: --train-size N or a duration")
    if (gap.duration is not None or embargo.duration is not None) and not (
        pd.api.types.is_datetime64_any_dtype(time)
    ):
        raise ConfigError(
            "durations (like 5D) need a datetime time column; give --gap/--embargo in periods"
        )
    t = time.to_numpy()
    u, period = np.unique(t, return_inverse=True)  # u sorted; period[r] = index of row r's time
    n_blocks = k if window == "purged" else k + 1
    if len(u) < 2 * n_blocks:
        raise DataError(
            f"too few distinct time stamps ({len(u)}) for a {k}-fold walk-forward split"
        )
    bounds = [int(round(i * len(u) / n_blocks)) for i in range(n_blocks + 1)]
    first_test = 0 if window == "purged" else 1
    folds = []
    for b in range(first_test, n_blocks):
        s, e = bounds[b], bounds[b + 1]  # test periods [s, e)
        keep = np.zeros(len(u), dtype=bool)
        keep[: _periods_before(u, s, gap)] = True
        if window == "rolling":
            assert train_size is not None
            lo = _periods_before(u, _periods_before(u, s, gap), train_size)
            keep[:lo] = False
        if window == "purged":
            keep[_periods_after(u, e, embargo) :] = True
        keep[s:e] = False
        train = np.flatnonzero(keep[period])
        test = np.flatnonzero((period >= s) & (period < e))
        if len(train) == 0:
            raise DataError(
                f"fold {len(folds) + 1} has no training rows left after the gap; use fewer folds or a smaller --gap"
            )
        folds.append((train, test))
    return folds


def describe(
    time_name: str,
    k: int,
    window: str,
    train_size: Span | None,
    gap: Span,
    embargo: Span,
    n: int,
    entity: str | None = None,
) -> str:
    if window == "purged":
        head = f"purged {k}-fold cross-validation on {time_name!r} (trains on both sides of each test block)"
    else:
        size = f" of {train_size}" if window == "rolling" else ""
        head = f"walk-forward on {time_name!r}: {k} folds, {window} training window{size}"
    parts = [head, f"gap {gap}"]
    if window == "purged":
        parts.append(f"embargo {embargo}")
    elif not embargo.is_zero:
        parts.append(f"embargo {embargo} (no effect: no training row follows a test row)")
    if entity:
        parts.append(f"entities {entity!r}")
    return ", ".join(parts) + f" (n={n})"


def walk_forward_protocol(
    time: pd.Series,
    k: int = 5,
    *,
    window: str = "expanding",
    train_size: str | int | None = None,
    gap: str | int | None = None,
    embargo: str | int | None = None,
    entity: str | None = None,
):
    """The walk-forward :class:`~mlresearcher.data.protocol.Protocol` for a campaign."""
    from mlresearcher.data.protocol import Protocol

    t = to_time(time)
    g, e = parse_span(gap, "--gap"), parse_span(embargo, "--embargo")
    ts = parse_span(train_size, "--train-size") if train_size is not None else None
    folds = walk_forward_folds(t, k, window=window, train_size=ts, gap=g, embargo=e)
    return Protocol(
        "purged_kfold" if window == "purged" else "walk_forward",
        folds,
        len(folds),
        1,
        describe(str(t.name), len(folds), window, ts, g, e, len(t), entity),
        {
            "time": str(t.name),
            "window": window,
            "gap": str(g),
            "embargo": str(e),
            "train_size": str(ts) if ts else None,
            "entity": entity,
        },
    )
