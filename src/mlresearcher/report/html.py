"""``report.html``: one self-contained page (inline CSS, plots as data URIs, no script).

Nothing in the page refers to another file or host, so it opens offline and makes no
network request. The executive summary comes first; the technical sections follow in the
order of the analysis.
"""

from __future__ import annotations

import html
from typing import Any

from mlresearcher.report import plots
from mlresearcher.report.summary import executive_summary, fmt

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;
background:#f6f7f9;line-height:1.45}
main{max-width:1000px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:1.6em;margin:0 0 4px}h2{margin-top:2em;border-bottom:2px solid #e3e6ea;
padding-bottom:4px}h3{margin-top:1.4em}
.meta{color:#5b6472;font-size:.9em}
.summary{background:#eef4fb;border-left:4px solid #2f6db5;padding:12px 18px;margin:18px 0}
.summary li{margin:4px 0}.warn{background:#fff4e5;border-left:4px solid #d9822b;
padding:10px 18px;margin:12px 0}.alarm{background:#fdecea;border-left:4px solid #c62828;
padding:10px 18px;margin:12px 0}
table{border-collapse:collapse;font-size:.85em;margin:8px 0}th,td{border-bottom:1px solid #e3e6ea;
padding:4px 8px;text-align:right}th{background:#f0f2f5}td.l,th.l{text-align:left}
tr.tied td{background:#f1f7ff}img{max-width:100%;height:auto}
.grid{display:flex;flex-wrap:wrap;gap:12px}.note{color:#5b6472;font-size:.88em}
nav a{margin-right:12px;font-size:.9em}code{background:#f0f2f5;padding:1px 4px}
"""


def esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]], cls=None) -> str:
    """An HTML table of ``rows`` with ``columns`` = [(key, header)]; text columns left."""
    if not rows:
        return "<p class='note'>(none)</p>"
    head = "".join(
        f"<th class='l'>{esc(h)}</th>" if i == 0 else f"<th>{esc(h)}</th>"
        for i, (_, h) in enumerate(columns)
    )
    body = []
    for r in rows:
        cells = []
        for i, (k, _) in enumerate(columns):
            v = r.get(k)
            txt = fmt(v) if isinstance(v, float) else ("" if v is None else str(v))
            cells.append(f"<td class='l'>{esc(txt)}</td>" if i == 0 else f"<td>{esc(txt)}</td>")
        klass = f" class='{cls(r)}'" if cls and cls(r) else ""
        body.append(f"<tr{klass}>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def img(uri: str | None, alt: str) -> str:
    return f"<img src='{uri}' alt='{esc(alt)}'>" if uri else ""


def render_html(
    analysis: dict[str, Any],
    findings: list[dict[str, Any]],
    profile: dict[str, Any] | None = None,
    manifest: dict[str, Any] | None = None,
) -> str:
    run = analysis["run"]
    summ = executive_summary(analysis, findings, profile)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>mlresearcher report: {esc(run['target'])} ({esc(run['run_id'])})</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>Predicting {esc(run['target'])}</h1>",
        f"<div class='meta'>run {esc(run['run_id'])} · {esc(run['task'])} · metric "
        f"{esc(run['metric'])} · {esc(run['protocol']['description'])}</div>",
        "<nav><a href='#summary'>Summary</a><a href='#data'>Data</a><a href='#comparison'>"
        "Comparison</a><a href='#explanations'>Explanations</a><a href='#diagnostics'>"
        "Diagnostics</a><a href='#fairness'>Fairness</a><a href='#method'>Method</a></nav>",
        "<section id='summary'><h2>Executive summary</h2><div class='summary'><ul>",
        *[f"<li>{esc(p)}</li>" for p in summ["points"]],
        "</ul></div>",
    ]
    if summ["warnings"]:
        parts.append("<div class='warn'><b>Warnings</b><ul>")
        parts += [f"<li>{esc(w)}</li>" for w in summ["warnings"]]
        parts.append("</ul></div>")
    parts.append("</section>")
    parts += _data(profile, findings)
    parts += _comparison(analysis)
    parts += _explanations(analysis)
    parts += _diagnostics(analysis)
    parts += _fairness(analysis)
    parts += _method(analysis, manifest)
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _data(profile: dict[str, Any] | None, findings: list[dict[str, Any]]) -> list[str]:
    out = ["<section id='data'><h2>Data and findings</h2>"]
    if profile:
        out.append(
            f"<p>{profile.get('n_rows', 0):,} rows, {profile.get('n_columns', 0)} columns.</p>"
        )
        cols = profile.get("columns")
        if isinstance(cols, list) and cols and isinstance(cols[0], dict):
            keys = [
                k for k in ("name", "role", "dtype", "missing_fraction", "n_unique") if k in cols[0]
            ]
            out.append(table(cols[:60], [(k, k.replace("_", " ")) for k in keys]))
        shift = profile.get("shift")
        if isinstance(shift, dict):
            drivers = list((shift.get("column_auc") or {}).items())[:5]
            driven = ", ".join(f"{k} ({fmt(v)})" for k, v in drivers)
            out.append(
                f"<p>Train/test shift: adversarial validation AUC {esc(fmt(shift.get('auc')))}"
                + (f"; columns driving it: {esc(driven)}" if driven else "")
                + ".</p>"
            )
        pf = profile.get("findings") or []
        if pf:
            out.append("<h3>Data profile findings</h3>")
            out.append(_findings_table(pf))
    else:
        out.append("<p class='note'>No data profile for this run (profile.json absent).</p>")
    shown = {(f.get("code"), f.get("column")) for f in (profile or {}).get("findings") or []}
    out.append("<h3>Run findings</h3>")
    out.append(
        _findings_table([f for f in findings if (f.get("code"), f.get("column")) not in shown])
    )
    out.append("</section>")
    return out


def _findings_table(findings: list[dict[str, Any]]) -> str:
    order = {"critical": 0, "warning": 1, "info": 2}
    rows = sorted(findings, key=lambda f: order.get(f.get("severity", "info"), 3))
    return (
        table(
            rows,
            [
                ("severity", "severity"),
                ("code", "code"),
                ("column", "column"),
                ("message", "finding"),
                ("action", "suggested action"),
            ],
        )
        .replace("<td>", "<td class='l'>")
        .replace("<th>", "<th class='l'>")
    )


def _comparison(a: dict[str, Any]) -> list[str]:
    c = a.get("comparison", {})
    run = a["run"]
    out = ["<section id='comparison'><h2>Honest comparison</h2>"]
    out.append(
        f"<p>Every candidate was scored on the same {c.get('n_folds')} folds. Intervals and "
        f"p-values use the {esc(c.get('method'))}: the variance of the mean fold score is "
        f"multiplied by 1/J + n_test/n_train = {fmt(c.get('variance_factor'))} instead of 1/J, "
        "because folds share training rows. Rows shaded blue are not distinguishable from "
        f"the best at α = {c.get('alpha')}. The ensemble's weights were chosen on the same "
        "out-of-fold rows, so its score is mildly optimistic.</p>"
    )
    if not c.get("testable"):
        out.append("<p class='note'>A single holdout gives one score per model: no test.</p>")
    base = a.get("baseline", {})
    out.append(
        f"<p>{esc(str(base.get('description', '')).capitalize())}: "
        f"{esc(fmt(base.get('score')))}.</p>"
    )
    rows = [r for r in c.get("leaderboard", []) if r.get("status") == "complete"][:20]
    out.append(
        table(
            rows,
            [
                ("model", "model"),
                ("rank", "rank"),
                ("score", run["metric"]),
                ("ci_low", "95% CI low"),
                ("ci_high", "95% CI high"),
                ("p_vs_best", "p vs best"),
                ("tied_with_best", "tied with best"),
                ("n_folds", "folds"),
                ("weight", "ensemble weight"),
            ],
            cls=lambda r: "tied" if r.get("tied_with_best") else "",
        )
    )
    out.append(img(plots.comparison(c), "confidence intervals of the candidates"))
    nc = a.get("null_check")
    out.append("<h3>Null check (permuted target)</h3>")
    if nc:
        t = nc["test"]
        box = "alarm" if nc["alarm"] else "note"
        verdict = (
            "LEAKAGE ALARM: the pipeline beats chance on noise."
            if nc["alarm"]
            else "No alarm: the pipeline does not beat chance on noise."
        )
        out.append(
            f"<div class='{box}'><b>{esc(verdict)}</b> The best single pipeline "
            f"({esc(nc['pipeline']['family'])}) was re-run on the same folds with the target "
            f"permuted ({esc(nc['permutation'])}). It scored {esc(fmt(nc['model_score']))} "
            f"against the naive baseline's {esc(fmt(nc['baseline_score']))}; {esc(t['name'])}: "
            f"t = {esc(fmt(t.get('t')))}, p = {esc(fmt(t.get('p')))} (alarm below "
            f"{t['alpha']}).</div>"
        )
    else:
        out.append("<p class='note'>Not run (see the method section for why).</p>")
    lc = a.get("learning_curve")
    out.append("<h3>Learning curve</h3>")
    if lc:
        out.append(img(plots.learning_curve(lc), "learning curve"))
        out.append(f"<p>{esc(lc['verdict']['text'].capitalize())}.</p>")
    else:
        out.append("<p class='note'>Not run (see the method section for why).</p>")
    out.append("</section>")
    return out


def _explanations(a: dict[str, Any]) -> list[str]:
    run = a["run"]
    out = ["<section id='explanations'><h2>Explanations</h2>", "<h3>Permutation importance</h3>"]
    imp = a.get("importance")
    if imp and imp.get("features"):
        out.append(
            f"<p>{esc(imp['method'])}, over {imp['folds_used']} folds × {imp['n_repeats']} "
            f"shuffles; units: {esc(run['metric'])}.</p>"
        )
        out.append(img(plots.importance(imp), "permutation importance"))
    else:
        out.append("<p class='note'>Not available.</p>")
    sh = a.get("shap")
    out.append("<h3>SHAP values</h3>")
    if sh and sh.get("available"):
        cls = f", class {sh['explained_class']!r}" if sh.get("explained_class") else ""
        out.append(
            f"<p>TreeSHAP of {esc(sh['model'])} (weight {fmt(sh['weight'])} in the final model"
            f"{esc(cls)}), each fold model on its own validation rows ({sh['n_rows']} rows); "
            f"units: {esc(sh['units'])}.</p>"
        )
        out.append(img(plots.shap_summary(sh), "SHAP summary"))
        out.append(
            "<p class='note'>Each dot is a row; colour is the feature's value (blue low, red "
            "high, grey missing or not a number).</p>"
        )
        out.append("<div class='grid'>")
        out += [
            img(plots.shap_dependence(d, sh["units"]), "SHAP dependence") for d in sh["dependence"]
        ]
        out.append("</div>")
    else:
        out.append(f"<p class='note'>{esc((sh or {}).get('reason', 'Not available.'))}</p>")
    pd_ = a.get("partial_dependence")
    out.append("<h3>Partial dependence</h3>")
    if pd_ and pd_.get("features"):
        out.append(
            f"<p>Average prediction of the final model when one feature is set to each value, "
            f"over {pd_['n_rows']} rows.</p><div class='grid'>"
        )
        out += [
            img(plots.partial_dependence(e, run.get("classes"), run["task"]), "partial dependence")
            for e in pd_["features"]
        ]
        out.append("</div>")
    else:
        out.append("<p class='note'>Not available.</p>")
    out.append("</section>")
    return out


def _diagnostics(a: dict[str, Any]) -> list[str]:
    out = ["<section id='diagnostics'><h2>Diagnostics</h2>"]
    cal = a.get("calibration")
    if cal:
        extra = (
            f", multiclass Brier {fmt(cal['multiclass_brier'])}"
            if "multiclass_brier" in cal
            else ""
        )
        out.append(
            f"<h3>Calibration</h3><p>Brier score {fmt(cal['brier'])} ({esc(cal['what'])}), "
            f"expected calibration error {fmt(cal['expected_calibration_error'])}{extra}.</p>"
        )
        out.append("<div class='grid'>" + img(plots.calibration(cal), "calibration curve"))
        out.append(img(plots.confusion(a.get("confusion")), "confusion matrix") + "</div>")
    res = a.get("residuals")
    if res:
        out.append(
            f"<h3>Residuals</h3><p>MAE {fmt(res['mae'])}, RMSE {fmt(res['rmse'])}, mean residual "
            f"{fmt(res['mean'])} (out of fold).</p>"
        )
        out.append(img(plots.residuals(res), "residual plots"))
    sl = a.get("error_slices")
    out.append("<h3>Error slices</h3>")
    if sl:
        out.append(
            f"<p>Subgroups with the highest {esc(sl['measure'])} (overall {fmt(sl['overall'])}; "
            f"slices of at least {sl['min_size']} rows).</p>"
        )
        out.append(
            table(
                sl["worst"],
                [
                    ("slice", "slice"),
                    ("size", "rows"),
                    ("share", "share"),
                    ("error", "error"),
                    ("ratio_to_overall", "× overall"),
                ],
            )
        )
    out.append("</section>")
    return out


def _fairness(a: dict[str, Any]) -> list[str]:
    out = ["<section id='fairness'><h2>Fairness</h2>"]
    fair = a.get("fairness")
    if not fair:
        out.append(
            "<p class='note'>No sensitive column given (use <code>--sensitive COL</code>).</p>"
            "</section>"
        )
        return out
    th = fair["thresholds"]
    out.append(
        f"<p>Per-group metrics on {esc(fair['predictions'])} (Fairlearn MetricFrame). Flagged "
        f"when a demographic-parity or equalized-odds difference exceeds {th['gap']}, or the "
        f"worst group's MAE exceeds {th['mae_ratio']}× the best's. Groups under "
        f"{th['small_group']} rows are noisy.</p>"
    )
    for c in fair["columns"]:
        flag = " (FLAGGED)" if c["flagged"] else ""
        out.append(f"<h3>{esc(c['column'])}{esc(flag)}</h3>")
        if c.get("small_groups"):
            out.append(f"<p class='note'>Small groups: {esc(', '.join(c['small_groups']))}</p>")
        if "per_class" in c:
            for p in c["per_class"]:
                out.append(
                    f"<p>Positive class {esc(p['positive_class'])}: demographic-parity "
                    f"difference {fmt(p['demographic_parity_difference'])}, equalized-odds "
                    f"difference {fmt(p['equalized_odds_difference'])}.</p>"
                )
                out.append(
                    table(
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
            out.append(
                f"<p>MAE difference {fmt(c['mae_difference'])}, worst/best MAE ratio "
                f"{fmt(c['mae_ratio_worst_to_best'])}.</p>"
            )
            out.append(
                table(
                    c["by_group"],
                    [
                        (c["column"], "group"),
                        ("count", "rows"),
                        ("mae", "MAE"),
                        ("rmse", "RMSE"),
                        ("mean_prediction", "mean prediction"),
                    ],
                )
            )
    out.append("</section>")
    return out


def _method(a: dict[str, Any], manifest: dict[str, Any] | None) -> list[str]:
    run = a["run"]
    out = ["<section id='method'><h2>Method and reproducibility</h2><ul>"]
    out.append(f"<li>Protocol: {esc(run['protocol']['description'])}.</li>")
    out.append(
        f"<li>{run['n_trials']} trials; the search stopped because: "
        f"{esc(run['stopped_because'])}.</li>"
    )
    out.append(f"<li>Final model: {esc(run['final_model'])}.</li>")
    if manifest:
        out.append(
            f"<li>Data hash {esc(str(manifest.get('data_hash'))[:16])}…, seed "
            f"{esc(manifest.get('seed'))}, command <code>{esc(manifest.get('command'))}</code>.</li>"
        )
        env = manifest.get("environment") or {}
        pk = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items() if v)
        out.append(f"<li>Python {esc(env.get('python'))}; {esc(pk)}.</li>")
    tm = a.get("timings") or {}
    out.append(
        "<li>Analysis time (s): " + esc(", ".join(f"{k} {v}" for k, v in tm.items())) + ".</li>"
    )
    for s in a.get("skipped") or []:
        out.append(f"<li>Left out: {esc(s)}.</li>")
    out.append("</ul></section>")
    return out
