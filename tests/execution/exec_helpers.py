"""Shared pieces of the execution tests: a small real problem, free ports, process cleanup."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import load_dataset

from mlresearcher.data.protocol import make_protocol
from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
from mlresearcher.data.task import encode_target
from mlresearcher.execution.trial import TrialData
from mlresearcher.models._estimator import common_params
from mlresearcher.models.base import FitContext
from mlresearcher.models.linear import LinearFamily, LinearModel

MLRESEARCHER = [sys.executable, "-m", "mlresearcher.cli"]


def small_problem(n: int = 400, folds: int = 3):
    """credit_scoring subsample: prepared features, target, schema, protocol."""
    df, _ = load_dataset("credit_scoring", n=n)
    y = df.pop("Status")
    target, _ = encode_target(y, "Status")
    infos, _ = infer_roles(df)
    schema = build_schema(df, infos)
    protocol = make_protocol(target.y, target.task, folds=folds, repeats=1)
    return prepare_features(df, schema), target, schema, protocol


def trial_data(n: int = 400) -> TrialData:
    X, target, schema, protocol = small_problem(n)
    k = protocol.n_splits
    return TrialData(
        X=X,
        y=target.y,
        folds=list(protocol.folds),
        fold_repeat=[i // k if protocol.n_repeats > 1 else 0 for i in range(protocol.n_folds)],
        n_repeats=protocol.n_repeats,
        metric_name="roc_auc",
        ctx=FitContext(
            task=target.task, n_classes=target.n_classes, schema=schema, n_rows=len(X), n_jobs=1
        ),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_csv(tmp: Path, n: int = 600, name: str = "credit_scoring") -> Path:
    df, entry = load_dataset(name, n=n)
    path = tmp / f"{name}.csv"
    df.to_csv(path, index=False)
    return path


def start(cmd: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    """A child process in its own session (so the whole group can be killed)."""
    return subprocess.Popen(
        cmd,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )


def stop(*procs: subprocess.Popen) -> None:
    """Kill each process group and reap it (bounded)."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class WorkerKillerFamily(LinearFamily):
    """A family whose every fit kills the process it runs in (a worker lost mid-trial)."""

    name = "worker_killer"

    def build(self, params: dict, ctx: FitContext) -> LinearModel:
        return _KillerModel(**common_params(ctx), **params)


class _KillerModel(LinearModel):
    def _fit_learner(self, Xt, y, n_out) -> None:
        os.kill(os.getpid(), signal.SIGKILL)
