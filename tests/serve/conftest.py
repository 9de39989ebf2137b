"""Tiny finished runs shared by the serving, drift and export tests (trained once each)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import load_dataset

CLI = [sys.executable, "-m", "mlresearcher.cli"]


def train(df: pd.DataFrame, target: str, out: Path, families: str, max_trials: int) -> Path:
    """A finished run directory from the engine (3-fold, a few trials, seed 0)."""
    from mlresearcher.engine import RunConfig, run

    config = RunConfig(
        time_limit=None,
        max_trials=max_trials,
        families=families.split(","),
        folds=3,
        repeats=1,
        n_jobs=1,
        # each named family's own default first, in turn: the runs hold the families named
        portfolio="families",
    )
    rr = run(df.drop(columns=[target]), df[target], config, out_dir=out)
    assert rr.run_dir is not None
    return rr.run_dir


def cli(
    *args: object, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def run_cli(capsys: pytest.CaptureFixture, *args: object) -> tuple[int, str, str]:
    """``mlresearcher ARGS`` in this process: exit code, stdout, stderr (no start-up cost)."""
    from mlresearcher.cli import main

    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse usage errors
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="session")
def credit_split() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Two disjoint random samples of the credit data: training rows and fresh rows."""
    df, entry = load_dataset("credit_scoring")
    df = df.sample(frac=1.0, random_state=1).reset_index(drop=True)
    return df.iloc[:1500].reset_index(drop=True), df.iloc[1500:3000].reset_index(drop=True), entry


@pytest.fixture(scope="session")
def credit_run(credit_split, tmp_path_factory) -> Path:
    """Binary classification; boosters and a linear model (all on the compiled path)."""
    train_df, _, entry = credit_split
    out = tmp_path_factory.mktemp("serve_runs")
    return train(train_df, entry["target"], out, "lightgbm,xgboost,hist_gb,linear", 4)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``mlresearcher serve`` in a subprocess on a free loopback port."""

    def __init__(self, run_dir: Path, *args: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [*CLI, "serve", str(run_dir), "--port", str(self.port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )

    def wait_ready(self, timeout: float = 120) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read()}")
            try:
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError("server not ready")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.stdout.read() if self.proc.stdout else ""
