"""Study tables: one per metric, in Markdown, LaTeX and CSV.

Each cell reads ``mean ± std`` over seeds; the best method of a dataset is in bold; a
dagger (†) marks a method whose difference from that best is not significant (paired
t-test over seeds at the study's ``alpha``). The last row gives average ranks over the
datasets of that table.
"""

from __future__ import annotations

import math

import pandas as pd

DAGGER = "†"


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    a = abs(v)
    if a != 0 and (a >= 1e4 or a < 1e-3):
        return f"{v:.3g}"
    return f"{v:.4f}" if a < 10 else f"{v:.2f}"


def metric_tables(per: pd.DataFrame, methods: list[str]) -> dict[str, pd.DataFrame]:
    """``{metric: frame}`` with one row per dataset and columns per method, holding
    ``(mean, std, best, not_sig)`` tuples; plus the ``average rank`` row."""
    out = {}
    for metric, d in per.groupby("metric", sort=True):
        rows = {}
        for ds, dd in d.groupby("dataset", sort=True):
            row = {}
            for m in methods:
                r = dd[dd["method"] == m]
                row[m] = (
                    None
                    if r.empty
                    else (
                        r["mean"].iloc[0],
                        r["std"].iloc[0],
                        bool(r["best"].iloc[0]),
                        bool(r["not_sig"].iloc[0]),
                    )
                )
            rows[ds] = row
        t = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=methods)
        gib = bool(d["greater_is_better"].iloc[0])
        means = t.map(lambda c: c[0] if c else float("nan"))
        ranks = means.rank(axis=1, ascending=not gib, method="average").mean(axis=0)
        t.attrs["ranks"] = ranks
        t.attrs["greater_is_better"] = gib
        out[str(metric)] = t
    return out


def _cell_text(c, bold: tuple[str, str], dagger: str, pm: str) -> str:
    if c is None:
        return "–"
    mean, std, best, not_sig = c
    s = (
        f"{_fmt(mean)} {pm} {_fmt(std)}"
        if not (isinstance(std, float) and math.isnan(std))
        else _fmt(mean)
    )
    if best:
        s = f"{bold[0]}{s}{bold[1]}"
    if not_sig:
        s += dagger
    return s


def to_markdown(metric: str, t: pd.DataFrame) -> str:
    arrow = "higher" if t.attrs["greater_is_better"] else "lower"
    head = f"**{metric}** ({arrow} is better; mean ± std over seeds; bold: best; {DAGGER}: not significantly different from the best)\n\n"
    cols = list(t.columns)
    lines = ["| dataset | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for ds, row in t.iterrows():
        lines.append(
            f"| {ds} | "
            + " | ".join(_cell_text(row[m], ("**", "**"), DAGGER, "±") for m in cols)
            + " |"
        )
    ranks = t.attrs["ranks"]
    lines.append("| *average rank* | " + " | ".join(f"{ranks[m]:.2f}" for m in cols) + " |")
    return head + "\n".join(lines) + "\n"


def _tex(s: str) -> str:
    return (
        s.replace("\\", "\\textbackslash{}")
        .replace("_", "\\_")
        .replace("&", "\\&")
        .replace("%", "\\%")
    )


def to_latex(metric: str, t: pd.DataFrame) -> str:
    cols = list(t.columns)
    arrow = "higher" if t.attrs["greater_is_better"] else "lower"
    lines = [
        "\\begin{table}[t]",
        "\\centering",
        f"\\caption{{{_tex(metric)} ({arrow} is better): mean $\\pm$ std over seeds; best in bold; "
        "$^\\dagger$ not significantly different from the best.}",
        "\\begin{tabular}{l" + "r" * len(cols) + "}",
        "\\toprule",
        "dataset & " + " & ".join(_tex(c) for c in cols) + " \\\\",
        "\\midrule",
    ]
    for ds, row in t.iterrows():
        cells = [_cell_text(row[m], ("\\textbf{", "}"), "$^\\dagger$", "$\\pm$") for m in cols]
        lines.append(f"{_tex(str(ds))} & " + " & ".join(cells) + " \\\\")
    ranks = t.attrs["ranks"]
    lines += [
        "\\midrule",
        "average rank & " + " & ".join(f"{ranks[m]:.2f}" for m in cols) + " \\\\",
        "\\bottomrule",
        "\\end{tabular}",
        "\\end{table}",
    ]
    return "\n".join(lines) + "\n"


def to_csv_frame(per: pd.DataFrame) -> pd.DataFrame:
    """The long table behind every metric table (one row per dataset and method)."""
    return per[
        ["dataset", "metric", "method", "mean", "std", "n", "best", "p_vs_best", "not_sig"]
    ].sort_values(["metric", "dataset", "method"])
