"""The final model's members refit once on all training rows.

Cross-validation leaves every ensemble member as k fold models (15 under 2,500 rows), and
a prediction that averages them all pays every one of them: 30 to 75 models per row. The
refit stage fits each member's configuration once more, by the same procedure as a fold
(its own inner early-stopping split included), on every training row, and the final model
predicts with that one model per member and the ensemble weights chosen out of fold.

Why the cross-validated figures still describe it: every out-of-fold prediction the
leaderboard scored came from one model fitted on a training fold, never from an average,
so the score estimates what this procedure gives on new data, fitted on 80 % of the rows.
The refit model has seen all of them (usually a little better); the average of the fold
models was never scored itself either.

A member stays as its fold models when it has a single fold model already (holdout), when
the protocol orders rows in time (a model on every row would not match the walk-forward
windows the protocol scored), when its fit is not expected to end before the deadline, or
when the fit stopped at the deadline rather than on its own (a cut booster is worse than
the fold models it would replace).

A forest member that stays as its k fold models predicts with every k-th tree of each
(:meth:`~mlresearcher.models._estimator.TabularEstimator.thinned`): as many trees as one
fold model, which is what each out-of-fold prediction came from, at a k-th of the
prediction cost of all of them. A forest's trees are interchangeable draws, so a share of
each fold's trees is a forest of the same size grown on every fold's rows.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.models.base import FitContext, ModelFamily

#: the final-model forms a run can deliver
FINAL_MODELS = ("refit", "bagged")
#: protocols whose fold models a refit replaces (shuffled and grouped k-fold)
REFIT_PROTOCOLS = ("kfold", "repeated_kfold", "group_kfold")
#: a refit fits ``1 / (1 - 1/k)`` times a fold's rows; a margin on top for a busy machine
REFIT_MARGIN = 1.3


@dataclass
class RefitOutcome:
    """Which members were refit, in seconds spent, and why the others were not."""

    refit: list[str]
    kept: dict[str, str]  # member name -> reason it keeps its fold models
    seconds: float
    thinned: list[str] = field(default_factory=list)  # kept, served by a share of each

    def to_dict(self) -> dict[str, Any]:
        return {
            "refit": self.refit,
            "kept": self.kept,
            "thinned": self.thinned,
            "seconds": round(self.seconds, 3),
        }


def expected_refit_seconds(fit_seconds: float, n_folds: int, n_splits: int) -> float:
    """The expected wall time of one refit, from a trial's ``fit_seconds`` over the
    ``n_folds`` folds it fitted of a ``n_splits``-fold split (a refit fits all rows, a fold
    ``1 - 1/n_splits`` of them)."""
    if n_folds < 1:
        return 0.0
    return fit_seconds / n_folds * REFIT_MARGIN * n_splits / max(1, n_splits - 1)


def refit_members(
    members: list[Any],
    trials: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    ctx: FitContext,
    families: dict[str, ModelFamily],
    *,
    protocol_kind: str,
    n_splits: int,
    deadline: float | None,
    clock: Callable[[], float] = time.monotonic,
) -> RefitOutcome:
    """Refit ``members`` (heaviest weight first) on ``X, y``: each one refit gets its
    ``refit_model``; its fold models stay for the out-of-fold analysis. A forest member
    not refit gets its ``thinned`` fold models.

    ``trials`` maps a member's name to its trial (for the expected fit time);
    ``deadline`` is a ``time.monotonic()`` value, ``None`` for no time limit.
    """
    t0 = clock()
    done: list[str] = []
    kept: dict[str, str] = {}
    for m in sorted(members, key=lambda m: -m.weight):
        reason = _reason_to_keep(m, trials.get(m.name), protocol_kind, n_splits, deadline, clock)
        fam = families.get(m.family)
        if reason is None and fam is None:
            reason = "its family is not available here"
        if reason is not None:
            kept[m.name] = reason
            continue
        assert fam is not None
        if _refit_one(m, fam, X, y, replace(ctx, deadline=deadline), kept):
            done.append(m.name)
    thinned = []
    for m in members:
        if m.name in kept and len(m.models) > 1:
            shares = [_thinned(est, f, len(m.models)) for f, est in enumerate(m.models)]
            if all(s is not None for s in shares):
                m.thinned = shares
                thinned.append(m.name)
    return RefitOutcome(done, kept, clock() - t0, thinned)


def _refit_one(
    m: Any, fam: ModelFamily, X: pd.DataFrame, y: np.ndarray, ctx: FitContext, kept: dict
) -> bool:
    """Fit ``m``'s configuration on all rows into ``m.refit_model``; else say in ``kept``
    why not."""
    est = fam.build(m.params, ctx)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
    except Exception as e:  # noqa: BLE001 - the fold models it would replace still work
        kept[m.name] = f"the refit failed ({type(e).__name__}: {e})"[:300]
        return False
    if getattr(est, "stopped_by_deadline_", False):
        kept[m.name] = "the refit reached the time limit before it finished"
        return False
    m.refit_model = est
    return True


def _thinned(est: Any, part: int, of: int) -> Any:
    thin = getattr(est, "thinned", None)
    return thin(part, of) if thin is not None else None


def _reason_to_keep(
    member: Any,
    trial: Any,
    protocol_kind: str,
    n_splits: int,
    deadline: float | None,
    clock: Callable[[], float],
) -> str | None:
    if len(member.models) <= 1:
        return "it has a single fold model"
    if protocol_kind not in REFIT_PROTOCOLS:
        return f"the {protocol_kind} protocol is not refit (its folds are windows in time)"
    if getattr(trial, "origin", None) == "subsample":
        return "it was fitted on a subsample"
    if deadline is not None:
        n = len(getattr(trial, "fold_scores", None) or member.models)
        fit_s = getattr(trial, "fit_time", 0.0) or 0.0
        if clock() + expected_refit_seconds(fit_s, n, n_splits) > deadline:
            return "its refit was not expected to end within the time limit"
    return None
