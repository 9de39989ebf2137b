"""The default executor: trials run in the campaign's process, one at a time."""

from __future__ import annotations

import time
from collections.abc import Callable

from mlresearcher.execution.base import Executor
from mlresearcher.execution.trial import (
    TrialData,
    TrialJob,
    TrialResult,
    failed_result,
    run_trial,
)


class InProcessExecutor(Executor):
    """Runs each submitted trial when :meth:`wait` is called; no processes, no copies.

    ``clock`` is the campaign's clock (tests use a fake one), used for the fold-level time
    checks inside the trial.
    """

    slots = 1

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._data: TrialData | None = None
        self._queue: list[TrialJob] = []

    def start(self, data: TrialData) -> None:
        self._data = data

    def submit(self, job: TrialJob) -> None:
        self._queue.append(job)

    def wait(self, timeout: float | None = None) -> list[TrialResult]:
        if not self._queue:
            return []
        assert self._data is not None, "start() first"
        job = self._queue.pop(0)
        return [run_trial(self._data, job, self.clock)]

    def in_flight(self) -> int:
        return len(self._queue)

    def abandon(self, reason: str) -> list[TrialResult]:
        out = [failed_result(j, reason) for j in self._queue]
        self._queue.clear()
        return out

    def describe(self) -> str:
        return "in-process"
