"""The portfolio derivation (benchmarks/portfolio): the meta split, the greedy anytime
selection, and the audit of the AutoML benchmark (benchmarks/automl/audit.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "portfolio"))
sys.path.insert(0, str(ROOT / "benchmarks" / "automl"))

import audit  # noqa: E402
import select_portfolio  # noqa: E402
import split_meta  # noqa: E402
import tasks as bench_tasks  # noqa: E402


def _manifest(n_per_type: dict[str, int]) -> list[dict]:
    return [
        {"name": f"{t}_{i:02d}", "task_type": t} for t, n in n_per_type.items() for i in range(n)
    ]


def test_the_meta_split_is_seeded_stratified_disjoint_and_order_free():
    manifest = _manifest({"binary": 14, "multiclass": 12, "regression": 14})
    a = split_meta.split(manifest)
    assert a == split_meta.split(list(reversed(manifest)))  # manifest order does not matter
    assert a != split_meta.split(manifest, seed=1)
    assert not set(a["train"]) & set(a["validate"])
    assert sorted(a["train"] + a["validate"]) == sorted(e["name"] for e in manifest)
    for t, n in (("binary", 14), ("multiclass", 12), ("regression", 14)):
        assert sum(name.startswith(t) for name in a["train"]) == round(n * 2 / 3)


def test_the_committed_meta_split_names_two_disjoint_parts():
    split = bench_tasks.meta_split()
    assert len(split["train"]) >= 2 * len(split["validate"]) - 2
    assert not set(split["train"]) & set(split["validate"])


def test_suite_tasks_refuses_an_unknown_suite():
    import pytest

    with pytest.raises(SystemExit, match="unknown suite"):
        bench_tasks.suite_tasks("holdout")


def _table(tmp_path: Path, scores: dict[str, dict[str, float]], secs: dict[str, float]) -> Path:
    """An evaluations.jsonl of log losses (lower is better) on train tasks."""
    path = tmp_path / "evaluations.jsonl"
    with path.open("w") as f:
        for task, by_id in scores.items():
            for cid, value in by_id.items():
                row = {
                    "task": task,
                    "id": cid,
                    "family": cid.split(":")[0],
                    "status": "complete",
                    "score": value,
                    "greater_is_better": False,
                    "wall": secs[cid],
                    "folds": 5,
                }
                f.write(json.dumps(row) + "\n")
    return path


def test_greedy_picks_complementary_candidates_and_skips_what_never_fits(tmp_path, monkeypatch):
    train = bench_tasks.meta_split()["train"][:4]
    t1, t2, t3, t4 = train
    # a is best on t1, t2; b is best on t3, t4; c is the median everywhere (good, never
    # best); slow is best everywhere but takes longer than every budget
    scores = {
        t1: {"x:a": 0.1, "x:b": 0.9, "x:c": 0.3, "x:slow": 0.0, "x:d": 0.8},
        t2: {"x:a": 0.1, "x:b": 0.9, "x:c": 0.3, "x:slow": 0.0, "x:d": 0.8},
        t3: {"x:a": 0.9, "x:b": 0.1, "x:c": 0.3, "x:slow": 0.0, "x:d": 0.8},
        t4: {"x:a": 0.9, "x:b": 0.1, "x:c": 0.3, "x:slow": 0.0, "x:d": 0.8},
    }
    secs = {"x:a": 1.0, "x:b": 1.0, "x:c": 1.0, "x:slow": 1e6, "x:d": 1.0}
    tasks, ids, norm, s = select_portfolio.load_table(_table(tmp_path, scores, secs), set(train))
    order, objective = select_portfolio.greedy(norm, s, size=5)
    picked = [ids[j] for j in order]
    assert "x:slow" not in picked
    # the complementary pair, then nothing: c and d add nothing once a and b are in
    assert sorted(picked) == ["x:a", "x:b"]
    assert objective == sorted(objective, reverse=True)  # each step helps
    # within a budget, a candidate that no longer fits after the others is skipped
    tight = select_portfolio.anytime_error([ids.index("x:c"), ids.index("x:a")], norm, s * 6)
    assert tight[:, 0].tolist() == [norm[i, ids.index("x:c")] for i in range(4)]  # 10 s: c only


def _row(system: str, score: float, audit_rows: list | None = None) -> dict:
    return {
        "task": "t",
        "system": system,
        "budget": 60,
        "split_seed": 0,
        "status": "ok",
        "score": score,
        "greater_is_better": True,
        "metric": "roc_auc",
        "info": {"final_model": "ensemble"},
        **({"audit": audit_rows} if audit_rows else {}),
    }


def test_audit_names_why_a_peer_won():
    def trials(test_scores: list[float | None]) -> list[dict]:
        # CV order: t0 best; fold SD 0.01
        return [
            {"name": f"m#{i}", "cv": 0.80 - 0.005 * i, "cv_std": 0.01, "test": v}
            for i, v in enumerate(test_scores)
        ]

    peer = _row("autogluon_best", 0.85)
    cases = {
        "ensemble": [0.86, 0.80],  # the top CV trial beat the peer; the final model did not
        "within noise": [0.80, 0.86],  # the second, 0.5 SD behind on CV, would have won
        "none kept": [0.80, None],
    }
    for reason, tests in cases.items():
        found = audit.audit_rows([_row("mlresearcher", 0.80, trials(tests)), peer])
        assert len(found) == 1 and found[0]["reason"] == reason, (reason, found)
    far = [
        {"name": "m#0", "cv": 0.9, "cv_std": 0.01, "test": 0.8},
        {"name": "m#1", "cv": 0.8, "cv_std": 0.01, "test": 0.86},
    ]
    found = audit.audit_rows([_row("mlresearcher", 0.80, far), peer])
    assert found[0]["reason"] == "cv disagrees" and found[0]["best_winner_cv_rank"] == 2
    # no finding where we win or tie
    assert audit.audit_rows([_row("mlresearcher", 0.85, trials([0.86])), peer]) == []
    assert "within noise" in audit.render(
        audit.audit_rows([_row("mlresearcher", 0.8, trials([0.8, 0.86])), peer])
    )


def test_the_first_entry_is_a_fast_one(tmp_path):
    train = bench_tasks.meta_split()["train"][:2]
    scores = {t: {"x:slow": 0.1, "x:fast": 0.5, "x:mid": 0.9} for t in train}
    secs = {"x:slow": 5.0, "x:fast": 0.5, "x:mid": 0.5}
    tasks, ids, norm, s = select_portfolio.load_table(_table(tmp_path, scores, secs), set(train))
    order, _ = select_portfolio.greedy(norm, s, size=3, first_seconds=1.0)
    assert [ids[j] for j in order] == ["x:fast", "x:slow"]
    order, _ = select_portfolio.greedy(norm, s, size=3)
    assert ids[order[0]] == "x:slow"


def test_a_time_measured_on_one_repeat_counts_as_every_repeat_of_a_run(tmp_path):
    train = bench_tasks.meta_split()["train"][:1]
    path = _table(tmp_path, {train[0]: {"x:a": 0.1, "x:b": 0.2}}, {"x:a": 4.0, "x:b": 1.0})
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[0]["folds_full"] = 15  # x:a fitted the first of three repeats
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _, ids, _, secs = select_portfolio.load_table(path, set(train))
    assert secs[0, ids.index("x:a")] == 12.0 and secs[0, ids.index("x:b")] == 1.0
