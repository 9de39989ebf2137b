"""The executor interface: where a campaign's trials run.

A campaign is the search algorithm; an executor only runs :class:`TrialJob` objects on the
run's :class:`TrialData` and hands back :class:`TrialResult` objects. Implementations:

=========================  ================================================================
``InProcessExecutor``      the default: each trial runs in the campaign's own process, one
                           at a time, with no start-up cost
``ProcessExecutor``        isolated worker processes on this machine, each trial under a
                           wall timeout and a memory cap (``processes:N``)
``DaskExecutor``           a Dask distributed cluster (``tcp://HOST:PORT``, ``local:N``)
``StoreQueueExecutor``     trials queued in the run store and claimed by
                           ``mlresearcher worker`` processes on any machine (``store``)
=========================  ================================================================

Every implementation passes the same conformance suite (``tests/execution``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from mlresearcher.execution.trial import TrialData, TrialJob, TrialResult


class Executor(ABC):
    """Runs trials; at most :attr:`slots` at once."""

    #: how many trials may be in flight at once
    slots: int = 1

    @abstractmethod
    def start(self, data: TrialData) -> None:
        """Make ``data`` available to every worker (once per run)."""

    @abstractmethod
    def submit(self, job: TrialJob) -> None:
        """Start ``job`` (the caller keeps no more than :attr:`slots` in flight)."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> list[TrialResult]:
        """Finished trials: at least one unless ``timeout`` seconds pass first (then maybe
        none). A trial that raised, timed out, ran out of memory or lost its worker comes
        back as a ``failed`` result with the reason, never as an exception."""

    @abstractmethod
    def in_flight(self) -> int:
        """Trials submitted and not yet returned by :meth:`wait`."""

    @abstractmethod
    def abandon(self, reason: str) -> list[TrialResult]:
        """Stop every trial in flight (kill or cancel it) and return them as failed."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers and connections."""

    def describe(self) -> str:
        return type(self).__name__


__all__ = ["Executor"]
