"""Isolated trials: worker processes on this machine, each trial under a wall timeout and a
memory cap.

A trial that raises comes back failed with its error, as in process. A trial that runs
past ``trial_timeout`` seconds, or whose process holds more than ``memory_limit_mb`` of
private memory, has its worker process killed and comes back failed with that reason; a
worker that dies on its own (a crash in native code, the kernel's out-of-memory killer)
comes back failed with the signal. A fresh worker takes the dead one's place, so the
campaign goes on.

Workers are started by a fork server (``multiprocessing``'s ``forkserver``), a clean
process that has imported the model libraries but never run them: forking the campaign
process itself would copy the OpenMP thread pool of a library it already used (LightGBM,
XGBoost), and libgomp deadlocks in such a child. Each worker receives the run's
:class:`TrialData` once, when it starts. The memory cap counts the pages a worker owns
privately (``Private_*`` in ``/proc/PID/smaps_rollup``) beyond what it held once its data
was loaded: what the trial allocated. Memory is sampled every 0.1 s, so a very fast spike
can overshoot the cap briefly.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_connections
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

_POLL_S = 0.1
# imported once by the fork server, so every worker shares their pages
_PRELOAD = [
    "mlresearcher.execution.trial",
    "numpy",
    "pandas",
    "scipy.stats",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "lightgbm",
    "xgboost",
]


def _worker_main(conn: Connection, data: TrialData) -> None:
    # the parent handles Ctrl-C; a worker just ends with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from mlresearcher.data.compact import release_freed_memory

    release_freed_memory()  # the buffers the data arrived in
    conn.send(private_memory_mb(os.getpid()))  # ready: the baseline of the memory cap
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        conn.send(run_trial(data, job))


def private_memory_mb(pid: int) -> float | None:
    """Private (not shared) resident memory of ``pid`` in MB, or ``None`` if unknown."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            kb = sum(int(line.split()[1]) for line in f if line.startswith(("Private_", "Swap:")))
        return kb / 1024
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class _Worker:
    process: Any
    conn: Connection
    job: TrialJob | None = None
    started: float = 0.0  # monotonic start of the current job
    started_wall: float = 0.0
    baseline_mb: float = 0.0  # private memory once the worker had loaded its data


class ProcessExecutor(Executor):
    """``workers`` isolated processes; ``trial_timeout`` seconds and ``memory_limit_mb``
    (private memory per worker) bound each trial; ``None`` leaves a bound off."""

    def __init__(
        self,
        workers: int = 1,
        *,
        trial_timeout: float | None = None,
        memory_limit_mb: float | None = None,
    ) -> None:
        if workers < 1:
            raise ConfigError(f"processes:N needs N >= 1, got {workers}")
        if "forkserver" not in mp.get_all_start_methods():
            raise ConfigError("isolated trials need the 'forkserver' start method (Linux or macOS)")
        if memory_limit_mb is not None and private_memory_mb(os.getpid()) is None:
            raise ConfigError(
                "--trial-memory needs /proc/PID/smaps_rollup (Linux); drop --trial-memory"
            )
        self.slots = workers
        self.trial_timeout = trial_timeout
        self.memory_limit_mb = memory_limit_mb
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(_PRELOAD)
        self._workers: list[_Worker] = []
        self._done: list[TrialResult] = []
        self._data: TrialData | None = None

    def start(self, data: TrialData) -> None:
        self._data = data
        self._workers = [self._spawn() for _ in range(self.slots)]

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        p = self._ctx.Process(target=_worker_main, args=(child, self._data), daemon=True)
        p.start()
        child.close()
        try:
            baseline = parent.recv()  # the worker has its data
        except (EOFError, OSError):
            p.join(1.0)
            raise RuntimeError(
                f"an isolated worker failed to start (exit code {p.exitcode})"
            ) from None
        return _Worker(p, parent, baseline_mb=baseline or 0.0)

    def submit(self, job: TrialJob) -> None:
        w = next((w for w in self._workers if w.job is None), None)
        if w is None:
            raise RuntimeError("no free worker: keep at most `slots` trials in flight")
        w.job, w.started, w.started_wall = job, time.monotonic(), time.time()
        w.conn.send(job)

    def in_flight(self) -> int:
        return sum(w.job is not None for w in self._workers) + len(self._done)

    def wait(self, timeout: float | None = None) -> list[TrialResult]:
        end = None if timeout is None else time.monotonic() + timeout
        while not self._done:
            busy = [w for w in self._workers if w.job is not None]
            if not busy:
                break
            ready = wait_connections([w.conn for w in busy], timeout=_POLL_S)
            for w in busy:
                if w.conn in ready:
                    self._receive(w)
                else:
                    self._police(w)
            if end is not None and time.monotonic() >= end:
                break
        out, self._done = self._done, []
        return out

    def _receive(self, w: _Worker) -> None:
        assert w.job is not None
        try:
            res = w.conn.recv()
        except (EOFError, OSError):
            w.process.join(1.0)
            self._replace(w, self._death_reason(w))
            return
        w.job = None
        self._done.append(res)

    def _police(self, w: _Worker) -> None:
        """Kill a worker whose trial overran its time or memory; notice dead ones."""
        assert w.job is not None
        if not w.process.is_alive():
            self._replace(w, self._death_reason(w))
            return
        if self.trial_timeout is not None and time.monotonic() - w.started > self.trial_timeout:
            self._kill(w, f"timed out: still running after the {self.trial_timeout:g} s limit")
            return
        if self.memory_limit_mb is not None:
            mb = private_memory_mb(w.process.pid)
            if mb is not None:
                mb -= w.baseline_mb
            if mb is not None and mb > self.memory_limit_mb:
                self._kill(
                    w,
                    f"out of memory: used {mb:.0f} MB, above the {self.memory_limit_mb:g} MB"
                    " limit per trial",
                )

    def _death_reason(self, w: _Worker) -> str:
        code = w.process.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            hint = " (the system may have run out of memory)" if code == -signal.SIGKILL else ""
            return f"worker process killed by {name}{hint}"
        return f"worker process exited with code {code}"

    def _kill(self, w: _Worker, reason: str) -> None:
        w.process.kill()
        w.process.join(5.0)
        self._replace(w, reason)

    def _replace(self, w: _Worker, reason: str) -> None:
        assert w.job is not None
        self._done.append(failed_result(w.job, reason, w.started_wall))
        w.conn.close()
        i = self._workers.index(w)
        self._workers[i] = self._spawn()

    def abandon(self, reason: str) -> list[TrialResult]:
        out = list(self._done)
        self._done = []
        for w in list(self._workers):
            if w.job is not None:
                job, started = w.job, w.started_wall
                w.process.kill()
                w.process.join(5.0)
                w.conn.close()
                out.append(failed_result(job, reason, started))
                self._workers[self._workers.index(w)] = self._spawn()
        return out

    def close(self) -> None:
        for w in self._workers:
            try:
                w.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        for w in self._workers:
            w.process.join(2.0)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(2.0)
            w.conn.close()
        self._workers = []
        self._data = None

    def describe(self) -> str:
        return f"{self.slots} isolated process(es)"
