"""Select the campaign's portfolio from the evaluation table, greedily, for an anytime budget.

Input: ``results/evaluations.jsonl`` (``evaluate.py``), every candidate on every task of the
meta suite's *train* part; nothing from the validate part or the dev suite is read.

Per task, each candidate's error (the metric's loss: ``1 - ROC AUC``, log loss, RMSE) is
normalised between the task's best candidate (0) and its median candidate (1), clipped
to [0, 1], as zero-shot portfolio methods do, so that every task weighs the same whatever
its metric's scale. A candidate that failed or ran out of time on a task counts 1 there.

The campaign runs the portfolio in order and skips a trial that would not fit in the
time left, so the objective simulates exactly that: for each task and each search budget
of ``BUDGETS`` (seconds), walk the portfolio in order, keep each candidate whose measured
time (fit and predict, all folds; scaled to every repeat where the evaluation fitted one)
still fits, and take the best normalised error kept.
The objective is the mean over tasks and budgets. Greedy forward selection appends, at
each step, the candidate that lowers the objective most (ties: the faster one), until
``--size`` candidates or no candidate helps. The first entry is the best one among those
taking at most ``FIRST_SECONDS`` (median over tasks), so a run's first result comes
within seconds.

Writes ``src/mlresearcher/search/portfolio.json`` (the ordered portfolio with each
candidate's parameters and how it was selected) and prints the objective of the learned
portfolio against the hand-written one (every family's own configurations, round by
round, the order the campaign used before).

    .venv/bin/python benchmarks/portfolio/select_portfolio.py
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "automl"))

from candidates import CANDIDATES_FILE  # noqa: E402
from tasks import meta_split  # noqa: E402

from mlresearcher.search.campaign import PORTFOLIO_ORDER  # noqa: E402

EVALUATIONS = HERE / "results" / "evaluations.jsonl"
PORTFOLIO_FILE = ROOT / "src" / "mlresearcher" / "search" / "portfolio.json"
#: search seconds the objective averages over: a short run, a 60 s run's search time, a
#: 300 s run's (measured times are on at most evaluate.MAX_ROWS rows)
BUDGETS = (10.0, 40.0, 200.0)
SIZE = 32
#: the first entry's median seconds over the tasks at most: a first result within seconds
#: is a promise of the product (DESIGN.md, "anytime"), not something the objective trades
FIRST_SECONDS = 1.0
#: the order of the families' own configurations (the campaign's default order)
HAND_ORDER = PORTFOLIO_ORDER


def load_table(path: Path, tasks: set[str]) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Tasks, candidate ids, normalised errors ``(tasks, candidates)`` and seconds."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["task"] in tasks]
    # a task counts once every candidate has its row (an evaluation stopped mid-task is left out)
    per_task: dict[str, set[str]] = {}
    for r in rows:
        per_task.setdefault(r["task"], set()).add(r["id"])
    every = set().union(*per_task.values()) if per_task else set()
    partial = sorted(t for t, ids in per_task.items() if ids != every)
    if partial:
        print(f"left out, not evaluated on every candidate yet: {', '.join(partial)}")
    rows = [r for r in rows if r["task"] not in partial]
    task_names = sorted({r["task"] for r in rows})
    ids = list(dict.fromkeys(r["id"] for r in rows))
    err = np.full((len(task_names), len(ids)), np.nan)
    secs = np.full((len(task_names), len(ids)), np.inf)
    ti = {t: i for i, t in enumerate(task_names)}
    ci = {c: i for i, c in enumerate(ids)}
    for r in rows:
        i, j = ti[r["task"]], ci[r["id"]]
        if r["status"] == "not_applicable":
            continue
        # a run fits every repeat of the folds; the evaluation may have fitted the first
        secs[i, j] = float(r.get("wall") or np.inf) * r.get("folds_full", r["folds"]) / r["folds"]
        if r["status"] == "complete" and r["score"] is not None:
            err[i, j] = -r["score"] if r["greater_is_better"] else r["score"]
    norm = np.ones_like(err)
    for i in range(len(task_names)):
        e = err[i][np.isfinite(err[i])]
        if len(e) < 2:
            continue
        best, med = float(e.min()), float(np.median(e))
        span = med - best if med > best else 1.0
        ok = np.isfinite(err[i])
        norm[i, ok] = np.clip((err[i, ok] - best) / span, 0.0, 1.0)
    return task_names, ids, norm, secs


def anytime_error(order: list[int], norm: np.ndarray, secs: np.ndarray) -> np.ndarray:
    """Per task and budget, the best normalised error the campaign reaches running
    ``order`` (candidate columns) and skipping what no longer fits: ``(tasks, budgets)``."""
    out = np.ones((norm.shape[0], len(BUDGETS)))
    for b, budget in enumerate(BUDGETS):
        spent = np.zeros(norm.shape[0])
        for j in order:
            fits = spent + secs[:, j] <= budget
            spent = np.where(fits, spent + secs[:, j], spent)
            out[:, b] = np.where(fits, np.minimum(out[:, b], norm[:, j]), out[:, b])
    return out


def greedy(
    norm: np.ndarray, secs: np.ndarray, size: int, first_seconds: float | None = None
) -> tuple[list[int], list[float]]:
    """Greedy forward selection (see the module doc); with ``first_seconds``, the first
    entry is chosen among candidates whose median time is at most that."""
    order: list[int] = []
    objective: list[float] = []
    current = float(anytime_error(order, norm, secs).mean())
    median_secs = np.median(np.where(np.isfinite(secs), secs, 1e9), axis=0)
    for step in range(size):
        best: tuple[float, float, int] | None = None
        for j in range(norm.shape[1]):
            if j in order:
                continue
            if step == 0 and first_seconds is not None and median_secs[j] > first_seconds:
                continue
            value = float(anytime_error([*order, j], norm, secs).mean())
            key = (round(value, 9), float(median_secs[j]), j)
            if best is None or key < best:
                best = key
        if best is None or (best[0] >= current - 1e-6 and step > 0):
            break
        order.append(best[2])
        current = best[0]
        objective.append(current)
    return order, objective


def hand_order(ids: list[str]) -> list[int]:
    """The campaign's order before the portfolio was learned: round r holds every family's
    r-th hand configuration, families in ``HAND_ORDER``."""
    out = []
    for r in range(10):
        for fam in HAND_ORDER:
            cid = f"{fam}:h{r}"
            if cid in ids:
                out.append(ids.index(cid))
    return out


def summary(name: str, order: list[int], norm: np.ndarray, secs: np.ndarray) -> str:
    a = anytime_error(order, norm, secs)
    per_budget = ", ".join(f"{b:g} s {v:.3f}" for b, v in zip(BUDGETS, a.mean(axis=0), strict=True))
    return f"{name:26s} mean {a.mean():.3f}  ({per_budget})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--evaluations", default=str(EVALUATIONS))
    ap.add_argument("--size", type=int, default=SIZE, help=f"most candidates (default {SIZE})")
    ap.add_argument("--out", default=str(PORTFOLIO_FILE))
    ap.add_argument(
        "--check",
        default=None,
        metavar="JSONL",
        help="also score both portfolios on this table (e.g. the validate part's); selects nothing from it",
    )
    args = ap.parse_args(argv)

    train = set(meta_split()["train"])
    tasks, ids, norm, secs = load_table(Path(args.evaluations), train)
    missing = sorted(train - set(tasks))
    if missing:
        print(f"not in the selection ({len(missing)} train tasks): {', '.join(missing)}")
    order, objective = greedy(norm, secs, args.size, FIRST_SECONDS)
    cands = {c["id"]: c for c in json.loads(CANDIDATES_FILE.read_text())}
    entries = []
    for j, value in zip(order, objective, strict=True):
        c = cands[ids[j]]
        wins = int((norm[:, j] == 0).sum())
        entries.append(
            {
                **{k: c[k] for k in ("id", "family", "source") if k in c},
                **{k: c[k] for k in ("classification", "regression") if k in c},
                "objective_after": round(value, 5),
                "median_seconds": round(float(np.median(secs[:, j][np.isfinite(secs[:, j])])), 3),
                "best_on_tasks": wins,
            }
        )
    doc = {
        "about": "the campaign's portfolio, learned on the meta suite's train part by "
        "benchmarks/portfolio/select_portfolio.py; do not edit by hand",
        "derived": datetime.now(UTC).strftime("%Y-%m-%d"),
        "tasks": tasks,
        "candidates": len(ids),
        "budgets_seconds": list(BUDGETS),
        "normalisation": "per task, 0 = best candidate, 1 = median candidate or worse",
        "first_entry_max_median_seconds": FIRST_SECONDS,
        "portfolio": entries,
    }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    hand = hand_order(ids)
    print(f"{len(tasks)} train tasks, {len(ids)} candidates -> {len(order)} in the portfolio")
    for e in entries:
        print(
            f"  {e['id']:18s} objective {e['objective_after']:.4f}  median {e['median_seconds']:.2f} s"
        )
    print("train part (normalised error, lower is better):")
    print("  " + summary("learned portfolio", order, norm, secs))
    print("  " + summary("families order (default)", hand, norm, secs))
    if args.check:
        vtasks = set(meta_split()["validate"])
        vt, vids, vnorm, vsecs = load_table(Path(args.check), vtasks)
        col = {c: i for i, c in enumerate(vids)}
        v_order = [col[ids[j]] for j in order if ids[j] in col]
        print(f"check on {len(vt)} tasks of {args.check} (not used to select):")
        print("  " + summary("learned portfolio", v_order, vnorm, vsecs))
        print("  " + summary("families order (default)", hand_order(vids), vnorm, vsecs))
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
