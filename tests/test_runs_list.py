"""``runs list`` fits the terminal: no line past its width, no cell over two lines."""

from __future__ import annotations

import json

import pytest
from rich.cells import cell_len

from mlresearcher.cli import main
from mlresearcher.store.db import Store, default_store_url

# two runs started in the same second: only the random part of the id tells them apart
RUNS = [
    ("20260115-093012-a1b2c3", "finished", "two_year_recid_within_the_followup", "roc_auc", 0.71234, "ensemble", 40),
    ("20260115-093012-a1f00d", "failed", "species", "log_loss", None, None, 3),
    ("20260115-101544-0c0ffe", "interrupted", "price", "rmse", -1234.5678, "lightgbm#12", 17),
    ("20260114-230001-777777", "finished", "log_volume", "balanced_accuracy", 0.912345, "catboost#3", 120),
    ("20260113-080000-123abc", "running", "Status", "roc_auc", None, None, None),
]  # fmt: skip


@pytest.fixture
def store_dir(tmp_path):
    store = Store(default_store_url(tmp_path))
    for i, (run_id, status, target, metric, best, model, trials) in enumerate(RUNS):
        store.create_run(run_id, target=target, task="binary", metric=metric)
        fields = {"best_score": best, "best_model": model, "n_trials": trials}
        if status == "running":
            store.update_run(run_id, **fields)
        else:
            store.finish_run(run_id, status=status, **fields)
        store.update_run(run_id, created_at=1_768_000_000.0 - 3600 * i)  # newest first
    store.close()
    return tmp_path


def _listed(capsys, monkeypatch, store_dir, width: int) -> list[str]:
    monkeypatch.setenv("COLUMNS", str(width))
    capsys.readouterr()
    assert main(["runs", "list", "--out", str(store_dir)]) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("width", [60, 80, 120])
def test_every_run_on_one_line_within_the_width(capsys, monkeypatch, store_dir, width):
    lines = _listed(capsys, monkeypatch, store_dir, width)
    assert all(cell_len(line) <= width for line in lines), lines
    header = next(i for i, line in enumerate(lines) if line.startswith("run id"))
    table = [line for line in lines[header + 2 :] if line.strip()]
    assert len(table) == len(RUNS), lines  # one line per run: no cell wrapped
    for line, (run_id, status, _, _, best, _, _) in zip(table, RUNS, strict=True):
        shown = line.split()[0]
        assert run_id.startswith(shown) and len(shown) >= len("20260115-093012-a1")
        assert f" {status} " in f" {line} "  # the status in full
        assert (f"{best:.5g}" if best is not None else "-") in line.split()  # the score too
    for name in ("status", "target", "best"):
        assert name in lines[header].split()


def test_columns_of_least_use_give_way_first(capsys, monkeypatch, store_dir):
    wide = _listed(capsys, monkeypatch, store_dir, 160)
    assert wide[1].split() == [
        "run", "id", "status", "created", "target", "metric", "best", "model", "trials",
    ]  # fmt: skip
    assert RUNS[0][0] in wide[3] and RUNS[0][2] in wide[3]  # the full id and target
    narrow = _listed(capsys, monkeypatch, store_dir, 80)
    first = next(line for line in narrow if line.startswith(RUNS[0][0][:15])).split()
    assert RUNS[0][0] not in first  # the id cut to a unique prefix
    cut = next(cell for cell in first if cell.endswith("…"))
    assert RUNS[0][2].startswith(cut[:-1])  # the long target, with an ellipsis
    tight = _listed(capsys, monkeypatch, store_dir, 60)
    header = next(line for line in tight if line.startswith("run id")).split()
    assert "model" not in header and "metric" not in header


def test_a_listed_prefix_shows_the_run(capsys, monkeypatch, store_dir):
    lines = _listed(capsys, monkeypatch, store_dir, 60)
    header = next(i for i, line in enumerate(lines) if line.startswith("run id"))
    prefix = lines[header + 2].split()[0]
    assert prefix != RUNS[0][0]
    capsys.readouterr()
    assert main(["runs", "show", prefix, "--out", str(store_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == RUNS[0][0]


def test_json_keeps_every_field_and_the_full_ids(capsys, monkeypatch, store_dir):
    monkeypatch.setenv("COLUMNS", "60")
    capsys.readouterr()
    assert main(["runs", "list", "--out", str(store_dir), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    expected = json.loads(json.dumps(Store(default_store_url(store_dir)).list_runs(), default=str))
    assert listed == expected
    assert [r["run_id"] for r in listed] == [r[0] for r in RUNS]


@pytest.mark.parametrize("columns", ["0", "wide", ""])
def test_a_meaningless_columns_setting_falls_back_to_a_full_table(
    capsys, monkeypatch, store_dir, columns
):
    """Some CI systems export COLUMNS=0: the table must not shrink to nothing."""
    monkeypatch.setenv("COLUMNS", columns)
    capsys.readouterr()
    assert main(["runs", "list", "--out", str(store_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("run id"))
    assert len([line for line in lines[header + 2 :] if line.strip()]) == len(RUNS)
