"""Run one command in its own process session with a hard timeout, measuring its peak memory.

Peak memory is the largest resident set of the whole process tree: the sum of the RSS of
every process in the child's session, sampled every ``interval`` seconds, and never less
than the kernel's own high-water mark (``ru_maxrss``) of the child and the descendants it
waited for, which catches a short spike between samples. Linux only (reads ``/proc``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measured:
    returncode: int | None  # None when killed at the timeout
    wall_s: float
    peak_rss_mb: float
    timed_out: bool


def _session_rss(sid: int) -> int:
    """Bytes resident in every process whose session id is ``sid``."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
            # fields after the parenthesised command name: state ppid pgrp session ...
            fields = stat[stat.rindex(b")") + 2 :].split()
            if int(fields[3]) != sid:
                continue
            with open(f"/proc/{entry.name}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return total


def _kill_session(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_measured(
    cmd: list[str],
    *,
    timeout: float,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    interval: float = 0.2,
) -> Measured:
    """Run ``cmd`` (stdout and stderr to ``log``); kill its whole session after ``timeout`` s."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )
    peak = 0
    timed_out = False
    status = None
    maxrss_kb = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            maxrss_kb = usage.ru_maxrss
            break
        peak = max(peak, _session_rss(proc.pid))
        if time.perf_counter() - t0 > timeout:
            timed_out = True
            _kill_session(proc.pid)
            _, status, usage = os.wait4(proc.pid, 0)
            maxrss_kb = usage.ru_maxrss
            break
        time.sleep(interval)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    _kill_session(proc.pid)  # stragglers that outlived the child
    return Measured(
        returncode=None if timed_out else proc.returncode,
        wall_s=wall,
        peak_rss_mb=max(peak, maxrss_kb * 1024) / 2**20,
        timed_out=timed_out,
    )
