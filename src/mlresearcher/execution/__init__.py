"""Where trials run: in process (default), isolated processes, a Dask cluster, or store
workers. See :mod:`mlresearcher.execution.base` for the interface."""

from __future__ import annotations

from mlresearcher.errors import ConfigError
from mlresearcher.execution.base import Executor
from mlresearcher.execution.local import InProcessExecutor
from mlresearcher.execution.trial import TrialData, TrialJob, TrialResult, run_trial

CLUSTER_HELP = (
    "where trials run: processes:N (N isolated local processes), local:N (a local Dask"
    " cluster of N workers), tcp://HOST:PORT (a running Dask scheduler), or store (queued in"
    " the run store for `mlresearcher worker` processes; store:N queues N at a time, default 4); default: in this process"
)


def check_executor_options(
    cluster: str | None, trial_timeout: float | None, trial_memory: float | None
) -> None:
    """Raise ``ConfigError`` for a malformed ``--cluster`` or bound (before any work)."""
    if trial_timeout is not None and not trial_timeout > 0:
        raise ConfigError(
            f"--trial-timeout must be a positive number of seconds, got {trial_timeout}"
        )
    if trial_memory is not None and not trial_memory > 0:
        raise ConfigError(f"--trial-memory must be a positive number of MB, got {trial_memory}")
    if cluster is None:
        return
    kind, _, rest = cluster.partition(":")
    if kind in ("processes", "local"):
        if not rest.isdigit() or int(rest) < 1:
            raise ConfigError(f"--cluster {kind}:N needs a worker count N >= 1, got {cluster!r}")
    elif kind == "tcp" or kind == "tls":
        if not rest.startswith("//") or ":" not in rest[2:]:
            raise ConfigError(f"--cluster needs tcp://HOST:PORT, got {cluster!r}")
    elif kind == "store":
        if rest and (not rest.isdigit() or int(rest) < 1):
            raise ConfigError(f"--cluster store:N needs N >= 1 trials at a time, got {cluster!r}")
    else:
        raise ConfigError(f"unknown --cluster {cluster!r}; {CLUSTER_HELP}")
    if (trial_timeout or trial_memory) and kind != "processes":
        raise ConfigError(
            "--trial-timeout and --trial-memory apply to isolated processes; use them without"
            " --cluster or with --cluster processes:N"
        )


def make_executor(
    cluster: str | None = None,
    trial_timeout: float | None = None,
    trial_memory: float | None = None,
    *,
    store: object | None = None,
    run_id: str | None = None,
) -> Executor:
    """The executor for ``--cluster`` (see :data:`CLUSTER_HELP`).

    A trial timeout or memory cap without ``--cluster`` means one isolated process.
    ``store`` and ``run_id`` are needed for ``--cluster store``.
    """
    check_executor_options(cluster, trial_timeout, trial_memory)
    if cluster is None and (trial_timeout or trial_memory):
        cluster = "processes:1"
    if cluster is None:
        return InProcessExecutor()
    kind, _, rest = cluster.partition(":")
    if kind == "processes":
        from mlresearcher.execution.isolated import ProcessExecutor

        return ProcessExecutor(int(rest), trial_timeout=trial_timeout, memory_limit_mb=trial_memory)
    if kind == "store":
        from mlresearcher.execution.queue import StoreQueueExecutor

        if store is None or run_id is None:
            raise ConfigError("--cluster store needs a run store (--store URL)")
        return StoreQueueExecutor(store, run_id, slots=int(rest or 4))  # type: ignore[arg-type]
    from mlresearcher.execution.cluster import DaskExecutor

    return DaskExecutor(cluster)


__all__ = [
    "CLUSTER_HELP",
    "Executor",
    "InProcessExecutor",
    "TrialData",
    "TrialJob",
    "TrialResult",
    "check_executor_options",
    "make_executor",
    "run_trial",
]
