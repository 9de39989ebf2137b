"""The command line end to end: run, predict, runs list/show, and one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLES

CLI = [sys.executable, "-m", "mlresearcher.cli"]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    r = cli(
        "run",
        EXAMPLES / "penguins.csv",
        "--target",
        "species",
        "--max-trials",
        "4",
        "--families",
        "linear,lightgbm",
        "--out",
        out,
        "--json",
    )
    assert r.returncode == 0, r.stderr
    return out, json.loads(r.stdout)


def test_run_writes_a_complete_run_directory(finished_run):
    out, summary = finished_run
    run_dir = Path(summary["run_dir"])
    assert run_dir.parent == out
    for f in (
        "model.joblib",
        "leaderboard.csv",
        "oof.parquet",
        "trials.json",
        "config.json",
        "schema.json",
        "findings.json",
        "manifest.json",
    ):
        assert (run_dir / f).exists(), f
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["seed"] == 0 and len(manifest["data_hash"]) == 64
    assert manifest["environment"]["packages"]["scikit-learn"]
    assert "--max-trials" in manifest["command"]
    from mlresearcher.store.integrity import sha256_file

    assert all(sha256_file(run_dir / f) == h for f, h in manifest["files"].items())
    assert summary["task"] == "multiclass" and summary["metric"] == "log_loss"
    assert summary["n_trials"] == 4
    assert summary["leaderboard"][0]["model"] == "ensemble"
    oof = pd.read_parquet(run_dir / "oof.parquet")
    assert len(oof) == 344 and {"proba_Adelie", "proba_Gentoo", "proba_Chinstrap"} <= set(
        oof.columns
    )


def test_runs_list_and_show(finished_run):
    out, summary = finished_run
    listed = json.loads(cli("runs", "list", "--out", out, "--json").stdout)
    assert summary["run_id"] in [r["run_id"] for r in listed]
    shown = cli("runs", "show", summary["run_id"], "--out", out, "--json")
    assert shown.returncode == 0, shown.stderr
    run = json.loads(shown.stdout)
    assert run["status"] == "finished" and len(run["trials"]) == 4
    for t in run["trials"]:
        assert t["status"] in {"complete", "pruned", "failed", "skipped"}
        assert isinstance(t["params"], dict) and t["family"] in {"linear", "lightgbm"}
        assert t["fit_time"] is not None and t["started_at"] <= t["finished_at"]
    assert any(t["status"] == "complete" and len(t["fold_scores"]) == 15 for t in run["trials"])
    table = cli("runs", "show", summary["run_id"][:15], "--out", out)
    assert table.returncode == 0 and "trials" in table.stdout


def test_predict_scores_new_data(finished_run, tmp_path):
    out, summary = finished_run
    new = pd.read_csv(EXAMPLES / "penguins.csv").drop(columns=["species"]).head(20)
    src = tmp_path / "new.jsonl"
    new.to_json(src, orient="records", lines=True)
    dst = tmp_path / "scored.parquet"
    r = cli("predict", summary["run_dir"], src, "--out", dst)
    assert r.returncode == 0, r.stderr
    scored = pd.read_parquet(dst)
    assert len(scored) == 20 and set(scored["prediction"]) <= {"Adelie", "Gentoo", "Chinstrap"}
    probs = scored[[c for c in scored.columns if c.startswith("proba_")]]
    assert probs.shape[1] == 3 and (probs.sum(axis=1) - 1).abs().max() < 1e-9
    assert list(scored.columns[: new.shape[1]]) == list(new.columns)


def test_predict_verifies_the_model_before_loading_it(finished_run, tmp_path):
    import shutil

    _, summary = finished_run
    run_dir = tmp_path / "copy"
    shutil.copytree(summary["run_dir"], run_dir)
    src = _write(tmp_path, "new.csv", pd.read_csv(EXAMPLES / "penguins.csv").head(5))
    f = run_dir / "model.joblib"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    r = cli("predict", run_dir, src)
    assert r.returncode == 2 and "model.joblib" in r.stderr and "SHA-256" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    # a folder holding only a model (no manifest to check it against) is not a run
    (run_dir / "manifest.json").unlink()
    r = cli("predict", run_dir, src)
    assert r.returncode == 2 and "no manifest.json" in r.stderr


def _write(tmp_path: Path, name: str, df: pd.DataFrame) -> Path:
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list, str]]:
    good = pd.read_csv(EXAMPLES / "penguins.csv")
    few = good.iloc[[0, 1, 2, 200, 201, 300]]
    single = good.copy()
    single.loc[0, "species"] = "Unicorn"
    constant = good.assign(species="Adelie")
    allmissing = good.assign(species=None)
    dup = tmp_path / "dup.csv"
    dup.write_text("a,b,a\n1,2,3\n4,5,6\n")
    xlsx = tmp_path / "data.xlsx"
    xlsx.write_bytes(b"PK\x03\x04junk")
    p = _write(tmp_path, "good.csv", good)
    return {
        "missing file": (["run", tmp_path / "nope.csv", "--target", "y"], "file not found"),
        "unknown format": (["run", xlsx, "--target", "y"], "unknown file format"),
        "absent target": (["run", p, "--target", "specie"], "did you mean 'species'"),
        "all-missing target": (
            ["run", _write(tmp_path, "m.csv", allmissing), "--target", "species"],
            "no values",
        ),
        "constant target": (
            ["run", _write(tmp_path, "c.csv", constant), "--target", "species"],
            "constant",
        ),
        "too few rows": (
            ["run", _write(tmp_path, "f.csv", few), "--target", "species"],
            "too few rows",
        ),
        "duplicate columns": (["run", dup, "--target", "b"], "duplicate column names"),
        "single-row class": (
            ["run", _write(tmp_path, "s.csv", single), "--target", "species"],
            "single row",
        ),
        "bad metric": (["run", p, "--target", "species", "--metric", "rmse"], "does not apply"),
        "unknown family": (
            ["run", p, "--target", "species", "--families", "linear,gbm"],
            "unknown model family",
        ),
        "bad group column": (
            ["run", p, "--target", "species", "--group", "islnd"],
            "did you mean 'island'",
        ),
        "unknown run": (["predict", tmp_path / "norun", p], "no run directory"),
        "runs show unknown": (["runs", "show", "nope", "--out", tmp_path], "no runs found"),
        "bad holdout": (["run", p, "--target", "species", "--holdout", "1.5"], "between 0 and 1"),
        "one fold": (["run", p, "--target", "species", "--folds", "1"], "at least 2"),
        "time column not a time": (
            ["run", p, "--target", "species", "--time", "island"],
            "parseable as dates",
        ),
        "bad store url": (
            ["run", p, "--target", "species", "--store", "nope://x"],
            "invalid store URL",
        ),
        "runs folder not creatable": (
            ["run", p, "--target", "species", "--out", "/proc/no/runs"],
            "cannot create",
        ),
        "negative time limit": (
            ["run", p, "--target", "species", "--time-limit", "-5"],
            "must be positive",
        ),
        "unknown portfolio": (
            ["run", p, "--target", "species", "--portfolio", "tuned"],
            "invalid choice: 'tuned'",
        ),
        "missing command": ([], "required"),
        "unknown output format": (
            ["predict", tmp_path / "norun", p, "--out", tmp_path / "x.xlsx"],
            "unknown output format",
        ),
    }


@pytest.mark.parametrize("case", list(_bad_inputs(Path("/tmp")).keys()))
def test_bad_input_is_one_line_exit_2(tmp_path, case):
    args, message = _bad_inputs(tmp_path)[case]
    in_tmp = args and args[0] == "run" and "--out" not in args
    r = cli(*args, "--out", tmp_path / "runs") if in_tmp else cli(*args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and re.match(r"mlresearcher( [a-z]+)*: error: ", lines[0]), r.stderr
    assert message in lines[0]
    assert "Traceback" not in r.stderr


def test_predict_with_missing_columns_names_them(finished_run, tmp_path):
    out, summary = finished_run
    new = pd.read_csv(EXAMPLES / "penguins.csv").drop(columns=["species", "island"]).head(5)
    r = cli("predict", summary["run_dir"], _write(tmp_path, "n.csv", new))
    assert r.returncode == 2 and "'island'" in r.stderr and "Traceback" not in r.stderr


def test_paused_gc_restores_the_collector_as_it_was():
    import gc

    from mlresearcher.cli import paused_gc

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("an import failed")
    assert gc.isenabled()
    gc.disable()  # a caller that turned it off keeps it off
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_run_imports_with_the_collector_paused_and_runs_with_it_on(tmp_path):
    # A new process, so the command really loads its libraries; the data file is missing,
    # so the run stops right after its imports, at reading the data (exit 2). By then
    # scikit-learn and pandas are loaded, the collector is on again, and it has not run
    # while they loaded (about 400 times with it left on).
    code = f"""
import gc, json, sys
collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(1))
from mlresearcher import cli
rc = cli.main(["run", {str(tmp_path / "missing.csv")!r}, "--target", "y", "--out", {str(tmp_path)!r}])
print(json.dumps({{"rc": rc, "enabled": gc.isenabled(), "collections": len(collections),
                  "loaded": all(m in sys.modules for m in ("sklearn", "pandas", "sqlalchemy"))}}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["rc"] == 2 and "missing.csv" in r.stderr
    assert seen["loaded"] and seen["enabled"]
    assert seen["collections"] < 40, seen
