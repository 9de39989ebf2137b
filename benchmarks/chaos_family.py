"""A model family that misbehaves on purpose, for ``benchmarks/chaos.py``.

It is the linear family with one more parameter, ``fault``, applied when a fold is fitted:

``none``    fits normally (a healthy trial)
``crash``   raises an exception
``hang``    sleeps for an hour (the executor's timeout or the run's deadline must end it)
``memory``  allocates memory in 256 MB blocks up to ``CHAOS_MEMORY_MB`` (default 3,000);
            under a memory cap that raises MemoryError, and without one the process is
            then killed, as the kernel's out-of-memory killer would kill it
``kill``    kills its own process with SIGKILL (the worker dies mid-trial)

The faults to inject come from the environment, ``CHAOS_FAULTS=crash,hang,...``: the family's
first configurations are one trial per fault, then healthy ones; its search space samples
only healthy configurations. Used as ``--families linear,chaos_family:ChaosFamily`` with
this folder on ``PYTHONPATH`` (so that every worker can import it).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from mlresearcher.models._estimator import common_params
from mlresearcher.models.base import FitContext
from mlresearcher.models.linear import LinearFamily, LinearModel

FAULTS = ("crash", "hang", "memory", "kill")


class ChaosModel(LinearModel):
    def __init__(self, *, fault: str = "none", **kwargs: Any):
        super().__init__(**kwargs)
        self.fault = fault

    def _fit_learner(self, Xt: Any, y: Any, n_out: int) -> None:
        inject(self.fault)
        super()._fit_learner(Xt, y, n_out)


def inject(fault: str) -> None:
    if fault == "crash":
        raise RuntimeError("chaos: this trial crashes")
    if fault == "hang":
        time.sleep(3600)
    if fault == "memory":
        blocks = []
        for _ in range(int(os.environ.get("CHAOS_MEMORY_MB", "3000")) // 256):
            blocks.append(bytearray(256 << 20))  # MemoryError under a cap
        os.kill(os.getpid(), signal.SIGKILL)  # what the out-of-memory killer would do
    if fault == "kill":
        os.kill(os.getpid(), signal.SIGKILL)


class ChaosFamily(LinearFamily):
    name = "chaos"

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        faults = [f for f in os.environ.get("CHAOS_FAULTS", "").split(",") if f]
        healthy = super().default_configs(ctx)
        return [{**healthy[0], "fault": f} for f in faults] + [
            {**c, "fault": "none"} for c in healthy
        ]

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        return {**super().search_space(trial, ctx), "fault": "none"}

    def build(self, params: dict[str, Any], ctx: FitContext) -> ChaosModel:
        return ChaosModel(**common_params(ctx), **params)
