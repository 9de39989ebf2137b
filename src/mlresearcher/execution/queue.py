"""Trials shared through the run store: the campaign queues them, ``mlresearcher worker``
processes on any machine that reaches the store claim and run them.

The campaign (this executor) pickles the run's :class:`TrialData` into the store once, then
queues each trial as a row. Workers claim rows atomically (see
:mod:`mlresearcher.store.db`), run them, and write the pickled result back; the campaign
polls for results, records each finished trial in ``trials`` (whose unique
``(run_id, number)`` forbids a duplicate) and queues more. A worker beats a heartbeat
while it runs a trial; a claim without a beat for ``stale_after`` seconds (a killed worker
or machine) is put back in the queue for another worker, so no trial is lost; a trial that
has lost ``max_attempts`` workers is recorded as failed, so none is retried forever.

Results come back pickled through the store, so workers need neither the data file nor a
shared filesystem, only the store URL. Only run workers on stores you trust: they unpickle
what the store holds.
"""

from __future__ import annotations

import pickle
import time
from typing import TYPE_CHECKING

from mlresearcher.execution.base import Executor
from mlresearcher.execution.trial import TrialData, TrialJob, TrialResult, failed_result

if TYPE_CHECKING:
    from mlresearcher.store.db import Store

_POLL_S = 0.1
HEARTBEAT_S = 2.0
MAX_ATTEMPTS = 3  # workers a trial may lose (killed, out of memory) before it counts as failed


class StoreQueueExecutor(Executor):
    """Queue up to ``slots`` trials at a time in ``store`` for worker processes."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        *,
        slots: int = 4,
        stale_after: float = 15.0,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        self.store, self.run_id = store, run_id
        self.slots = slots
        self.stale_after = stale_after
        self.max_attempts = max_attempts
        self._jobs: dict[int, TrialJob] = {}

    def start(self, data: TrialData) -> None:
        self.store.put_payload(self.run_id, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))

    def submit(self, job: TrialJob) -> None:
        self.store.enqueue(self.run_id, job.number, pickle.dumps(job))
        self._jobs[job.number] = job

    def in_flight(self) -> int:
        return len(self._jobs)

    def wait(self, timeout: float | None = None) -> list[TrialResult]:
        end = None if timeout is None else time.monotonic() + timeout
        last_check = 0.0
        while self._jobs:
            rows = self.store.finished_jobs(self.run_id, sorted(self._jobs))
            if rows:
                out = []
                for number, blob in rows:
                    job = self._jobs.pop(number)
                    try:
                        out.append(pickle.loads(blob))
                    except Exception as e:  # noqa: BLE001 - a result this process cannot load
                        out.append(failed_result(job, f"unreadable worker result: {e}"))
                return sorted(out, key=lambda r: r.number)
            if time.monotonic() - last_check > self.stale_after / 3:
                lost = self.store.requeue_stale(self.run_id, self.stale_after, self.max_attempts)
                last_check = time.monotonic()
                if lost:
                    return [
                        failed_result(
                            self._jobs.pop(n),
                            f"its worker stopped (killed or out of memory) on each of"
                            f" {self.max_attempts} attempts",
                        )
                        for n in lost
                        if n in self._jobs
                    ]
            if end is not None and time.monotonic() >= end:
                return []
            time.sleep(_POLL_S)
        return []

    def abandon(self, reason: str) -> list[TrialResult]:
        done = self.wait(0)
        numbers = sorted(self._jobs)
        self.store.cancel_jobs(self.run_id, numbers)
        out = done + [failed_result(self._jobs[n], reason) for n in numbers]
        self._jobs.clear()
        return out

    def close(self) -> None:
        if self._jobs:
            self.store.cancel_jobs(self.run_id, sorted(self._jobs))
            self._jobs.clear()
        self.store.release_queue(self.run_id)

    def describe(self) -> str:
        return f"store queue ({self.slots} trials at a time)"
