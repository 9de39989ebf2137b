"""The signal study's HTML report: verdict first, then metrics, IC per period and the
cumulative return curves of both protocols, with charts drawn by matplotlib."""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

import numpy as np

from mlresearcher.store.atomic import write_text


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    s = buf.getvalue()
    return s[s.find("<svg") :]


def _charts(name: str, r: dict[str, Any]) -> tuple[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3))
    for proto, style in (("walk_forward", "-"), ("shuffled", "--")):
        bt = r[proto]["_bt"]
        curve = bt.curve
        ax.plot(
            np.asarray(curve.index),
            curve.to_numpy(),
            style,
            label=f"{proto.replace('_', '-')} (net of costs)",
        )
    ax.set_yscale("log")
    ax.set_ylabel("growth of 1")
    ax.set_title(f"{name}: cumulative return, sign-following / long-short", fontsize=9)
    ax.legend(fontsize=8)
    curve_svg = _svg(fig)
    fig, ax = plt.subplots(figsize=(8, 2.5))
    ics = r["walk_forward"]["_ics"]
    colors = ["#2a7" if v > 0 else "#c44" for v in ics["ic"]]
    ax.bar(range(len(ics)), ics["ic"], color=colors, width=1.0)
    ax.axhline(
        r["walk_forward"]["ic_mean"],
        color="k",
        lw=1,
        label=f"mean {r['walk_forward']['ic_mean']:.3f}",
    )
    ax.set_ylabel("IC (Spearman)")
    ax.set_xlabel("test period")
    ax.set_title(f"{name}: walk-forward IC per period", fontsize=9)
    ax.legend(fontsize=8)
    return curve_svg, _svg(fig)


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "–" if not np.isfinite(v) else f"{v:.4g}"
    return html.escape(str(v))


ROWS = [
    ("rmse", "RMSE"),
    ("r2", "R²"),
    ("direction_accuracy", "direction accuracy"),
    ("ic_mean", "mean IC"),
    ("ic_t", "IC t-statistic"),
    ("ic_p", "IC p-value"),
    ("hit_rate", "IC hit rate"),
    ("n_periods", "periods"),
]
BT_ROWS = [
    ("sharpe", "Sharpe (net, annualised)"),
    ("sharpe_gross", "Sharpe (gross)"),
    ("total_return", "total return (net)"),
    ("annual_return", "annual return (net)"),
    ("max_drawdown", "maximum drawdown"),
    ("mean_turnover", "mean turnover per period"),
]


def write_signal_report(out_dir: Path, spec, summary, results, fr, rows) -> Path:
    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>signal study {e(spec.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}td:first-child{text-align:left}.verdict{background:#f6f6e8;padding:.6em;"
        "border-left:4px solid #aa4}</style></head><body>",
        f"<h1>Signal study {e(spec.name)}</h1>",
        f"<p>data {e(Path(summary['data']).name)}: {summary['n_rows']} labelled rows, "
        f"{summary['n_test_rows']} predicted out of sample; label: {e(summary['label'])}; "
        f"features: {e(', '.join(summary['features']))}.<br>protocol: {e(summary['protocol'])}; "
        f"transaction cost {summary['cost_bps']} bp per unit turnover.</p>",
    ]
    for name, r in results.items():
        parts.append(
            f"<h2>{e(name)}</h2><p class='verdict'><b>Honesty:</b> {e(r['verdict']['text'])}</p>"
        )
        parts.append(
            "<table><tr><th></th><th>walk-forward</th><th>shuffled k-fold (naive)</th></tr>"
        )
        for key, label in ROWS:
            parts.append(
                f"<tr><td>{label}</td><td>{_fmt(r['walk_forward'][key])}</td><td>{_fmt(r['shuffled'][key])}</td></tr>"
            )
        for key, label in BT_ROWS if r["walk_forward"]["backtest"] is not None else []:
            parts.append(
                f"<tr><td>{label}</td><td>{_fmt(r['walk_forward']['backtest'][key])}</td>"
                f"<td>{_fmt(r['shuffled']['backtest'][key])}</td></tr>"
            )
        parts.append("</table>")
        curve, ic = _charts(name, r)
        parts += [curve, ic]
    parts.append(f"<p>wall time {summary['wall_time']} s</p></body></html>")
    path = out_dir / "report.html"
    write_text(path, "\n".join(parts))
    return path
