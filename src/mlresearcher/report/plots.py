"""Figures of the report, drawn with matplotlib (Agg) from ``analysis.json`` alone.

Each function takes one section of the analysis and returns a ``data:image/png;base64``
URI (embedded in the HTML, so the report opens offline) or ``None`` when the section has
nothing to draw.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

_BLUE, _ORANGE, _GREY = "#2f6db5", "#d9822b", "#8a8f98"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _uri(fig: Any) -> str:
    plt = _plt()
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=96)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def comparison(section: dict[str, Any], top: int = 15) -> str | None:
    rows = [
        r
        for r in section.get("leaderboard", [])
        if r.get("status") == "complete" and r.get("ci_low") is not None
    ][:top]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 0.32 * len(rows) + 1.0))
    ys = np.arange(len(rows))[::-1]
    for yv, r in zip(ys, rows, strict=True):
        tied = r.get("tied_with_best")
        color = _BLUE if tied else _GREY
        ax.plot([r["ci_low"], r["ci_high"]], [yv, yv], color=color, lw=2)
        ax.plot(r["score"], yv, "o", color=color)
    ax.set_yticks(ys, [r["model"] for r in rows])
    ax.set_xlabel("score, 95% corrected interval (blue: tied with the best)")
    return _uri(fig)


def learning_curve(section: dict[str, Any] | None) -> str | None:
    if not section or not section.get("points"):
        return None
    pts = [p for p in section["points"] if p.get("mean") is not None]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    x = [p["n_train"] for p in pts]
    m = [p["mean"] for p in pts]
    e = [2 * (p["se"] or 0.0) for p in pts]
    ax.errorbar(x, m, yerr=e, marker="o", color=_BLUE, capsize=3)
    ax.set_xlabel("training rows per fold")
    ax.set_ylabel(section.get("metric", "score"))
    ax.set_title("learning curve (mean over folds ± 2 standard errors)")
    return _uri(fig)


def importance(section: dict[str, Any] | None, top: int = 15) -> str | None:
    if not section or not section.get("features"):
        return None
    feats = section["features"][:top][::-1]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.0, 0.3 * len(feats) + 1.0))
    ax.barh(
        [f["feature"] for f in feats],
        [f["importance"] for f in feats],
        xerr=[f["std"] for f in feats],
        color=_BLUE,
    )
    ax.set_xlabel(f"{section.get('metric')} lost when shuffled")
    return _uri(fig)


def shap_summary(section: dict[str, Any] | None) -> str | None:
    if not section or not section.get("available"):
        return None
    feats = section["summary"][::-1]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(feats) + 1.2))
    rng = np.random.default_rng(0)
    for i, f in enumerate(feats):
        v = np.asarray(f["shap"], dtype=float)
        c = np.asarray([np.nan if r is None else r for r in f["value_rank"]], dtype=float)
        jitter = rng.uniform(-0.25, 0.25, len(v))
        ok = np.isfinite(c)
        ax.scatter(v[~ok], i + jitter[~ok], s=6, color=_GREY, alpha=0.6)
        ax.scatter(v[ok], i + jitter[ok], s=6, c=c[ok], cmap="coolwarm", vmin=0, vmax=1, alpha=0.8)
    ax.axvline(0, color="black", lw=0.5)
    ax.set_yticks(range(len(feats)), [f["feature"] for f in feats])
    ax.set_xlabel(f"SHAP value ({section.get('units')})")
    return _uri(fig)


def shap_dependence(entry: dict[str, Any], units: str) -> str | None:
    x, v = entry.get("x") or [], entry.get("shap") or []
    if not x:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 3.0))
    nums = [isinstance(a, int | float) and not isinstance(a, bool) for a in x if a is not None]
    if nums and all(nums):
        pairs = [(a, b) for a, b in zip(x, v, strict=True) if a is not None]
        ax.scatter([p[0] for p in pairs], [p[1] for p in pairs], s=6, color=_BLUE, alpha=0.6)
    else:
        labels = sorted({str(a) for a in x})[:25]
        pos = {lab: i for i, lab in enumerate(labels)}
        pts = [(pos[str(a)], b) for a, b in zip(x, v, strict=True) if str(a) in pos]
        jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(pts))
        ax.scatter([p[0] + j for p, j in zip(pts, jitter, strict=True)], [p[1] for p in pts], s=6)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel(entry["feature"])
    ax.set_ylabel(f"SHAP value ({units})")
    return _uri(fig)


def partial_dependence(entry: dict[str, Any], classes: list[str] | None, task: str) -> str | None:
    grid, avg = entry.get("grid") or [], np.asarray(entry.get("average") or [], dtype=float)
    if not grid:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 3.0))
    xs = np.arange(len(grid)) if entry["kind"] == "categorical" else np.asarray(grid, dtype=float)
    if avg.ndim == 1:
        ax.plot(xs, avg, marker=".", color=_BLUE)
        ax.set_ylabel("average prediction")
    elif task == "binary":
        ax.plot(xs, avg[:, 1], marker=".", color=_BLUE)
        ax.set_ylabel(f"average P({(classes or ['', '1'])[1]})")
    else:
        for j in range(avg.shape[1]):
            ax.plot(xs, avg[:, j], marker=".", label=(classes or [])[j] if classes else str(j))
        ax.legend(fontsize=7)
        ax.set_ylabel("average class probability")
    if entry["kind"] == "categorical":
        ax.set_xticks(xs, grid, rotation=45, ha="right")
    ax.set_xlabel(entry["feature"])
    return _uri(fig)


def calibration(section: dict[str, Any] | None) -> str | None:
    if not section:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.plot([0, 1], [0, 1], ls="--", color=_GREY, lw=1)
    ax.plot(section["mean_predicted"], section["fraction_positive"], marker="o", color=_BLUE)
    ax.set_xlabel(f"mean predicted ({section['what']})")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"calibration (Brier {section['brier']:.4f})")
    return _uri(fig)


def confusion(section: dict[str, Any] | None) -> str | None:
    if not section:
        return None
    m = np.asarray(section["matrix"], dtype=float)
    labels = section["labels"]
    plt = _plt()
    size = 2.5 + 0.45 * len(labels)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(
                j,
                i,
                f"{int(m[i, j])}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share[i, j] > 0.6 else "black",
            )
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    return _uri(fig)


def residuals(section: dict[str, Any] | None) -> str | None:
    if not section:
        return None
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    a.scatter(section["predicted"], section["residual"], s=5, alpha=0.5, color=_BLUE)
    a.axhline(0, color="black", lw=0.5)
    a.set_xlabel("prediction")
    a.set_ylabel("residual (target - prediction)")
    b.hist(section["residual"], bins=40, color=_BLUE)
    b.set_xlabel("residual")
    b.set_ylabel("rows")
    return _uri(fig)
