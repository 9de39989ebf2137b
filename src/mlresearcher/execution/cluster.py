"""Trials on a Dask distributed cluster.

``tcp://HOST:PORT`` connects to a running scheduler (``dask scheduler`` plus ``dask worker``
processes on any machines that can import mlresearcher and its model libraries);
``local:N`` starts a local cluster of N single-threaded worker processes for this run and
stops it afterwards.

The run's :class:`TrialData` is scattered to every worker once; each trial is one task
(key ``trial-<run>-<number>``) whose result carries its fold models back. Dask reschedules
a task whose worker dies mid-trial on another worker, so a lost worker costs only the
retry of the trials it was running. A trial's time budget travels as seconds left (see
:class:`~mlresearcher.execution.trial.TrialJob`), so clocks of other machines do not
matter beyond their wall-clock agreement.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from mlresearcher.errors import ConfigError
from mlresearcher.execution.base import Executor
from mlresearcher.execution.trial import (
    TrialData,
    TrialJob,
    TrialResult,
    failed_result,
    run_trial,
)

_POLL_S = 0.05
#: times a trial lost by the cluster (not failed by its model) is submitted again
MAX_RETRIES = 2
#: submissions of one trial in all, its neighbours' losses included (a bound on retries)
MAX_SUBMISSIONS = 8


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as e:
        raise ConfigError(
            "--cluster needs Dask: pip install 'mlresearcher[dask]' (dask[distributed])"
        ) from e
    return distributed


def _killed_its_workers(fut: Any) -> bool:
    """Whether the scheduler gave up on a task because every worker that ran it died."""
    return fut.status == "error" and type(fut.exception()).__name__ == "KilledWorker"


class DaskExecutor(Executor):
    """``address`` is ``tcp://HOST:PORT`` or ``local:N`` (N single-threaded local workers)."""

    def __init__(self, address: str, *, connect_timeout: float = 20.0) -> None:
        distributed = _import_distributed()
        self.address = address
        self._cluster = None
        if address.startswith("local:"):
            try:
                n = int(address.split(":", 1)[1])
            except ValueError:
                n = 0
            if n < 1:
                raise ConfigError(f"--cluster local:N needs a worker count N >= 1, got {address!r}")
            self._cluster = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
                silence_logs=40,
            )
            target: Any = self._cluster
        else:
            target = address
        try:
            self.client = distributed.Client(target, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as e:
            if self._cluster is not None:
                self._cluster.close()
            raise ConfigError(
                f"cannot reach the Dask scheduler at {address!r}: {e}; start one with"
                " `dask scheduler` or use --cluster local:N"
            ) from e
        self._prefix = f"trial-{secrets.token_hex(4)}"
        self._futures: dict[Any, TrialJob] = {}
        self._data_future: Any = None
        self._data: TrialData | None = None
        self._attempts: dict[int, int] = {}  # losses a trial's own worker caused
        self._sent: dict[int, int] = {}  # submissions of each trial (unique task keys)
        self._where: dict[Any, str | None] = {}

    @property
    def slots(self) -> int:  # type: ignore[override]
        """One trial per worker thread currently in the cluster (at least 1)."""
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def start(self, data: TrialData) -> None:
        self._data = data
        self._data_future = self.client.scatter(data, broadcast=True, hash=False)

    def submit(self, job: TrialJob, attempt: int = 0) -> None:
        key = job.key or f"{self._prefix}-{job.number}"
        sent = self._sent.get(job.number, 0)
        if sent:
            key += f"-r{sent}"
        self._sent[job.number] = sent + 1
        # One trial per worker thread: left to itself the scheduler may queue two trials on
        # one worker while another idles, and a lost worker would then cost both.
        worker = self._free_worker()
        fut = self.client.submit(
            run_trial,
            self._data_future,
            job,
            key=key,
            pure=False,
            workers=[worker] if worker else None,
            allow_other_workers=True,
        )
        self._futures[fut] = job
        self._where[fut] = worker
        self._attempts[job.number] = attempt

    def _workers(self) -> set[str]:
        return set(self.client.scheduler_info().get("workers", {}))

    def _free_worker(self) -> str | None:
        workers = self.client.scheduler_info().get("workers", {})
        busy: dict[str, int] = {}
        for fut, addr in self._where.items():
            if addr and fut in self._futures:
                busy[addr] = busy.get(addr, 0) + 1
        free = [(busy.get(a, 0) - w.get("nthreads", 1), a) for a, w in workers.items()]
        free = [f for f in free if f[0] < 0]
        return min(free)[1] if free else None

    def in_flight(self) -> int:
        return len(self._futures)

    def wait(self, timeout: float | None = None) -> list[TrialResult]:
        if not self._futures:
            return []
        end = None if timeout is None else time.monotonic() + timeout
        while not any(f.done() for f in self._futures):
            if end is not None and time.monotonic() >= end:
                return []
            time.sleep(_POLL_S)
        out = []
        for fut, job in list(self._futures.items()):
            if not fut.done():
                continue
            del self._futures[fut]
            pinned = self._where.pop(fut, None)
            if fut.status == "finished":
                try:
                    out.append(fut.result())
                    continue
                except Exception:  # noqa: BLE001 - its worker died before the result was gathered
                    pass
            lost = not _killed_its_workers(fut)
            # A worker that dies loses the trials it ran, and with the run's data gone every
            # other trial in flight is cancelled too: only the first kind counts against the
            # trial (a trial that kills every worker it meets fails after MAX_RETRIES).
            own = lost and (pinned is None or pinned not in self._workers())
            attempts = self._attempts.get(job.number, 0) + int(own)
            if lost and attempts <= MAX_RETRIES and self._sent[job.number] <= MAX_SUBMISSIONS:
                # The cluster lost the trial: run it again, re-sending the data if no worker
                # holds it any more. A trial's own errors never get here: run_trial returns
                # them as failed results. Nor does a trial whose workers the scheduler saw
                # die up to its allowed failures: one more round would kill more.
                if self._data_future.status != "finished" and self._data is not None:
                    self._data_future = self.client.scatter(self._data, broadcast=True, hash=False)
                self.submit(job, attempts)
                continue
            out.append(self._result(fut, job))
        return sorted(out, key=lambda r: r.number)

    def _result(self, fut: Any, job: TrialJob) -> TrialResult:
        try:
            return fut.result()
        except Exception as e:  # noqa: BLE001 - a lost worker or a scheduler failure
            if _killed_its_workers(fut):
                return failed_result(
                    job,
                    "its worker stopped (killed or out of memory) on each of the cluster's"
                    f" attempts: {type(e).__name__}",
                )
            if fut.status == "cancelled":  # its worker died with the data it needed, each time
                return failed_result(
                    job,
                    f"the cluster lost the trial on each of its {self._sent.get(job.number, 1)}"
                    " submissions (a worker stopped, killed or out of memory, and took the"
                    " trial or its data with it)",
                )
            return failed_result(
                job, f"the cluster could not run the trial: {type(e).__name__}: {e}"
            )

    def abandon(self, reason: str) -> list[TrialResult]:
        out = []
        for fut, job in list(self._futures.items()):
            if fut.done():
                out.append(self._result(fut, job))
            else:
                fut.cancel()
                out.append(failed_result(job, reason))
        self._futures.clear()
        self._where.clear()
        return out

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None

    def describe(self) -> str:
        return f"Dask cluster {self.address}"
