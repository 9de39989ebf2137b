"""The executive summary: plain-language sentences for a reader who does not do ML.

Built from ``analysis.json``, ``findings.json`` and (when present) ``profile.json``; every
number it quotes is one the technical sections show.
"""

from __future__ import annotations

from typing import Any

TASK_PHRASE = {
    "binary": "which of two outcomes happens",
    "multiclass": "which of several categories applies",
    "regression": "a number",
}


def fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def improvement(best: float, base: float, greater_is_better: bool) -> str:
    """How much better ``best`` is than ``base``, in words and numbers."""
    gain = best - base if greater_is_better else base - best
    if gain <= 0:
        return "no better than the naive baseline"
    if not greater_is_better and base > 0:
        return f"{gain / base:.0%} lower error than the naive baseline ({fmt(base)} to {fmt(best)})"
    return f"better than the naive baseline by {fmt(gain)} ({fmt(base)} to {fmt(best)})"


def executive_summary(
    analysis: dict[str, Any], findings: list[dict[str, Any]], profile: dict[str, Any] | None
) -> dict[str, Any]:
    """``{"points": [sentences], "warnings": [sentences]}`` for the top of the report."""
    run = analysis["run"]
    pts: list[str] = []
    gib = run["greater_is_better"]
    pts.append(
        f"The question: predict {run['target']!r} ({TASK_PHRASE.get(run['task'], run['task'])}) "
        f"from {run['n_rows']:,} rows and {run['n_features']} input features."
    )
    pts.append(
        f"What works: the best model scores {fmt(run['best_score'])} on {run['metric']} "
        f"({run['metric_description']}; {'higher' if gib else 'lower'} is better), measured "
        f"only on rows each model did not learn from ({run['protocol']['description']})."
    )
    base = analysis.get("baseline", {}).get("score")
    if base is not None:
        pts.append(
            "Against a naive guess: "
            + analysis["baseline"]["description"].replace("naive baseline: ", "a baseline that ")
            + f" scores {fmt(base)}; the model is "
            + improvement(run["best_score"], base, gib)
            + "."
        )
    imp = (analysis.get("importance") or {}).get("features") or []
    drivers = [f["feature"] for f in imp[:3] if f["importance"] > 0]
    if drivers:
        pts.append(
            "Main drivers: the predictions depend most on "
            + _join(drivers)
            + f" (scrambling {drivers[0]!r} costs {fmt(imp[0]['importance'])} of {run['metric']})."
        )
    tied = [m for m in analysis.get("comparison", {}).get("tied_with_best", [])]
    if len(tied) > 1:
        pts.append(
            f"{len(tied) - 1} other candidate(s) are statistically indistinguishable from the best, "
            "so the choice among them matters little."
        )
    lc = analysis.get("learning_curve") or {}
    if lc.get("verdict", {}).get("more_data_helps") is not None:
        pts.append(
            "More data: "
            + (
                "collecting more rows would likely improve the model."
                if lc["verdict"]["more_data_helps"]
                else "more rows of the same kind are unlikely to improve it much."
            )
        )
    nc = analysis.get("null_check")
    if nc is not None:
        pts.append(
            "Leakage check: "
            + (
                "ALARM, the model finds patterns even in scrambled targets, so its scores "
                "cannot be trusted until the cause is found."
                if nc.get("alarm")
                else "on scrambled targets the model does no better than chance, as it should."
            )
        )
    warnings = [
        f["message"]
        for f in findings
        if f.get("severity") in ("critical", "warning")
        and f.get("code") not in ("leakage_alarm", "fairness_gap")  # said above
    ]
    fair = analysis.get("fairness")
    if fair:
        if fair.get("flagged"):
            pts.append(
                "Fairness: large gaps between groups of "
                + _join(fair["flagged"])
                + " (see the fairness section)."
            )
        else:
            pts.append(
                "Fairness: no large gap between groups of "
                + _join([c["column"] for c in fair["columns"]])
                + "."
            )
    if profile and profile.get("findings"):
        warnings += [
            f["message"]
            for f in profile["findings"]
            if f.get("severity") in ("critical", "warning")
        ]
    seen: set[str] = set()
    uniq = [w for w in warnings if not (w in seen or seen.add(w))]
    return {"points": pts, "warnings": uniq[:8]}


def _join(items: list[str]) -> str:
    q = [repr(i) if not i.startswith("'") else i for i in items]
    return q[0] if len(q) == 1 else ", ".join(q[:-1]) + " and " + q[-1]
