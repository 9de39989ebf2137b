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
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
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

    def to_dict(self) -> dict[str, Any]:
        return {"refit": self.refit, "kept": self.kept, "seconds": round(self.seconds, 3)}


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
    ``refit_model``; its fold models stay for the out-of-fold analysis.

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
        est = fam.build(m.params, replace(ctx, deadline=deadline))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, y)
        except Exception as e:  # noqa: BLE001 - the fold models it would replace still work
            kept[m.name] = f"the refit failed ({type(e).__name__}: {e})"[:300]
            continue
        if getattr(est, "stopped_by_deadline_", False):
            kept[m.name] = "the refit reached the time limit before it finished"
            continue
        m.refit_model = est
        done.append(m.name)
    return RefitOutcome(done, kept, clock() - t0)


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
