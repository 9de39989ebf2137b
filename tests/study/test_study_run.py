"""A study end to end: cells stored as they finish, resume after a kill, outputs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import DATASETS

SPEC = f"""
name: mini
seeds: [0, 1, 2]
max_rows: 400
datasets:
  manifest: {DATASETS / "manifest.json"}
  include: [penguins_species, election_vote, school_math_achievement]
methods:
  - {{name: lin, family: linear}}
  - {{name: tree, estimator: {{classification: sklearn.tree.DecisionTreeClassifier,
                              regression: sklearn.tree.DecisionTreeRegressor}},
     params: {{max_depth: 4}}}}
  - {{name: knn, family: knn, params: {{n_neighbors: 10}}}}
"""
N_CELLS = 3 * 3 * 3


def _study(spec: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mlresearcher.cli", "study", str(spec), "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stored(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as c:
            return c.execute(
                "select method, dataset, seed, status, finished_at from study_cells"
            ).fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("study")
    spec = tmp / "study.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    out = tmp / "out"
    db = out / "mlresearcher.db"
    p = _study(spec, out)
    deadline = time.monotonic() + 120
    while len(_stored(db)) < 4 and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.2)
    p.send_signal(signal.SIGKILL)  # no chance to clean up: the hardest interruption
    p.wait()
    before = _stored(db)
    assert 4 <= len(before) < N_CELLS, "the study must be killed part-way through"
    r = _study(spec, out)
    stdout, stderr = r.communicate(timeout=300)
    assert r.returncode == 0, stderr
    return {
        "out": out,
        "db": db,
        "before": before,
        "after": _stored(db),
        "stdout": stdout,
        "stderr": stderr,
    }


def test_resume_runs_each_missing_cell_once_and_keeps_the_finished_ones(finished):
    before, after = finished["before"], finished["after"]
    keys = [r[:3] for r in after]
    assert len(keys) == N_CELLS == len(set(keys))
    assert all(r[3] == "complete" for r in after)
    old = {r[:3]: r[4] for r in before}
    for r in after:
        if r[:3] in old:
            assert r[4] == old[r[:3]]  # not run again: same finish time
    assert f"{len(before)} already stored, {N_CELLS - len(before)} to run" in finished["stderr"]


def test_outputs_tables_statistics_and_report(finished):
    d = finished["out"] / "mini"
    for name in (
        "results.csv",
        "summary.csv",
        "tables.md",
        "tables.tex",
        "statistics.json",
        "win_tie_loss.csv",
        "cd_diagram.svg",
        "report.html",
    ):
        assert (d / name).stat().st_size > 0, name
    st = json.loads((d / "statistics.json").read_text())
    assert st["n_datasets"] == 3 and set(st["average_ranks"]) == {"lin", "tree", "knn"}
    assert 0 <= st["friedman"]["p_value"] <= 1 and st["critical_difference"] > 0
    md = (d / "tables.md").read_text()
    assert "**log_loss**" in md and "**rmse**" in md and "average rank" in md
    assert md.count("**") >= 2 * (3 + 2)  # headers and one bold best per dataset
    html = (d / "report.html").read_text()
    assert "<svg" in html and "Friedman" in html and "Win / tie / loss" in html
    assert "average ranks" in finished["stdout"]


def test_a_second_run_does_nothing_and_report_only_rebuilds(finished):
    spec = finished["out"].parent / "study.yaml"
    r = _study(spec, finished["out"], "--report-only")
    stdout, stderr = r.communicate(timeout=120)
    assert r.returncode == 0, stderr
    assert _stored(finished["db"]) == finished["after"]


def test_study_store_works_on_postgresql():
    pytest.importorskip("psycopg2")
    from sqlalchemy.exc import OperationalError

    from mlresearcher.store.db import Store
    from mlresearcher.study.cell import CellResult
    from mlresearcher.study.store import StudyStore

    try:
        store = StudyStore(Store("postgresql+psycopg2://postgres@127.0.0.1:5432/test"))
    except (OperationalError, Exception) as e:  # noqa: BLE001
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is part of the test environment: {e}")
    name = f"pg-{os.getpid()}-{time.time_ns()}"
    store.begin_study(name, {"name": name})
    store.record_cell(CellResult(name, "m", "d", 0, "complete", "rmse", False, 1.5))
    store.record_cell(CellResult(name, "m", "d", 0, "complete", "rmse", False, 1.25))
    cells = store.cells(name)
    assert len(cells) == 1 and cells[0]["score"] == 1.25


def test_cells_ship_to_another_executor(tmp_path):
    """Cells are picklable and run_cell is a plain function: a process pool can run them."""
    import pickle
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import yaml

    from mlresearcher.store.db import Store
    from mlresearcher.study.cell import run_cell
    from mlresearcher.study.runner import make_cells, run_study
    from mlresearcher.study.spec import parse_spec
    from mlresearcher.study.store import StudyStore

    raw = yaml.safe_load(textwrap.dedent(SPEC))
    raw.update(name="pool", seeds=[0])
    raw["datasets"]["include"] = ["penguins_species"]
    spec = parse_spec(raw, tmp_path)
    cells = make_cells(spec)
    assert pickle.loads(pickle.dumps(cells[0])) == cells[0]

    def pool(cells):
        with ProcessPoolExecutor(2) as ex:
            for f in as_completed([ex.submit(run_cell, c) for c in cells]):
                yield f.result()

    store = StudyStore(Store(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    prog = run_study(spec, store, executor=pool)
    assert prog.ran == 3 and prog.failed == 0
    assert {c["method"] for c in store.cells("pool")} == {"lin", "tree", "knn"}
