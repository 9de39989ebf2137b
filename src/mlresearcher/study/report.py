"""A study's outputs: tables, statistics, the critical-difference diagram and an HTML report.

:func:`write_outputs` writes into ``<out>/<study-name>/``:

``results.csv``            every complete cell (method, dataset, seed, metric, score, time)
``summary.csv``            mean/std/n per dataset and method, best flag, p-value vs best
``tables.md``/``tables.tex`` one table per metric (see :mod:`mlresearcher.study.tables`)
``statistics.json``        average ranks, Friedman, Nemenyi and Conover-Holm p-values, CD
``win_tie_loss.csv``       W/T/L of each method (row) against each other (column)
``cd_diagram.svg``         critical-difference diagram (matplotlib)
``report.html``            all of the above on one self-contained page
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from mlresearcher.store.atomic import write_text
from mlresearcher.study import stats, tables


def cd_diagram_svg(cmp: stats.Comparison) -> str | None:
    """The critical-difference diagram as SVG text (``None`` without a post-hoc test).

    Demšar's (2006, figure 1) layout, drawn with matplotlib: an axis of average ranks from 1
    (best, at the left) to k; each method's name and average rank at the end of a line from
    its rank, the better half to the left, the worse half to the right; a thick bar under
    the axis joining each group of methods the Nemenyi test cannot tell apart at ``alpha``
    (:func:`stats.indistinguishable_groups`); and the critical difference as a bar of that
    length above the axis. Text stays text (``<text>`` elements, searchable in the report)
    and the output is byte-for-byte deterministic: no date, fixed element ids, matplotlib's
    default style whatever the user's matplotlibrc. Artists carry SVG ids: ``cd-tick-<r>``
    for the axis tick at rank ``r``, ``cd-label-<i>`` for the ``i``-th method in rank order,
    ``cd-group-<g>`` for the ``g``-th bar (best-ranked first) and ``cd-cd`` for the CD bar.
    """
    if cmp.nemenyi is None or cmp.cd is None:
        return None
    import matplotlib.style
    from matplotlib.figure import Figure

    ranks = cmp.ranks.sort_values(kind="stable")
    names, values = list(ranks.index), ranks.to_numpy(dtype=float)
    k = len(names)
    groups = stats.indistinguishable_groups(ranks, cmp.nemenyi, cmp.alpha)
    # Stack the bars: each goes on the first level where it overlaps no bar already there.
    overhang = 0.04 * max(k - 1, 1) / 4  # so a bar over tied ranks still shows
    levels: list[list[tuple[float, float]]] = []
    bars = []
    for g in groups:
        lo, hi = float(ranks[g[0]]) - overhang, float(ranks[g[-1]]) + overhang
        level = next(
            (i for i, spans in enumerate(levels) if all(hi < a or lo > b for a, b in spans)),
            len(levels),
        )
        if level == len(levels):
            levels.append([])
        levels[level].append((lo, hi))
        bars.append((lo, hi, -0.3 - 0.25 * level))
    n_left = (k + 1) // 2
    first_row = -0.3 - 0.25 * len(levels) - 0.25
    row_step = 0.4
    n_rows = max(n_left, k - n_left)
    x_left, x_right = 1.0 - 0.15 * max(k - 1, 1) / 4 - 0.1, k + 0.15 * max(k - 1, 1) / 4 + 0.1
    line = {"color": "black", "linewidth": 0.8, "clip_on": False, "solid_capstyle": "butt"}
    text = {"fontsize": 8, "va": "center", "clip_on": False, "parse_math": False}

    with (
        matplotlib.style.context("default"),
        matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "mlresearcher-cd-diagram"}),
    ):
        fig = Figure(figsize=(7, 1.0 + 0.25 * len(levels) + 0.3 * n_rows))
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.set_xlim(x_left, x_right)
        ax.set_ylim(first_row - row_step * (n_rows - 1) - 0.2, 1.3)
        # the rank axis, 1..k, with ticks and their numbers above it
        ax.plot([1, k], [0, 0], **line)
        for r in range(1, k + 1):
            ax.plot([r, r], [0, 0.12], gid=f"cd-tick-{r}", **line)
            ax.text(r, 0.3, str(r), ha="center", **text)
        # the critical difference, from rank 1, above the axis
        ax.plot([1, 1 + cmp.cd], [0.75, 0.75], gid="cd-cd", **{**line, "linewidth": 1.5})
        for x in (1, 1 + cmp.cd):
            ax.plot([x, x], [0.67, 0.83], **line)
        ax.text(1 + cmp.cd / 2, 1.0, f"CD = {cmp.cd:.2f}", ha="center", **text)
        for g, (lo, hi, y) in enumerate(bars):
            ax.plot([lo, hi], [y, y], gid=f"cd-group-{g}", **{**line, "linewidth": 3.5})
        # each method: down from its rank, then out to its label; the best on the left, top
        # row nearest the axis, and the worst on the right, top row, so no two lines cross
        for i, (name, r) in enumerate(zip(names, values, strict=True)):
            if i < n_left:
                y, x_end, label, ha = first_row - row_step * i, x_left, f"{name} ({r:.2f})", "right"
            else:
                y, x_end, label, ha = (
                    first_row - row_step * (k - 1 - i),
                    x_right,
                    f"({r:.2f}) {name}",
                    "left",
                )
            ax.plot([r, r, x_end], [0, y, y], **line)
            pad = 0.03 if ha == "left" else -0.03
            ax.text(x_end + pad, y, label, ha=ha, gid=f"cd-label-{i}", **text)
        ax.set_title(
            f"average ranks over {cmp.n_datasets} datasets (1 = best); bars join methods the "
            f"Nemenyi test cannot tell apart; CD = {cmp.cd:.2f}",
            fontsize=8,
        )
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def analyse(cells: list[dict[str, Any]], methods: list[str], alpha: float) -> dict[str, Any]:
    df = stats.results_frame(cells)
    per = stats.per_dataset(df, methods, alpha) if len(df) else pd.DataFrame()
    cmp = stats.compare(df, methods, alpha) if len(df) else None
    wtl = stats.win_tie_loss(per, df, methods, alpha) if len(df) else None
    return {"df": df, "per": per, "cmp": cmp, "wtl": wtl}


def statistics_dict(cmp: stats.Comparison) -> dict[str, Any]:
    def frame(f: pd.DataFrame | None):
        return (
            None if f is None else {r: {c: float(f.loc[r, c]) for c in f.columns} for r in f.index}
        )

    return {
        "methods": cmp.methods,
        "n_datasets": cmp.n_datasets,
        "average_ranks": {k: float(v) for k, v in cmp.ranks.items()},
        "friedman": {"statistic": cmp.friedman_stat, "p_value": cmp.friedman_p},
        "nemenyi_p": frame(cmp.nemenyi),
        "conover_holm_p": frame(cmp.conover),
        "critical_difference": cmp.cd,
        "alpha": cmp.alpha,
        "notes": cmp.notes,
    }


def write_outputs(
    out_dir: Path,
    name: str,
    cells: list[dict[str, Any]],
    methods: list[str],
    alpha: float,
    wall_time: float | None = None,
) -> Path:
    """Write every output file; return the report's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    a = analyse(cells, methods, alpha)
    df, per, cmp, wtl = a["df"], a["per"], a["cmp"], a["wtl"]
    write_text(
        out_dir / "results.csv", df.sort_values(["dataset", "method", "seed"]).to_csv(index=False)
    )
    mts = tables.metric_tables(per, methods) if len(per) else {}
    md = "\n".join(tables.to_markdown(m, t) for m, t in mts.items())
    write_text(out_dir / "tables.md", md)
    write_text(out_dir / "tables.tex", "\n".join(tables.to_latex(m, t) for m, t in mts.items()))
    if len(per):
        write_text(out_dir / "summary.csv", tables.to_csv_frame(per).to_csv(index=False))
    svg = None
    if cmp is not None:
        write_text(out_dir / "statistics.json", json.dumps(statistics_dict(cmp), indent=2))
        svg = cd_diagram_svg(cmp)
        if svg:
            write_text(out_dir / "cd_diagram.svg", svg)
    if wtl is not None:
        write_text(out_dir / "win_tie_loss.csv", wtl.to_csv())
    report = out_dir / "report.html"
    write_text(report, _html(name, cells, methods, mts, cmp, wtl, svg, wall_time))
    return report


def _html(name, cells, methods, mts, cmp, wtl, svg, wall_time) -> str:
    e = html.escape
    n_ok = sum(c["status"] == "complete" for c in cells)
    failed = [c for c in cells if c["status"] != "complete"]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>study {e(name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th:first-child,td:first-child{text-align:left}.note{color:#666}</style>",
        f"</head><body><h1>Study {e(name)}</h1>",
        f"<p>{n_ok} complete cell(s), {len(failed)} failed; methods: {e(', '.join(methods))}"
        + (f"; wall time of the last invocation {wall_time:.0f} s" if wall_time is not None else "")
        + "</p>",
    ]
    parts.append("<h2>Results per metric</h2>")
    for metric, t in mts.items():
        arrow = "higher" if t.attrs["greater_is_better"] else "lower"
        parts.append(
            f"<h3>{e(metric)} ({arrow} is better)</h3><p class='note'>mean ± std over seeds; "
            "<b>bold</b>: best on the dataset; †: not significantly different from the best "
            "(paired t-test over seeds)</p><table><tr><th>dataset</th>"
            + "".join(f"<th>{e(m)}</th>" for m in t.columns)
            + "</tr>"
        )
        for ds, row in t.iterrows():
            cells_html = "".join(
                f"<td>{tables._cell_text(row[m], ('<b>', '</b>'), '†', '±')}</td>"
                for m in t.columns
            )
            parts.append(f"<tr><td>{e(str(ds))}</td>{cells_html}</tr>")
        ranks = t.attrs["ranks"]
        parts.append(
            "<tr><td><i>average rank</i></td>"
            + "".join(f"<td>{ranks[m]:.2f}</td>" for m in t.columns)
            + "</tr></table>"
        )
    if cmp is not None:
        parts.append("<h2>Across datasets</h2>")
        parts.append(
            "<table><tr><th>method</th><th>average rank</th></tr>"
            + "".join(f"<tr><td>{e(m)}</td><td>{r:.2f}</td></tr>" for m, r in cmp.ranks.items())
            + "</table>"
        )
        if cmp.friedman_p is not None:
            verdict = "differ" if cmp.friedman_p < cmp.alpha else "are not shown to differ"
            parts.append(
                f"<p>Friedman test over {cmp.n_datasets} datasets: χ² = {cmp.friedman_stat:.3f}, "
                f"p = {cmp.friedman_p:.4g}: the methods {verdict} at α = {cmp.alpha}. "
                f"Nemenyi critical difference of average ranks: {cmp.cd:.3f}.</p>"
            )
            for title, f in (
                ("Nemenyi p-values", cmp.nemenyi),
                ("Conover p-values (Holm-adjusted)", cmp.conover),
            ):
                parts.append(f"<h3>{title}</h3>" + f.to_html(float_format=lambda v: f"{v:.4f}"))
        for note in cmp.notes:
            parts.append(f"<p class='note'>{e(note)}</p>")
        if svg:
            parts.append("<h3>Critical-difference diagram</h3>" + svg[svg.find("<svg") :])
    if wtl is not None:
        parts.append(
            "<h2>Win / tie / loss</h2><p class='note'>row method against column method, over "
            "datasets; a tie is a difference that is not significant</p>" + wtl.to_html()
        )
    if failed:
        parts.append(
            "<h2>Failed cells</h2><table><tr><th>method</th><th>dataset</th><th>seed</th><th>error</th></tr>"
        )
        for c in failed:
            err = (c.get("error") or "").splitlines()[0] if c.get("error") else ""
            parts.append(
                f"<tr><td>{e(c['method'])}</td><td>{e(c['dataset'])}</td><td>{c['seed']}</td><td>{e(err)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
