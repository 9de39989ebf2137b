"""Audit: on every task where a peer beats mlresearcher, which of our trials would have won
on the test split, and why the selection did not pick it.

Reads the rows of ``run.py --audit`` (each mlresearcher row then carries ``audit``: every
trial with its cross-validated score and, where the campaign kept its fold models, the test
score of their average). For each task, budget and split seed where the best peer is ahead
beyond the report's tie tolerance, it prints our final model's score, the best peer's,
the trials that beat that peer on test and, for the best of them, where the cross-validation
ranked it and by how much (in units of the top trial's fold standard deviation), and one
reason:

- ``ensemble``: the best trial by cross-validation beats the peer on test, the final model
  does not (the ensemble or refit lost what the trial had);
- ``within noise``: a winning trial's CV score is within one fold standard deviation of the
  top trial's (the selection could not tell them apart);
- ``cv disagrees``: every winning trial was behind by more than that (the CV ranking and
  the test split disagree: split noise, or a learner that generalises differently);
- ``none kept``: no kept trial beats the peer (the lever is a better candidate, not a
  better choice among ours).

    .venv/bin/python benchmarks/automl/audit.py benchmarks/out/audit/results.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from report import OURS, OURS_SYSTEMS, TIE_TOL, head_to_head  # noqa: E402
from run import load_results  # noqa: E402


def audit_rows(rows: list[dict], ours: str = OURS) -> list[dict]:
    """One finding per task x budget x split seed where a peer wins (see the module doc)."""
    cells: dict[tuple, dict[str, dict]] = {}
    for r in rows:
        cells.setdefault((r["task"], r["budget"], r["split_seed"]), {})[r["system"]] = r
    out = []
    for (task, budget, split_seed), by_system in sorted(cells.items()):
        me = by_system.get(ours)
        if me is None or me.get("status") != "ok" or not me.get("audit"):
            continue
        greater = bool(me["greater_is_better"])
        peers = [
            r for s, r in by_system.items() if s not in OURS_SYSTEMS and r.get("status") == "ok"
        ]
        losing = [p for p in peers if head_to_head(me, p) == "L"]
        if not losing:
            continue
        best_peer = max(losing, key=lambda p: p["score"] if greater else -p["score"])
        trials = [t for t in me["audit"] if t.get("cv") is not None]
        trials.sort(key=lambda t: -t["cv"] if greater else t["cv"])
        rank = {t["name"]: i + 1 for i, t in enumerate(trials)}
        top = trials[0] if trials else None
        winners = [
            t
            for t in trials
            if t.get("test") is not None
            and head_to_head(
                {"score": t["test"], "status": "ok", "greater_is_better": greater}, best_peer
            )
            == "W"
        ]
        finding = {
            "task": task,
            "budget": budget,
            "split_seed": split_seed,
            "metric": me["metric"],
            "ours": me["score"],
            "peer": best_peer["system"],
            "peer_score": best_peer["score"],
            "final_model": (me.get("info") or {}).get("final_model", ""),
            "n_trials": len(trials),
            "n_kept": sum(t.get("test") is not None for t in trials),
            "n_winning": len(winners),
            "top_trial": top["name"] if top else None,
            "top_trial_test": top.get("test") if top else None,
        }
        if not winners:
            finding["reason"] = "none kept"
        else:
            best = min(winners, key=lambda t: rank[t["name"]])
            std = (top or {}).get("cv_std") or 0.0
            gap = abs(best["cv"] - top["cv"])
            finding.update(
                best_winner=best["name"],
                best_winner_test=best["test"],
                best_winner_cv_rank=rank[best["name"]],
                cv_gap_in_std=round(gap / std, 2) if std > 0 else None,
            )
            if rank[best["name"]] == 1:
                finding["reason"] = "ensemble"
            elif std > 0 and gap <= std:
                finding["reason"] = "within noise"
            else:
                finding["reason"] = "cv disagrees"
        out.append(finding)
    return out


def render(findings: list[dict]) -> str:
    if not findings:
        return "No task where a peer wins beyond the tie tolerance.\n"
    head = [
        "task",
        "budget",
        "metric",
        "ours",
        "best peer",
        "peer score",
        "trials (kept)",
        "winning trials",
        "top-CV trial on test",
        "first winner (CV rank, gap in SD)",
        "reason",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for f in findings:
        winner = (
            f"{f['best_winner']} {f['best_winner_test']:.5g} (#{f['best_winner_cv_rank']}, "
            f"{f['cv_gap_in_std']})"
            if f.get("best_winner")
            else "-"
        )
        top = (
            f"{f['top_trial']} {f['top_trial_test']:.5g}"
            if f.get("top_trial_test") is not None
            else "-"
        )
        lines.append(
            "| "
            + " | ".join(
                [
                    f["task"],
                    f"{f['budget']:g}",
                    f["metric"],
                    f"{f['ours']:.5g}",
                    f["peer"],
                    f"{f['peer_score']:.5g}",
                    f"{f['n_trials']} ({f['n_kept']})",
                    str(f["n_winning"]),
                    top,
                    winner,
                    f["reason"],
                ]
            )
            + " |"
        )
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["reason"]] = counts.get(f["reason"], 0) + 1
    lines += ["", "Reasons: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))]
    lines.append(f"(a loss: the peer ahead by more than {TIE_TOL:.1%} relative)")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="+", help="results.jsonl files of run.py --audit")
    args = ap.parse_args(argv)
    rows = [r for path in args.results for r in load_results(Path(path))]
    sys.stdout.write(render(audit_rows(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
