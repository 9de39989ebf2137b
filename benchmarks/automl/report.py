"""Markdown report of the AutoML benchmark from its JSON Lines results.

For each budget (on the first split seed): the per-task test scores, each system's mean
rank and mean normalized score, head-to-head wins/ties/losses of mlresearcher against each
peer, mlresearcher's fit time against the budget, and tables of fit time, test-set
prediction time, single-row latency and peak memory. When a second split seed was run, the
split-to-split noise of the LightGBM comparison.

Definitions (all direction-aware: for log loss and RMSE lower is better):

- rank: 1 is best on the task; ties share the mean rank; a system that failed or timed out
  on a task ranks below every system that finished.
- normalized score: (score - worst) / (best - worst) over the systems that finished the
  task (1 = best, 0 = worst; 1 for all when they are equal); 0 for a failure.
- head to head (on the tasks both systems were run on): a tie when the two scores differ by at most ``TIE_TOL`` relative to the
  larger magnitude; a failure loses to a finished run; two failures tie.
- split-to-split noise: |LightGBM's score on split 0 - its score on split 1|; mlresearcher
  "loses beyond noise" on a task when it is worse than LightGBM on split 0 by more than
  that.

    .venv/bin/python benchmarks/automl/report.py benchmarks/out/automl/results.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

TIE_TOL = 1e-3
ORDER = [
    "mlresearcher",
    "mlresearcher_refit",
    "mlresearcher_bagged",
    "mlresearcher_learned",
    "autogluon_best",
    "autogluon_medium",
    "flaml",
    "lightgbm",
    "hist_gb",
]
OURS = "mlresearcher"
#: the project's own systems: each gets its head to head, budget and latency tables
OURS_SYSTEMS = (
    "mlresearcher",
    "mlresearcher_refit",
    "mlresearcher_bagged",
    "mlresearcher_learned",
)


def _cells(rows: list[dict], budget: float, split_seed: int) -> dict[tuple[str, str], dict]:
    """(task, system) -> the latest row at this budget and split seed."""
    cells = {}
    for r in rows:
        if float(r["budget"]) == budget and int(r["split_seed"]) == split_seed:
            cells[(r["task"], r["system"])] = r
    return cells


def _ok(r: dict | None) -> bool:
    return r is not None and r.get("status") == "ok" and r.get("score") is not None


def _goodness(r: dict) -> float:
    """The score turned so that higher is better."""
    return r["score"] if r["greater_is_better"] else -r["score"]


def ranks(results: dict[str, dict]) -> dict[str, float]:
    """Rank of each system on one task (1 best; ties share; failures last, tied)."""
    ok = sorted((s for s, r in results.items() if _ok(r)), key=lambda s: -_goodness(results[s]))
    out: dict[str, float] = {}
    i = 0
    while i < len(ok):
        j = i
        while j + 1 < len(ok) and _goodness(results[ok[j + 1]]) == _goodness(results[ok[i]]):
            j += 1
        for s in ok[i : j + 1]:
            out[s] = (i + j) / 2 + 1
        i = j + 1
    failed = [s for s in results if s not in out]
    for s in failed:
        out[s] = len(ok) + (len(failed) + 1) / 2
    return out


def normalized(results: dict[str, dict]) -> dict[str, float]:
    """(score - worst) / (best - worst) per system on one task, direction-aware."""
    good = {s: _goodness(r) for s, r in results.items() if _ok(r)}
    out = {s: 0.0 for s in results}
    if good:
        best, worst = max(good.values()), min(good.values())
        for s, g in good.items():
            out[s] = 1.0 if best == worst else (g - worst) / (best - worst)
    return out


def head_to_head(a: dict | None, b: dict | None, tol: float = TIE_TOL) -> str:
    """'W', 'T' or 'L' for system a against system b on one task."""
    if not _ok(a) and not _ok(b):
        return "T"
    if not _ok(a):
        return "L"
    if not _ok(b):
        return "W"
    diff = _goodness(a) - _goodness(b)
    if abs(diff) <= tol * max(abs(a["score"]), abs(b["score"])):
        return "T"
    return "W" if diff > 0 else "L"


def _fmt(v: float | None, digits: int = 5) -> str:
    return "-" if v is None else f"{v:.{digits}g}"


def _cell_text(r: dict | None) -> str:
    if r is None:
        return ""
    if not _ok(r):
        return r.get("status", "failed")
    return _fmt(r["score"])


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in body]


def _rank_table(
    cells: dict[tuple[str, str], dict], tasks: list[str], systems: list[str], ours: str | None
) -> list[str]:
    """Mean rank and mean normalized score of ``systems`` over the tasks they were run on."""
    rank_sum: dict[str, list[float]] = defaultdict(list)
    norm_sum: dict[str, list[float]] = defaultdict(list)
    fails: dict[str, int] = defaultdict(int)
    for t in tasks:
        res = {s: cells[(t, s)] for s in systems if (t, s) in cells}
        for s, v in ranks(res).items():
            rank_sum[s].append(v)
        for s, v in normalized(res).items():
            norm_sum[s].append(v)
        for s, r in res.items():
            fails[s] += 0 if _ok(r) else 1
    body = [
        [
            s,
            f"{sum(rank_sum[s]) / len(rank_sum[s]):.2f}",
            f"{sum(norm_sum[s]) / len(norm_sum[s]):.3f}",
            str(len(rank_sum[s])),
            str(fails[s]),
        ]
        for s in sorted(
            (s for s in systems if rank_sum[s]),
            key=lambda s: sum(rank_sum[s]) / len(rank_sum[s]),
        )
    ]
    title = "Mean rank (1 = best) and mean normalized score (1 = best)"
    if ours is not None:
        title += f", {ours} with the project's other systems left out"
    return (
        [title + ":", ""]
        + _table(["system", "mean rank", "normalized score", "tasks", "failed"], body)
        + [""]
    )


def budget_section(rows: list[dict], budget: float, split_seed: int) -> list[str]:
    cells = _cells(rows, budget, split_seed)
    tasks = list(dict.fromkeys(t for t, _ in cells))
    present = {s for _, s in cells}
    systems = [s for s in ORDER if s in present] + sorted(present - set(ORDER))
    lines = [f"## Budget {budget:g} s (split seed {split_seed})", ""]

    # per-task scores
    body = []
    for t in tasks:
        res = {s: cells.get((t, s)) for s in systems}
        metric = next(r["metric"] for r in res.values() if r is not None)
        best = max((_goodness(r) for r in res.values() if _ok(r)), default=None)
        row = [t, metric]
        for s in systems:
            text = _cell_text(res[s])
            if _ok(res[s]) and _goodness(res[s]) == best:
                text = f"**{text}**"
            row.append(text)
        body.append(row)
    lines += ["Test score per task (best in bold):", ""]
    lines += _table(["task", "metric", *systems], body) + [""]

    # ranks and normalized scores; with several of the project's systems, one table for
    # each with the others left out, so that no variant of ours pushes down another
    ours_present = [s for s in systems if s in OURS_SYSTEMS]
    if len(ours_present) > 1:
        for ours in ours_present:
            ranked = [s for s in systems if s == ours or s not in OURS_SYSTEMS]
            lines += _rank_table(cells, tasks, ranked, ours)
    else:
        lines += _rank_table(cells, tasks, systems, None)

    # head to head, budget use, for each of the project's systems
    for ours in [s for s in systems if s in OURS_SYSTEMS]:
        body = []
        for s in systems:
            if s in OURS_SYSTEMS:
                continue
            both = [t for t in tasks if (t, ours) in cells and (t, s) in cells]
            wtl = [head_to_head(cells[(t, ours)], cells[(t, s)]) for t in both]
            n = len(wtl)
            w, ti, lo = wtl.count("W"), wtl.count("T"), wtl.count("L")
            body.append([s, str(w), str(ti), str(lo), f"{w / n:.0%}" if n else "-"])
        lines += [
            f"Head to head, {ours} against each peer (tie: within {TIE_TOL:.1%} relative):",
            "",
        ]
        lines += _table(["peer", "wins", "ties", "losses", "win share"], body) + [""]

        # budget use
        body, worst = [], None
        for t in tasks:
            r = cells.get((t, ours))
            if not _ok(r):
                continue
            over = r["fit_s"] / budget - 1
            worst = over if worst is None else max(worst, over)
            body.append([t, f"{r['fit_s']:.1f}", f"{over:+.1%}", f"{r['process_wall_s']:.1f}"])
        if body:
            lines += [
                f"{ours} fit wall time against the budget ({budget:g} s; the promise is "
                f"+5 % at most). Worst: {worst:+.1%}.",
                "",
            ]
            lines += _table(
                ["task", "fit s", "over budget", "process wall s (start-up, load, predict)"],
                body,
            ) + [""]

    # resources
    for key, title, digits in (
        ("fit_s", "Fit wall time (s)", 3),
        ("predict_s", "Time to predict the test set (s)", 3),
        ("latency_ms", "Single-row prediction latency, median of 50 (ms)", 3),
        ("peak_rss_mb", "Peak memory of the process tree (MB)", 4),
    ):
        body = []
        for t in tasks:
            row = [t]
            for s in systems:
                r = cells.get((t, s))
                row.append(_fmt(r.get(key), digits) if r is not None and _ok(r) else "-")
            body.append(row)
        lines += [f"{title}:", ""] + _table(["task", *systems], body) + [""]

    for ours in [s for s in systems if s in OURS_SYSTEMS and "autogluon_best" in systems]:
        body = []
        for t in tasks:
            a, b = cells.get((t, ours)), cells.get((t, "autogluon_best"))
            if _ok(a) and _ok(b):
                body.append([t, f"{a['latency_ms'] / b['latency_ms']:.3f}"])
        if body:
            lines += (
                [
                    f"Single-row latency ratio {ours} / autogluon_best (target: at most 0.2):",
                    "",
                ]
                + _table(["task", "ratio"], body)
                + [""]
            )
    return lines


def noise_section(rows: list[dict], budget: float, seeds: list[int], ours: str = OURS) -> list[str]:
    """One of the project's systems against LightGBM on two splits, with LightGBM's
    split-to-split noise."""
    s0, s1 = seeds[0], seeds[1]
    c0, c1 = _cells(rows, budget, s0), _cells(rows, budget, s1)
    tasks = [t for t, s in c0 if s == "lightgbm" and (t, "lightgbm") in c1]
    body = []
    beyond = 0
    for t in tasks:
        m0, m1 = c0.get((t, ours)), c1.get((t, ours))
        l0, l1 = c0[(t, "lightgbm")], c1[(t, "lightgbm")]
        if not (_ok(l0) and _ok(l1)):
            continue
        noise = abs(l0["score"] - l1["score"])
        d0 = _goodness(m0) - _goodness(l0) if _ok(m0) else None
        d1 = _goodness(m1) - _goodness(l1) if _ok(m1) else None
        loses = d0 is None or d0 < -noise
        beyond += loses
        body.append(
            [
                t,
                _fmt(d0, 4),
                _fmt(d1, 4),
                _fmt(noise, 4),
                _fmt(abs(m0["score"] - m1["score"]), 4) if _ok(m0) and _ok(m1) else "-",
                "yes" if loses else "no",
            ]
        )
    if not body:
        return []
    return (
        [
            f"## Split-to-split noise, {ours} against LightGBM defaults ({budget:g} s)",
            "",
            f"Advantage = {ours}'s score minus LightGBM's, signed so that positive means "
            f"{ours} is better. Noise = |LightGBM split {s0} - LightGBM split {s1}|. "
            f"Tasks where {ours} loses beyond the noise on split {s0}: {beyond}.",
            "",
        ]
        + _table(
            [
                "task",
                f"advantage, split {s0}",
                f"advantage, split {s1}",
                "LightGBM noise",
                f"{ours} noise",
                "loses beyond noise",
            ],
            body,
        )
        + [""]
    )


def render(rows: list[dict]) -> str:
    lines = ["# AutoML benchmark report", ""]
    if not rows:
        return "\n".join(lines + ["No results yet.", ""])
    started = sorted(r["started"] for r in rows)
    lines += [f"Rows: {len(rows)}, run between {started[0]} and {started[-1]} (UTC).", ""]
    for budget in sorted({float(r["budget"]) for r in rows}):
        seeds = sorted({int(r["split_seed"]) for r in rows if float(r["budget"]) == budget})
        lines += budget_section(rows, budget, seeds[0])
        if len(seeds) > 1:
            split0 = {
                r["system"]
                for r in rows
                if float(r["budget"]) == budget and int(r["split_seed"]) == seeds[0]
            }
            for ours in [s for s in OURS_SYSTEMS if s in split0]:
                lines += noise_section(rows, budget, seeds, ours)
    versions: dict[str, dict[str, str]] = {}
    for r in rows:
        if r.get("versions"):
            versions[r["system"]] = r["versions"]
    if versions:
        lines += ["Versions:", ""]
        for system in sorted(
            versions, key=lambda s: (s not in ORDER, ORDER.index(s) if s in ORDER else 0, s)
        ):
            v = versions[system]
            lines.append(f"- {system}: " + ", ".join(f"{k} {x}" for k, x in sorted(v.items())))
        lines.append("")
    return "\n".join(lines)


def write_report(rows: list[dict], path: Path) -> Path:
    path = Path(path)
    path.write_text(render(rows))
    return path


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/out/automl/results.jsonl")
    rows = [json.loads(ln) for ln in src.read_text().splitlines() if ln.strip()]
    print(render(rows))
