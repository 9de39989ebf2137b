"""Data-quality findings from the per-column statistics and the rows.

Thresholds (each is the point where a careful reader would want to know):

* missing values: a warning at 50 % or more, information from 5 %;
* near-constant: one value in at least 99 % of non-missing rows;
* skew: |skewness| >= 2; outliers: at least 1 % of values beyond the 3 x IQR fences;
* high cardinality: the ``high_cardinality`` role (more than 32 levels, repeated);
* class imbalance: the smallest class under 10 % of rows, or fewer than 10 rows;
* duplicates: identical rows (features and target), and identical features with a
  different target (conflicting labels put a ceiling on any model's score).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.data.task import Target
from mlresearcher.findings import Finding

MISSING_WARN = 0.5
MISSING_INFO = 0.05
NEAR_CONSTANT = 0.99
SKEW = 2.0
OUTLIERS = 0.01
MINORITY = 0.10
MIN_CLASS_ROWS = 10


def column_findings(stats: dict[str, Any]) -> list[Finding]:
    col = stats["name"]
    role = stats["role"]
    out: list[Finding] = []
    miss = stats["missing_fraction"]
    if role == "constant":
        out.append(
            Finding(
                "constant_column",
                "info",
                f"column {col!r} has {'no values' if stats['n_unique'] == 0 else 'a single value'}; a run drops it",
                column=col,
                evidence={"n_unique": stats["n_unique"], "missing_fraction": miss},
                action="none needed; it carries no information",
            )
        )
        return out
    if role == "id":
        out.append(
            Finding(
                "id_like_column",
                "warning",
                f"column {col!r} looks like an identifier (unique per row); a run drops it",
                column=col,
                evidence={
                    "n_unique": stats["n_unique"],
                    "unique_fraction": stats["unique_fraction"],
                },
                action="if it carries meaning, convert it to a meaningful feature before the run",
            )
        )
        return out
    if miss >= MISSING_INFO:
        out.append(
            Finding(
                "missing_values",
                "warning" if miss >= MISSING_WARN else "info",
                f"column {col!r} is {miss:.1%} missing",
                column=col,
                evidence={"missing_fraction": miss, "n_missing": stats["n_missing"]},
                action="models handle missing values; check whether they are missing at random"
                if miss < MISSING_WARN
                else "most values are missing: check the source, or drop the column",
            )
        )
    top = stats.get("top_fraction")
    if top is not None and top >= NEAR_CONSTANT:
        out.append(
            Finding(
                "near_constant_column",
                "info",
                f"column {col!r} has one value in {top:.1%} of rows",
                column=col,
                evidence={"top_fraction": top, "top": stats.get("top")},
                action="little information; consider dropping it",
            )
        )
    if stats.get("n_infinite"):
        out.append(
            Finding(
                "infinite_values",
                "warning",
                f"column {col!r} holds {stats['n_infinite']} infinite value(s); runs treat them as missing",
                column=col,
                evidence={"n_infinite": stats["n_infinite"]},
                action="fix the computation that produced them (division by zero?)",
            )
        )
    if role == "numeric":
        skew = stats.get("skew")
        if skew is not None and abs(skew) >= SKEW and stats["n_unique"] > 2:
            out.append(
                Finding(
                    "skewed_column",
                    "info",
                    f"column {col!r} is heavily skewed (skewness {skew:.1f})",
                    column=col,
                    evidence={"skew": skew, "p50": stats.get("p50"), "p99": stats.get("p99")},
                    action="tree models are unaffected; for linear models a log transform may help",
                )
            )
        if stats.get("outlier_fraction", 0) >= OUTLIERS:
            out.append(
                Finding(
                    "outliers",
                    "info",
                    f"column {col!r} has {stats['outlier_fraction']:.1%} values beyond 3 x IQR",
                    column=col,
                    evidence={
                        "n_outliers": stats["n_outliers"],
                        "outlier_fraction": stats["outlier_fraction"],
                        "p25": stats.get("p25"),
                        "p75": stats.get("p75"),
                        "min": stats.get("min"),
                        "max": stats.get("max"),
                    },
                    action="check for data-entry errors or sentinel values (e.g. 99999)",
                )
            )
    if role == "high_cardinality":
        out.append(
            Finding(
                "high_cardinality",
                "info",
                f"column {col!r} has {stats['n_unique']} levels ({stats.get('n_rare_levels', 0)} seen fewer than 5 times)",
                column=col,
                evidence={
                    "n_unique": stats["n_unique"],
                    "n_rare_levels": stats.get("n_rare_levels"),
                },
                action="runs target-encode it inside each training fold; group rare levels if they are noise",
            )
        )
    return out


def duplicate_findings(
    row_hash: np.ndarray, feature_hash: np.ndarray, y: np.ndarray | None
) -> tuple[dict[str, Any], list[Finding]]:
    n = len(row_hash)
    dup_rows = int(pd.Series(row_hash).duplicated().sum())
    info: dict[str, Any] = {
        "n_duplicate_rows": dup_rows,
        "duplicate_fraction": round(dup_rows / n, 6) if n else 0.0,
    }
    out: list[Finding] = []
    if dup_rows:
        out.append(
            Finding(
                "duplicate_rows",
                "warning" if dup_rows / n >= 0.01 else "info",
                f"{dup_rows} row(s) ({dup_rows / n:.2%}) are exact duplicates of an earlier row",
                evidence=info.copy(),
                action="if duplicates are data-collection artefacts, remove them: copies on both "
                "sides of a fold inflate cross-validated scores",
            )
        )
    if y is not None:
        frame = pd.DataFrame({"f": feature_hash, "y": y})
        per = frame.groupby("f", sort=False)["y"].nunique()
        conflicted = per[per > 1]
        n_conf = int(frame["f"].isin(conflicted.index).sum())
        info["n_conflicting_rows"] = n_conf
        if n_conf:
            out.append(
                Finding(
                    "conflicting_duplicates",
                    "warning" if n_conf / n >= 0.01 else "info",
                    f"{n_conf} row(s) share identical features with a different target "
                    f"({len(conflicted)} groups)",
                    evidence={"n_conflicting_rows": n_conf, "n_groups": int(len(conflicted))},
                    action="label noise or missing features: no model can separate these rows",
                )
            )
    return info, out


def target_summary(target: Target) -> tuple[dict[str, Any], list[Finding]]:
    out: list[Finding] = []
    d: dict[str, Any] = {"name": target.name, "task": target.task, "n_rows": int(len(target.y))}
    if target.task == "regression":
        from mlresearcher.profile.columns import numeric_stats

        d.update(numeric_stats(target.y.astype("float64")))
        if d.get("skew") is not None and abs(d["skew"]) >= SKEW:
            out.append(
                Finding(
                    "skewed_target",
                    "info",
                    f"target {target.name!r} is heavily skewed (skewness {d['skew']:.1f})",
                    column=target.name,
                    evidence={"skew": d["skew"]},
                    action="consider predicting its logarithm, or a metric like mae that large values dominate less",
                )
            )
        return d, out
    counts = np.bincount(target.y, minlength=target.n_classes)
    classes = [str(c) for c in target.classes or []]
    d["classes"] = classes
    d["class_counts"] = {c: int(n) for c, n in zip(classes, counts, strict=True)}
    share = counts / counts.sum()
    d["minority_share"] = round(float(share.min()), 6)
    d["imbalance_ratio"] = round(float(counts.max() / max(1, counts.min())), 3)
    smallest = classes[int(np.argmin(counts))]
    if share.min() < MINORITY:
        out.append(
            Finding(
                "class_imbalance",
                "warning",
                f"class {smallest!r} is {share.min():.1%} of rows (imbalance {d['imbalance_ratio']:.0f}:1)",
                column=target.name,
                evidence={"class_counts": d["class_counts"], "minority_share": d["minority_share"]},
                action="judge models with roc_auc, average_precision or balanced_accuracy, not "
                "accuracy; folds are stratified",
            )
        )
    few = [c for c, n in zip(classes, counts, strict=True) if n < MIN_CLASS_ROWS]
    if few:
        out.append(
            Finding(
                "rare_class",
                "warning",
                f"class(es) {', '.join(map(repr, few[:5]))} have fewer than {MIN_CLASS_ROWS} rows",
                column=target.name,
                evidence={"classes": few},
                action="scores for these classes are unreliable; collect more rows or merge classes",
            )
        )
    return d, out
