"""Whether a run the store calls running still has a process behind it.

A run's row says "running" from ``create_run`` until ``finish_run``; a process killed in
between (SIGKILL, the OOM killer, a lost machine) never changes it. So the row names its
``owner`` ("host:pid") and the process refreshes ``heartbeat_at`` every
:data:`HEARTBEAT_S` seconds (:class:`RunHeartbeat`). A reader takes a running run for
abandoned when its owner ran on this host and that pid is gone, or when its last sign of
life is over :data:`STALE_AFTER_S` old: the only test for another host's process, and the
one that catches a pid reused by another process.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from mlresearcher.store.db import Store

#: seconds between two heartbeats of a running run
HEARTBEAT_S = 30.0
#: seconds without a heartbeat after which a running run counts as interrupted: twenty
#: missed beats, so a process starved of CPU or briefly cut from the store is not misjudged
STALE_AFTER_S = 600.0


def process_owner() -> str:
    """This process as a run's owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_abandoned(run: Mapping[str, Any], now: float) -> bool:
    """Whether the process of the running run ``run`` (a ``runs`` row) is gone, at unix
    time ``now``. A row written before runs had owners has only its creation time."""
    host, _, pid = (run.get("owner") or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
        return True
    last = run.get("heartbeat_at") or run["created_at"]
    return now - last > STALE_AFTER_S


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) sends CTRL_C_EVENT there: leave it to the heartbeat
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class RunHeartbeat:
    """Refresh run ``run_id``'s heartbeat from a daemon thread, every ``interval`` seconds,
    until :meth:`stop` or until the row is no longer this process's running run (finished,
    or resumed by another process). A beat that fails (a store busy or briefly out of reach)
    is skipped: the next one may land well before the run would look stale."""

    def __init__(self, store: Store, run_id: str, interval: float = HEARTBEAT_S) -> None:
        self._store, self._run_id, self._interval = store, run_id, interval
        self._owner = process_owner()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat {run_id}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not self._store.beat_run(self._run_id, self._owner):
                    return
            except SQLAlchemyError:
                continue

    def stop(self) -> None:
        self._stop.set()


__all__ = ["HEARTBEAT_S", "STALE_AFTER_S", "RunHeartbeat", "is_abandoned", "process_owner"]
