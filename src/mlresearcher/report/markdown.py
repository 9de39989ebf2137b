"""``report.md`` (the report as text and tables) and ``model_card.md``."""

from __future__ import annotations

from typing import Any

from mlresearcher.report.summary import executive_summary, fmt


def md_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    if not rows:
        return "(none)\n"

    def cell(v: Any) -> str:
        s = fmt(v) if isinstance(v, float) else ("" if v is None else str(v))
        return s.replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(h for _, h in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(cell(r.get(k)) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body]) + "\n"


def render_markdown(
    analysis: dict[str, Any],
    findings: list[dict[str, Any]],
    profile: dict[str, Any] | None = None,
) -> str:
    run = analysis["run"]
    s = executive_summary(analysis, findings, profile)
    out = [
        f"# Predicting {run['target']}",
        "",
        f"Run `{run['run_id']}` · {run['task']} · "
        f"metric {run['metric']} · {run['protocol']['description']}",
        "",
        "## Executive summary",
        "",
    ]
    out += [f"- {p}" for p in s["points"]]
    if s["warnings"]:
        out += ["", "**Warnings**", ""] + [f"- {w}" for w in s["warnings"]]
    out += ["", "## Findings", ""]
    out.append(
        md_table(
            findings,
            [
                ("severity", "severity"),
                ("code", "code"),
                ("column", "column"),
                ("message", "finding"),
                ("action", "suggested action"),
            ],
        )
    )
    if profile:
        out += [
            "## Data profile",
            "",
            f"{profile.get('n_rows', 0):,} rows, {profile.get('n_columns', 0)} columns.",
            "",
        ]
        if profile.get("findings"):
            out.append(
                md_table(
                    profile["findings"],
                    [("severity", "severity"), ("code", "code"), ("message", "finding")],
                )
            )
    c = analysis.get("comparison", {})
    out += [
        "## Honest comparison",
        "",
        f"{c.get('method')}; variance factor 1/J + "
        f"n_test/n_train = {fmt(c.get('variance_factor'))}; α = {c.get('alpha')}. "
        f"Naive baseline: {fmt(analysis.get('baseline', {}).get('score'))}.",
        "",
    ]
    rows = [r for r in c.get("leaderboard", []) if r.get("status") == "complete"][:20]
    out.append(
        md_table(
            rows,
            [
                ("rank", "rank"),
                ("model", "model"),
                ("score", run["metric"]),
                ("ci_low", "CI low"),
                ("ci_high", "CI high"),
                ("p_vs_best", "p vs best"),
                ("tied_with_best", "tied with best"),
            ],
        )
    )
    nc = analysis.get("null_check")
    out += ["### Null check", ""]
    if nc:
        out.append(
            f"{'**LEAKAGE ALARM**' if nc['alarm'] else 'No alarm'}: on a permuted target the "
            f"best pipeline ({nc['pipeline']['family']}) scored {fmt(nc['model_score'])} vs "
            f"the baseline's {fmt(nc['baseline_score'])}; {nc['test']['name']}, "
            f"p = {fmt(nc['test'].get('p'))}.\n"
        )
    else:
        out.append("Not run.\n")
    lc = analysis.get("learning_curve")
    out += ["### Learning curve", ""]
    if lc:
        out.append(
            md_table(
                lc["points"],
                [
                    ("fraction", "fraction"),
                    ("n_train", "rows"),
                    ("mean", "mean"),
                    ("se", "std. error"),
                ],
            )
        )
        out.append(lc["verdict"]["text"] + ".\n")
    else:
        out.append("Not run.\n")
    out += ["## Explanations", "", "### Permutation importance (out of fold)", ""]
    imp = analysis.get("importance") or {}
    out.append(
        md_table(
            imp.get("features", [])[:15],
            [("feature", "feature"), ("importance", "importance"), ("std", "std")],
        )
    )
    sh = analysis.get("shap") or {}
    out += ["### SHAP", ""]
    if sh.get("available"):
        out.append(f"TreeSHAP of {sh['model']} ({sh['units']}).\n")
        out.append(
            md_table(sh["summary"], [("feature", "feature"), ("mean_abs_shap", "mean |SHAP|")])
        )
    else:
        out.append(f"{sh.get('reason', 'Not available.')}\n")
    out += ["## Diagnostics", ""]
    cal = analysis.get("calibration")
    if cal:
        out.append(
            f"Brier score {fmt(cal['brier'])} ({cal['what']}); expected calibration "
            f"error {fmt(cal['expected_calibration_error'])}.\n"
        )
    conf = analysis.get("confusion")
    if conf:
        rows = [
            {"actual": lab, **dict(zip(conf["labels"], r, strict=True))}
            for lab, r in zip(conf["labels"], conf["matrix"], strict=True)
        ]
        out.append(
            md_table(
                rows, [("actual", "actual \\ predicted")] + [(lab, lab) for lab in conf["labels"]]
            )
        )
    res = analysis.get("residuals")
    if res:
        out.append(
            f"Residuals: MAE {fmt(res['mae'])}, RMSE {fmt(res['rmse'])}, mean {fmt(res['mean'])}.\n"
        )
    sl = analysis.get("error_slices")
    if sl:
        out += ["### Error slices", "", f"{sl['measure']}, overall {fmt(sl['overall'])}.", ""]
        out.append(
            md_table(
                sl["worst"],
                [
                    ("slice", "slice"),
                    ("size", "rows"),
                    ("error", "error"),
                    ("ratio_to_overall", "x overall"),
                ],
            )
        )
    out += ["## Fairness", ""]
    out.append(_fairness_md(analysis.get("fairness")))
    if analysis.get("skipped"):
        out += ["## Left out", ""] + [f"- {x}" for x in analysis["skipped"]] + [""]
    return "\n".join(out)


def _fairness_md(fair: dict[str, Any] | None) -> str:
    if not fair:
        return "No sensitive column given (`--sensitive COL`).\n"
    out = []
    for c in fair["columns"]:
        out.append(f"### {c['column']}{' (flagged)' if c['flagged'] else ''}\n")
        if "per_class" in c:
            for p in c["per_class"]:
                out.append(
                    f"Positive class {p['positive_class']}: demographic-parity difference "
                    f"{fmt(p['demographic_parity_difference'])}, equalized-odds difference "
                    f"{fmt(p['equalized_odds_difference'])}.\n"
                )
                out.append(
                    md_table(
                        p["by_group"],
                        [
                            (c["column"], "group"),
                            ("count", "rows"),
                            ("selection_rate", "selection rate"),
                            ("tpr", "TPR"),
                            ("fpr", "FPR"),
                            ("accuracy", "accuracy"),
                        ],
                    )
                )
        else:
            out.append(f"Worst/best MAE ratio {fmt(c['mae_ratio_worst_to_best'])}.\n")
            out.append(
                md_table(
                    c["by_group"],
                    [(c["column"], "group"), ("count", "rows"), ("mae", "MAE"), ("rmse", "RMSE")],
                )
            )
    return "\n".join(out)


def render_model_card(
    analysis: dict[str, Any],
    findings: list[dict[str, Any]],
    manifest: dict[str, Any] | None = None,
) -> str:
    run = analysis["run"]
    base = analysis.get("baseline", {})
    crit = [f for f in findings if f.get("severity") in ("critical", "warning")]
    fair = analysis.get("fairness")
    lc = (analysis.get("learning_curve") or {}).get("verdict", {})
    out = [
        f"# Model card: {run['target']} ({run['run_id']})",
        "",
        "## Model",
        "",
        f"- Task: {run['task']} prediction of `{run['target']}`"
        + (f" (classes: {', '.join(run['classes'])})" if run.get("classes") else ""),
        f"- Final model: {run['final_model']}",
        f"- Built by mlresearcher from {run['n_trials']} cross-validated trials.",
        "",
        "## Intended use",
        "",
        f"- Predicting `{run['target']}` for new rows drawn from the same population and "
        "collected the same way as the training data, with the same columns.",
        "- Not for: data from another population, period or collection process without "
        "re-validation; decisions about individuals without human review, especially where "
        "the fairness section below shows gaps.",
        "",
        "## Data",
        "",
        f"- {run['n_rows']:,} training rows, {run['n_features']} prepared features.",
    ]
    if manifest:
        out.append(
            f"- Source: `{manifest.get('data_source')}`; data hash "
            f"`{str(manifest.get('data_hash'))[:16]}`."
        )
    out += [
        "",
        "## Metrics",
        "",
        f"- {run['metric']} ({run['metric_description']}): {fmt(run['best_score'])} "
        f"({run['protocol']['description']}).",
        f"- Naive baseline: {fmt(base.get('score'))}.",
    ]
    cal = analysis.get("calibration")
    if cal:
        out.append(f"- Brier score {fmt(cal['brier'])} ({cal['what']}).")
    res = analysis.get("residuals")
    if res:
        out.append(f"- Out-of-fold MAE {fmt(res['mae'])}, RMSE {fmt(res['rmse'])}.")
    out += ["", "## Fairness", ""]
    if fair:
        for c in fair["columns"]:
            if "per_class" in c:
                worst = max(c["per_class"], key=lambda p: p["equalized_odds_difference"])
                out.append(
                    f"- `{c['column']}`: demographic-parity difference "
                    f"{fmt(worst['demographic_parity_difference'])}, equalized-odds difference "
                    f"{fmt(worst['equalized_odds_difference'])}"
                    + (" (flagged)" if c["flagged"] else "")
                )
            else:
                out.append(
                    f"- `{c['column']}`: worst/best group MAE ratio "
                    f"{fmt(c['mae_ratio_worst_to_best'])}" + (" (flagged)" if c["flagged"] else "")
                )
    else:
        out.append("- Not assessed: no sensitive column was given (`--sensitive COL`).")
    out += ["", "## Limitations", ""]
    out.append(
        "- Scores are cross-validated estimates on the training population; the ensemble's "
        "weights were chosen on the same out-of-fold rows, so its score is mildly optimistic."
    )
    if lc.get("text"):
        out.append(f"- Learning curve: {lc['text']}.")
    nc = analysis.get("null_check")
    if nc and nc.get("alarm"):
        out.append(
            "- LEAKAGE ALARM: the pipeline beats chance on a permuted target; the "
            "scores above are not trustworthy."
        )
    out += [f"- {f['message']}" for f in crit[:10]]
    sl = (analysis.get("error_slices") or {}).get("worst") or []
    if sl:
        out.append(
            f"- Weakest subgroup: {sl[0]['slice']} ({sl[0]['size']} rows, error "
            f"{fmt(sl[0]['error'])} vs {fmt(analysis['error_slices']['overall'])})."
        )
    return "\n".join(out) + "\n"
