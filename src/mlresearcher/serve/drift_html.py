"""The drift report as one self-contained HTML page (no scripts, no external assets)."""

from __future__ import annotations

from html import escape
from typing import Any


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return escape(str(v))


def _row(cells: list[Any], flagged: bool) -> str:
    cls = ' class="drift"' if flagged else ""
    return f"<tr{cls}>" + "".join(f"<td>{_fmt(c)}</td>" for c in cells) + "</tr>"


def render_html(report: dict[str, Any], title: str = "Drift report") -> str:
    """HTML for a report from :func:`mlresearcher.serve.drift.drift_report`."""
    verdict = "DRIFT" if report["drift"] else "no drift"
    th = report["thresholds"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>",
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}",
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
        "text-align:right}td:first-child{text-align:left}tr.drift{background:#fdd}",
        ".verdict{font-size:1.4em;font-weight:bold}.yes{color:#b00}.no{color:#070}",
        "</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p class='verdict {'yes' if report['drift'] else 'no'}'>{verdict}</p>",
    ]
    if report["reasons"]:
        parts.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in report["reasons"]) + "</ul>")
    parts.append(
        f"<p>{report['n_current']:,} current rows against {report['n_reference']:,} reference "
        f"rows. A column drifts when PSI &ge; {th['psi']} and its Bonferroni-adjusted p-value "
        f"(over {th['bonferroni_tests']} tests) is below {th['alpha']}. Generated "
        f"{escape(report['generated_at'])}.</p>"
    )
    parts.append("<h2>Features</h2><table><tr>")
    heads = [
        "column",
        "role",
        "test",
        "PSI",
        "statistic",
        "adjusted p",
        "missing (ref)",
        "missing (now)",
        "drift",
    ]
    parts.append("".join(f"<th>{h}</th>" for h in heads) + "</tr>")
    for f in report["features"]:
        parts.append(
            _row(
                [
                    f["column"],
                    f["role"],
                    f["test"],
                    f["psi"],
                    f["statistic"],
                    f["p_adjusted"],
                    f["reference_missing"],
                    f["current_missing"],
                    "yes" if f["drifted"] else "no",
                ],
                f["drifted"],
            )
        )
    parts.append("</table>")
    pred = report.get("prediction")
    if pred:
        parts.append(f"<h2>Predictions ({escape(pred['compared'])})</h2><table><tr>")
        parts.append(
            "".join(f"<th>{h}</th>" for h in ["test", "PSI", "statistic", "adjusted p", "drift"])
        )
        parts.append("</tr>")
        parts.append(
            _row(
                [
                    pred["test"],
                    pred["psi"],
                    pred["statistic"],
                    pred["p_adjusted"],
                    "yes" if pred["drifted"] else "no",
                ],
                pred["drifted"],
            )
        )
        parts.append("</table>")
    perf = report.get("performance")
    if perf:
        lo, hi = perf["current_interval_95"]
        parts.append("<h2>Performance</h2><table><tr>")
        parts.append(
            "".join(
                f"<th>{h}</th>"
                for h in [
                    "metric",
                    "training estimate",
                    "current",
                    "95% interval",
                    "rows",
                    "degraded",
                ]
            )
        )
        parts.append("</tr>")
        parts.append(
            _row(
                [
                    perf["metric"],
                    perf["training_estimate"],
                    perf["current"],
                    f"{lo:.4g} to {hi:.4g}",
                    perf["n_labelled"],
                    "yes" if perf["degraded"] else "no",
                ],
                perf["degraded"],
            )
        )
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)


__all__ = ["render_html"]
