"""A trial out of time stops between folds, except the campaign's first model."""

from __future__ import annotations

import time

from exec_helpers import trial_data

from mlresearcher.execution.trial import TrialJob, run_trial


class SlowClock:
    """A clock on which every reading is one second after the previous one."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def _job(incumbent: tuple[float, ...] | None) -> TrialJob:
    return TrialJob(
        0,
        "linear",
        {"C": 1.0},
        "default",
        False,
        incumbent_fold_scores=incumbent,
        seconds_left=1.5,  # on the slow clock: the first fold already overruns it
        submitted_wall=time.time(),
    )


def test_a_trial_past_its_deadline_stops_between_folds():
    data = trial_data()
    res = run_trial(data, _job(incumbent=(0.8,) * len(data.folds)), clock=SlowClock())
    assert res.status == "pruned"
    assert res.error == f"out of time after 1 of {len(data.folds)} folds"
    assert len(res.fold_scores) == 1


def test_the_first_model_of_a_campaign_completes_its_folds_past_the_deadline():
    data = trial_data()
    res = run_trial(data, _job(incumbent=None), clock=SlowClock())
    assert res.status == "complete"
    assert len(res.fold_scores) == len(data.folds)
