"""How the final model should combine the trials: best single, greedy weights or stacking,
judged out of sample on the meta suite's train part.

For each task the out-of-fold predictions that ``evaluate.py --oof`` kept are read for the
configurations a 60 s run would have reached (the learned portfolio in order, within the
40 s search budget of ``select_portfolio.py``, at the measured times). The folds of the
first repeat are split in two halves (even and odd folds). Each way round, the combiner is
chosen on one half's out-of-fold rows and scored on the other's, so no combiner is scored
on the rows it was chosen on (the campaign's own selection scores itself in sample):

- ``single``: the best trial on the first half;
- ``greedy``: the campaign's own greedy ensemble selection (``select_ensemble``, 40 rounds
  with replacement) over the 12 best trials on the first half;
- ``stacked``: a level-2 model fitted on the first half's out-of-fold predictions of those
  12 (multinomial logistic regression on log-probabilities for classification, a
  non-negative linear regression for regression).

Prints one row per task and the win counts: the data behind the rule the final model
follows (see ``benchmarks/RESULTS.md``).

    .venv/bin/python benchmarks/portfolio/ensembles.py [--oof benchmarks/out/portfolio_oof]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "automl"))

from evaluate import MAX_ROWS, prepared  # noqa: E402
from select_portfolio import BUDGETS, EVALUATIONS, PORTFOLIO_FILE  # noqa: E402
from tasks import meta_split, suite_tasks  # noqa: E402

TOP = 12
SEARCH_SECONDS = BUDGETS[1]


def reached(task: str, entries: list[str], rows: list[dict]) -> list[str]:
    """The portfolio entries a run reaches on ``task`` within ``SEARCH_SECONDS`` (skipping
    what no longer fits, as the campaign does)."""
    secs = {r["id"]: r.get("wall") or np.inf for r in rows if r["task"] == task}
    spent, out = 0.0, []
    for cid in entries:
        s = secs.get(cid, np.inf)
        if spent + s <= SEARCH_SECONDS:
            spent += s
            out.append(cid)
    return out


def _features(oofs: list[np.ndarray], classification: bool) -> np.ndarray:
    if classification:
        return np.hstack([np.log(np.clip(o, 1e-6, 1.0)) for o in oofs])
    return np.column_stack(oofs)


def compare(task, cids: list[str], oof_dir: Path) -> dict | None:
    from sklearn.linear_model import LinearRegression, LogisticRegression

    from mlresearcher.search.ensemble import fold_scores, select_ensemble

    p = prepared(task, MAX_ROWS)
    y, metric, protocol = p["target"].y, p["metric"], p["protocol"]
    classification = p["target"].task != "regression"
    oof = {}
    for cid in cids:
        path = oof_dir / task.name / f"{cid.replace(':', '_')}.npy"
        if path.exists():
            a = np.load(path)[0].astype(float)  # the first repeat
            if np.all(np.isfinite(a)):
                oof[cid] = a
    if len(oof) < 2:
        return None
    k = protocol.n_splits
    folds = [va for _, va in protocol.folds[:k]]
    halves = [[f for i, f in enumerate(folds) if i % 2 == h] for h in (0, 1)]
    result = {"single": [], "greedy": [], "stacked": []}
    for a, b in ((0, 1), (1, 0)):
        fa = [(0, va) for va in halves[a]]
        fb = [(0, va) for va in halves[b]]
        score_a = {
            c: float(np.nanmean(fold_scores(metric, y, o[None], fa))) for c, o in oof.items()
        }
        ranked = sorted(score_a, key=lambda c: metric.loss(score_a[c]))[:TOP]

        def on_b(pred: np.ndarray, fb: list = fb) -> float:
            return float(np.nanmean(fold_scores(metric, y, pred[None], fb)))

        result["single"].append(on_b(oof[ranked[0]]))
        sel = select_ensemble(metric, y, {i: oof[c][None] for i, c in enumerate(ranked)}, fa)
        blend = sum(w * oof[ranked[i]] for i, w in sel.weights.items())
        result["greedy"].append(on_b(blend))
        rows_a = np.concatenate(halves[a])
        rows_b = np.concatenate(halves[b])
        X = _features([oof[c] for c in ranked], classification)
        stacked = np.array(oof[ranked[0]], copy=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if classification:
                model = LogisticRegression(C=1.0, max_iter=1000).fit(X[rows_a], y[rows_a])
                proba = np.zeros((len(rows_b), stacked.shape[1]))
                proba[:, model.classes_] = model.predict_proba(X[rows_b])
                stacked[rows_b] = proba
            else:
                model = LinearRegression(positive=True).fit(X[rows_a], y[rows_a])
                stacked[rows_b] = model.predict(X[rows_b])
        result["stacked"].append(on_b(stacked))
    out = {"task": task.name, "metric": metric.name, "candidates": len(oof)}
    for name, v in result.items():
        out[name] = float(np.mean(v))
    out["greater_is_better"] = bool(metric.greater_is_better)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--oof", default=str(ROOT / "benchmarks" / "out" / "portfolio_oof"))
    ap.add_argument("--evaluations", default=str(EVALUATIONS))
    ap.add_argument("--portfolio", default=str(PORTFOLIO_FILE), help="portfolio.json")
    ap.add_argument("--out", default=None, help="also write the rows as JSON Lines here")
    args = ap.parse_args(argv)
    entries = [e["id"] for e in json.loads(Path(args.portfolio).read_text())["portfolio"]]
    rows = [json.loads(x) for x in Path(args.evaluations).read_text().splitlines() if x]
    train = set(meta_split()["train"])
    found = []
    for task in suite_tasks("meta-train"):
        if task.name not in train:
            continue
        r = compare(task, reached(task.name, entries, rows), Path(args.oof))
        if r is None:
            continue
        found.append(r)
        print(
            f"{r['task']:28s} {r['metric']:8s} n={r['candidates']:2d}  single {r['single']:.5g}"
            f"  greedy {r['greedy']:.5g}  stacked {r['stacked']:.5g}",
            flush=True,
        )
    if args.out:
        Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in found))

    def wins(a: str, b: str) -> str:
        def better(r: dict) -> int:
            d = (r[a] - r[b]) * (1 if r["greater_is_better"] else -1)
            tol = 1e-3 * max(abs(r[a]), abs(r[b]))
            return 1 if d > tol else (-1 if d < -tol else 0)

        c = [better(r) for r in found]
        return f"{c.count(1)}-{c.count(0)}-{c.count(-1)}"

    print(f"{len(found)} tasks; W-T-L (tie within 0.1 %):")
    print(f"  greedy against single:  {wins('greedy', 'single')}")
    print(f"  stacked against single: {wins('stacked', 'single')}")
    print(f"  stacked against greedy: {wins('stacked', 'greedy')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
