"""The AutoML benchmark harness (benchmarks/automl): splits, process measurement, scoring,
the report's statistics, and a small end-to-end run with real systems."""

from __future__ import annotations

import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATASETS, load_dataset
from sklearn.metrics import log_loss

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "automl"
sys.path.insert(0, str(BENCH))

import measure  # noqa: E402
import report  # noqa: E402
import run as bench_run  # noqa: E402
import scoring  # noqa: E402
import tasks as bench_tasks  # noqa: E402


@pytest.fixture
def small_suite(tmp_path: Path) -> Path:
    """A two-task manifest over small samples of real dev datasets."""
    folder = tmp_path / "datasets"
    folder.mkdir()
    entries = []
    # credit_scoring above 2,500 rows: mlresearcher then uses plain 5-fold (not 3 x 5),
    # so its first trial finishes early even on a busy machine
    for name, n in (("credit_scoring", 2600), ("school_math_achievement", 500)):
        df, entry = load_dataset(name, n)
        df.to_parquet(folder / entry["file"], index=False)
        entries.append({**entry, "n_rows": len(df)})
    (folder / "manifest.json").write_text(json.dumps(entries))
    return folder


def test_split_is_stratified_saved_once_and_reused(small_suite: Path, tmp_path: Path) -> None:
    task = bench_tasks.select_tasks(bench_tasks.load_tasks(small_suite), "credit_scoring")[0]
    out = tmp_path / "out"
    train_path, test_path = bench_tasks.ensure_split(out, task, 0)
    import pandas as pd

    train, test = pd.read_parquet(train_path), pd.read_parquet(test_path)
    assert (len(train), len(test)) == (2080, 520)
    # stratified: the test share of each class matches the whole within one row
    whole = pd.concat([train, test])[task.target].value_counts()
    for cls, count in whole.items():
        assert abs((test[task.target] == cls).sum() - count * 0.2) <= 1
    mtime = test_path.stat().st_mtime_ns
    assert bench_tasks.ensure_split(out, task, 0) == (train_path, test_path)
    assert test_path.stat().st_mtime_ns == mtime  # reused, not re-drawn
    _, other = bench_tasks.ensure_split(out, task, 1)
    assert not pd.read_parquet(other).equals(test)


def test_task_selection(small_suite: Path) -> None:
    all_tasks = bench_tasks.load_tasks(small_suite)
    assert [t.name for t in bench_tasks.select_tasks(all_tasks, None)] == [
        "credit_scoring",
        "school_math_achievement",
    ]
    manifest = bench_tasks.load_tasks(DATASETS)
    largest = bench_tasks.select_tasks(manifest, "largest:2")
    assert [t.name for t in largest] == ["diamond_price", "police_stop_search"]
    with pytest.raises(SystemExit, match="unknown task"):
        bench_tasks.select_tasks(all_tasks, "credit_scoring,nope")


def test_measure_sees_the_whole_process_tree(tmp_path: Path) -> None:
    # the child starts a grandchild that holds 200 MB; the child itself stays small
    code = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        "\"import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); "
        'time.sleep(1.5)"])'
    )
    m = measure.run_measured([sys.executable, "-c", code], timeout=60, log=tmp_path / "a.log")
    assert m.returncode == 0 and not m.timed_out
    assert m.peak_rss_mb >= 200


def test_measure_kills_the_tree_at_the_timeout(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(60)']); "
        f"open({str(pidfile)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    t0 = time.perf_counter()
    m = measure.run_measured([sys.executable, "-c", code], timeout=2, log=tmp_path / "b.log")
    assert m.timed_out and m.returncode is None
    assert time.perf_counter() - t0 < 10
    grandchild = int(pidfile.read_text())
    time.sleep(0.2)
    stat = Path(f"/proc/{grandchild}/stat")
    assert not stat.exists() or stat.read_text().split(") ")[1][0] == "Z"


def test_scoring_matches_class_order_and_positive_class() -> None:
    y = np.array(["b", "a", "c", "a"])
    proba_acb = np.array([[0.1, 0.1, 0.8], [0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.5, 0.25, 0.25]])
    got = scoring.score("log_loss", y, proba_acb, classes=["a", "c", "b"])
    want = log_loss(y, proba_acb[:, [0, 2, 1]], labels=["a", "b", "c"])
    assert got == pytest.approx(want)
    # integer labels read back as floats still match the manifest's positive class 1
    y01 = np.array([0.0, 1.0, 1.0, 0.0])
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    assert scoring.score("roc_auc", y01, p, classes=[0, 1], positive_class=1) == 0.75
    assert scoring.score("roc_auc", y01, p, classes=[0, 1], positive_class=0) == 0.75
    assert scoring.score("rmse", np.array([1.0, 3.0]), np.array([2.0, 2.0])) == 1.0


def _row(task: str, system: str, score: float | None, greater: bool, **kw) -> dict:
    status = "ok" if score is not None else "failed"
    return {
        "task": task,
        "system": system,
        "budget": 60.0,
        "split_seed": kw.pop("split_seed", 0),
        "seed": 0,
        "metric": "roc_auc" if greater else "rmse",
        "greater_is_better": greater,
        "status": status,
        "score": score,
        "fit_s": 61.0,
        "predict_s": 0.1,
        "latency_ms": kw.pop("latency_ms", 5.0),
        "peak_rss_mb": 300.0,
        "process_wall_s": 63.0,
        "started": "2026-11-28T23:00:00+00:00",
        **kw,
    }


def test_report_ranks_normalizes_and_counts_direction_aware() -> None:
    rows = [
        # AUC: higher is better
        _row("t1", "mlresearcher", 0.90, True),
        _row("t1", "lightgbm", 0.80, True),
        _row("t1", "autogluon_best", 0.85, True),
        # RMSE: lower is better; 10.005 vs 10.0 is within the 0.1 % tie tolerance
        _row("t2", "mlresearcher", 10.005, False),
        _row("t2", "lightgbm", 12.0, False),
        _row("t2", "autogluon_best", 10.0, False),
        # a failure ranks last and loses head to head
        _row("t3", "mlresearcher", None, False),
        _row("t3", "lightgbm", 5.0, False),
        _row("t3", "autogluon_best", 4.0, False),
    ]
    cells = report._cells(rows, 60.0, 0)
    t2 = {s: cells[("t2", s)] for s in ("mlresearcher", "lightgbm", "autogluon_best")}
    assert report.ranks(t2) == {"autogluon_best": 1, "mlresearcher": 2, "lightgbm": 3}
    norm = report.normalized(t2)
    assert norm["autogluon_best"] == 1 and norm["lightgbm"] == 0
    assert norm["mlresearcher"] == pytest.approx((12.0 - 10.005) / 2.0)
    t3 = {s: cells[("t3", s)] for s in ("mlresearcher", "lightgbm", "autogluon_best")}
    assert report.ranks(t3)["mlresearcher"] == 3 and report.normalized(t3)["mlresearcher"] == 0
    assert report.head_to_head(t2["mlresearcher"], t2["autogluon_best"]) == "T"
    assert report.head_to_head(t2["mlresearcher"], t2["lightgbm"]) == "W"
    assert report.head_to_head(t3["mlresearcher"], t3["lightgbm"]) == "L"

    text = report.render(rows)
    # mean ranks: mlresearcher (1 + 2 + 3) / 3 = 2.00, autogluon_best (2 + 1 + 1) / 3 = 1.33
    assert "| autogluon_best | 1.33 |" in text and "| mlresearcher | 2.00 |" in text
    assert "| lightgbm | 2 | 0 | 1 | 67% |" in text  # W/T/L against LightGBM
    assert "| autogluon_best | 1 | 1 | 1 | 33% |" in text
    assert "Worst: +1.7%" in text  # 61 s fit on a 60 s budget


def test_report_gives_each_project_system_its_own_head_to_head() -> None:
    rows = [
        _row("t1", "mlresearcher", 0.80, True, latency_ms=2.0),
        _row("t1", "mlresearcher_bagged", 0.90, True, latency_ms=8.0),
        _row("t1", "autogluon_best", 0.85, True, latency_ms=40.0),
    ]
    text = report.render(rows)
    assert "Head to head, mlresearcher against each peer" in text
    assert "Head to head, mlresearcher_bagged against each peer" in text
    # the project's systems are not each other's peers: one peer row per table
    assert text.count("| autogluon_best | 0 | 0 | 1 | 0% |") == 1
    assert text.count("| autogluon_best | 1 | 0 | 0 | 100% |") == 1
    assert "| mlresearcher_bagged | 0 | 0 | 1 |" not in text
    assert "| t1 | 0.050 |" in text and "| t1 | 0.200 |" in text  # latency ratios
    assert "mlresearcher_bagged" not in bench_run.DEFAULT_SYSTEMS
    assert "mlresearcher_refit" not in bench_run.DEFAULT_SYSTEMS
    # one mean-rank table per project system, ranked with the other left out: each of
    # ours is ranked against the peer alone, so neither pushes the other down
    assert "Mean rank (1 = best) and mean normalized score (1 = best), mlresearcher with" in text
    assert "normalized score (1 = best), mlresearcher_bagged with" in text
    assert (
        text.count("| mlresearcher | 2.00 |") == 1
        and text.count("| mlresearcher_bagged | 1.00 |") == 1
    )


def test_report_ranks_a_single_project_system_with_every_peer() -> None:
    rows = [
        _row("t1", "mlresearcher_refit", 0.80, True),
        _row("t1", "autogluon_best", 0.85, True),
        _row("t1", "lightgbm", 0.70, True),
    ]
    text = report.render(rows)
    assert "Mean rank (1 = best) and mean normalized score (1 = best):" in text
    assert "| mlresearcher_refit | 2.00 |" in text
    assert "Head to head, mlresearcher_refit against each peer" in text


def test_worker_records_the_project_version_for_each_project_system() -> None:
    import systems
    import worker

    for name in systems.PROJECT_SYSTEMS:
        assert worker._versions(name)["mlresearcher"]  # a KeyError here lost whole runs


def test_report_split_noise_flags_losses_beyond_noise() -> None:
    rows = [
        _row("t1", "mlresearcher", 0.80, True),
        _row("t1", "lightgbm", 0.81, True),
        _row("t1", "mlresearcher", 0.82, True, split_seed=1),
        _row("t1", "lightgbm", 0.83, True, split_seed=1),  # noise 0.02 > loss 0.01
        _row("t2", "mlresearcher", 0.70, True),
        _row("t2", "lightgbm", 0.75, True),
        _row("t2", "mlresearcher", 0.70, True, split_seed=1),
        _row("t2", "lightgbm", 0.76, True, split_seed=1),  # noise 0.01 < loss 0.05
    ]
    text = report.render(rows)
    assert "loses beyond the noise on split 0: 1." in text
    assert "| t1 | -0.01 | -0.01 | 0.02 | 0.02 | no |" in text
    assert "| t2 | -0.05 | -0.06 | 0.01 | 0 | yes |" in text
    # each project system on split 0 gets its own noise table
    bagged = [dict(r, system="mlresearcher_bagged") for r in rows if r["system"] == "mlresearcher"]
    text = report.render(rows + bagged)
    assert "## Split-to-split noise, mlresearcher against LightGBM" in text
    assert "## Split-to-split noise, mlresearcher_bagged against LightGBM" in text


def test_end_to_end_run_is_resumable_and_records_failures(
    small_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a relative --out, as in the README: the workers run in other folders
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    common = ["--datasets", str(small_suite), "--out", "out"]
    # the project's environment stands in for the peers' one: it has LightGBM and
    # scikit-learn but not FLAML, so FLAML fails, and the failure is a recorded row
    common += ["--peers-python", sys.executable]
    peers = ["--budget", "10", "--systems", "lightgbm,hist_gb,flaml"]
    assert bench_run.main(peers + common) == 0
    ours = ["--budget", "10", "--systems", "mlresearcher", "--tasks", "credit_scoring"]
    assert bench_run.main(ours + ["--keep-models", "--audit"] + common) == 0
    rows = bench_run.load_results(out / "results.jsonl")
    assert len(rows) == 7
    by = {(r["task"], r["system"]): r for r in rows}
    for task in ("credit_scoring", "school_math_achievement"):
        for system in ("mlresearcher", "lightgbm", "hist_gb"):
            r = by.get((task, system))
            if r is None:
                continue
            assert r["status"] == "ok", r["error"]
            assert r["n_test"] + r["n_train"] == {"credit_scoring": 2600}.get(task, 500)
            assert r["fit_s"] < r["process_wall_s"]
            assert r["fit_s"] > 0 and r["predict_s"] > 0 and r["latency_ms"] > 0
            assert r["peak_rss_mb"] > 50
        assert by[(task, "flaml")]["status"] == "failed"
        assert "flaml" in by[(task, "flaml")]["error"]
    assert 0.5 < by[("credit_scoring", "mlresearcher")]["score"] <= 1
    # --audit: every trial with its CV score; the kept ones with their test score too
    trials = by[("credit_scoring", "mlresearcher")]["audit"]
    assert trials and all({"name", "family", "cv", "test"} <= set(t) for t in trials)
    scored = [t for t in trials if t["test"] is not None]
    assert scored and all(0.5 < t["test"] <= 1 and 0.5 < t["cv"] <= 1 for t in scored)
    assert "audit" not in by[("credit_scoring", "lightgbm")]
    # --keep-models: the fitted model, pickled after the measurements, for latency.py
    kept = out / "models" / "credit_scoring.mlresearcher.b10.s0.r0.pkl"
    with open(kept, "rb") as f:
        model = pickle.load(f)
    test = pd.read_parquet(out / "splits" / "seed0" / "credit_scoring" / "test.parquet")
    manifest = json.loads((small_suite / "manifest.json").read_text())
    target = next(e["target"] for e in manifest if e["name"] == "credit_scoring")
    X_test = test.drop(columns=[target])
    assert model.predict_proba(X_test.head(3)).shape == (3, 2)
    assert not (out / "models" / "credit_scoring.lightgbm.b10.s0.r0.pkl").exists()
    assert by[("school_math_achievement", "lightgbm")]["score"] > 0  # an RMSE

    # resumable: a rerun adds nothing; a hard timeout is recorded, not fatal
    assert bench_run.main(peers + common) == 0
    assert len(bench_run.load_results(out / "results.jsonl")) == 7
    # killed at 0.7 s, before the worker has even imported its libraries (which takes
    # more than a second): a run that ended by itself near the limit would test nothing
    timeout_args = ["--budget", "0.5", "--margin", "0.2", "--systems", "mlresearcher"]
    assert bench_run.main(timeout_args + ["--tasks", "credit_scoring"] + common) == 0
    last = bench_run.load_results(out / "results.jsonl")[-1]
    assert (last["budget"], last["status"]) == (0.5, "timeout")
    text = (out / "report.md").read_text()
    assert (
        "## Budget 10 s" in text
        and "Head to head" in text
        and "| flaml | 1 | 0 | 0 | 100% |" in text
    )
    assert os.path.exists(out / "splits" / "seed0" / "credit_scoring" / "test.parquet")


def test_latency_refuses_a_missing_model_instead_of_fitting_one(tmp_path: Path) -> None:
    import subprocess

    missing = tmp_path / "typo.pkl"
    done = subprocess.run(
        [sys.executable, str(BENCH / "latency.py"), "--task", "credit_scoring"]
        + ["--model", str(missing), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "no such file" in done.stderr and "Traceback" not in done.stderr
    assert not missing.exists() and not (tmp_path / "out").exists()


def test_first_trial_names_an_unknown_task_instead_of_timing_nothing(
    small_suite: Path, tmp_path: Path
) -> None:
    import subprocess

    out = tmp_path / "ft.jsonl"
    done = subprocess.run(
        [sys.executable, str(BENCH / "first_trial.py"), "--datasets", str(small_suite)]
        + ["--tasks", "credit_scoring,typo_task", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown task typo_task" in lines[0]
    assert "credit_scoring" in lines[0]  # the names it knows
    assert not out.exists() and done.stdout == ""  # nothing timed, nothing written


def test_forest_leaves_scores_every_setting_and_rejects_bad_input(tmp_path, capsys) -> None:
    import forest_leaves

    from mlresearcher.models.forests import LEAF_BUDGET

    df = pd.read_parquet(DATASETS / "restaurant_inspection_score.parquet").iloc[:300]
    folder = tmp_path / "seed0" / "restaurant_inspection_score"
    folder.mkdir(parents=True)
    df.iloc[:240].to_parquet(folder / "train.parquet")
    df.iloc[240:].to_parquet(folder / "test.parquet")
    args = ["--splits", str(tmp_path / "seed0"), "--datasets", str(DATASETS), "--trees", "4"]
    assert forest_leaves.main(args) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 12  # header, 2 groupings x 3 leaf caps x 2 max_features
    assert sum(f"| {LEAF_BUDGET // 4} |" in r for r in rows) == 4
    assert all(float(r.split("|")[4]) > 0 for r in rows[1:])

    assert forest_leaves.main([*args, "--kind", "extra_trees"]) == 0
    et_rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]

    def scores(table: list[str]) -> list[str]:
        return [r.split("|")[4] for r in table[1:]]

    assert len(et_rows) == 13 and scores(et_rows) != scores(rows)  # other trees, other scores

    assert forest_leaves.main([*args[:4], "--trees", "0"]) == 2
    assert forest_leaves.main([*args, "--task", "police_stop_search"]) == 2
    assert forest_leaves.main(["--splits", str(tmp_path / "none"), *args[2:]]) == 2
    assert forest_leaves.main(["--splits", "x", "--datasets", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--trees must be at least 1" in err and "not a regression task" in err
    assert "no saved split" in err and "no manifest.json" in err
