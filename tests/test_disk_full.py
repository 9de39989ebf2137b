"""A full disk (``ENOSPC``) at the worst moments: every file is its old self or wholly new,
the error is one line with exit code 2, and no finished work is lost.

The file system's refusal is injected where a real one reports it on a delayed-allocation
or network file system: when the written file is flushed (``fsync``)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from conftest import EXAMPLES

from mlresearcher import cli
from mlresearcher.store import atomic
from mlresearcher.store.db import Store, default_store_url
from mlresearcher.store.integrity import verify_run

FAST = ["--max-trials", "4", "--families", "linear,lightgbm", "--quiet"]


@pytest.fixture
def disk_full_on(monkeypatch):
    """``disk_full_on("model.joblib")``: writing a file of that name fails with ENOSPC."""
    real = atomic._fsync_file

    def arm(name: str) -> None:
        def fsync(path: Path) -> None:
            if path.name.startswith(f".{name}."):
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            real(path)

        monkeypatch.setattr(atomic, "_fsync_file", fsync)

    yield arm
    monkeypatch.setattr(atomic, "_fsync_file", real)


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if atomic.is_temporary(p.name)]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, disk_full_on):
    f = tmp_path / "summary.json"
    atomic.write_text(f, "old")
    disk_full_on("summary.json")
    with pytest.raises(OSError) as e:
        atomic.write_text(f, "new " * 1000)
    assert e.value.errno == errno.ENOSPC
    assert f.read_text() == "old" and _temporaries(tmp_path) == []


def test_a_run_that_cannot_save_is_failed_in_one_line_and_resume_finishes_it(
    tmp_path, capsys, disk_full_on
):
    out = tmp_path / "runs"
    data = EXAMPLES / "penguins.csv"
    assert cli.main(["run", str(data), "--target", "species", "--out", str(out), *FAST]) == 0
    store = Store(default_store_url(out))
    first = store.list_runs()[0]
    capsys.readouterr()

    disk_full_on("model.joblib")
    rc = cli.main(["run", str(data), "--target", "species", "--out", str(out), *FAST])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "No space left on device" in err and "mlresearcher resume" in err
    failed = next(r for r in store.list_runs() if r["run_id"] != first["run_id"])
    assert failed["status"] == "failed"
    run_dir = Path(failed["run_dir"])
    assert not (run_dir / "model.joblib").exists() and not (run_dir / "manifest.json").exists()
    assert _temporaries(run_dir) == []
    complete = [t for t in store.trials(failed["run_id"]) if t["status"] == "complete"]
    assert complete and all(
        (run_dir / "trials" / f"{t['number']}.joblib").exists() for t in complete
    )
    # the half-written folder is never used as a model
    rc = cli.main(["predict", str(run_dir), str(data), "--out", str(tmp_path / "p.csv")])
    assert rc == 2 and "is not a finished run" in capsys.readouterr().err

    disk_full_on("no-such-file")  # space is free again
    assert cli.main(["resume", failed["run_id"], "--out", str(out), "--quiet", "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert store.get_run(failed["run_id"])["status"] == "finished"
    assert resumed["n_trials"] >= len(complete)
    verify_run(run_dir)
    verify_run(Path(first["run_dir"]))  # the earlier run was never touched
    store.close()


def test_study_outputs_survive_a_full_disk(tmp_path, capsys, disk_full_on):
    from mlresearcher.study.report import write_outputs

    cells = [
        {
            "method": m,
            "dataset": d,
            "seed": s,
            "status": "complete",
            "metric": "accuracy",
            "greater_is_better": True,
            "score": 0.5 + 0.1 * i + 0.01 * s + 0.02 * j,
            "fit_time": 0.1,
        }
        for i, m in enumerate(["a", "b", "c"])
        for j, d in enumerate(["d1", "d2", "d3"])
        for s in range(2)
    ]
    out = tmp_path / "study"
    write_outputs(out, "s", cells, ["a", "b", "c"], 0.05)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    cells[0]["score"] = 0.99
    disk_full_on("report.html")
    with pytest.raises(OSError):
        write_outputs(out, "s", cells, ["a", "b", "c"], 0.05)
    assert (out / "report.html").read_bytes() == before["report.html"]
    assert _temporaries(out) == []
