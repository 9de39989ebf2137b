"""The profile of a table: per-column statistics plus findings, as one value object.

Cost model: statistics, duplicates and missingness tests use every row (vectorised);
the model-based checks (single-column scores, near-copies, mutual information,
adversarial validation) use a seeded row sample, so a million rows cost little more than
a hundred thousand. The profile only reports: it never changes the data a run trains on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.data.schema import ColumnInfo
from mlresearcher.data.task import Target
from mlresearcher.findings import Finding
from mlresearcher.profile import leakage, pii, quality
from mlresearcher.profile.columns import column_stats
from mlresearcher.profile.table import compact
from mlresearcher.profile.table import roles as roles_of

SAMPLE_ROWS = 20_000  # single-column scores, near-copies, timestamps
MI_ROWS = 2_000  # mutual information (nearest-neighbour estimates cost more per row)
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass
class Profile:
    """What the data is like (``columns``) and what a reader should know (``findings``)."""

    n_rows: int
    n_columns: int
    columns: list[dict[str, Any]]
    findings: list[Finding]
    target: dict[str, Any] | None = None
    shift: dict[str, Any] | None = None
    duplicates: dict[str, Any] = field(default_factory=dict)
    sample: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "columns": self.columns,
            "findings": [f.to_dict() for f in self.findings],
            "target": self.target,
            "shift": self.shift,
            "duplicates": self.duplicates,
            "sample": self.sample,
            "timings": self.timings,
        }

    def column(self, name: str) -> dict[str, Any]:
        for c in self.columns:
            if c["name"] == name:
                return c
        raise KeyError(name)


def _row_hash(df: pd.DataFrame) -> np.ndarray:
    try:
        return pd.util.hash_pandas_object(df, index=False).to_numpy()
    except TypeError:  # unhashable cells (lists, dicts)
        return pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy()


def profile_features(
    X: pd.DataFrame,
    target: Target | None = None,
    *,
    infos: list[ColumnInfo] | None = None,
    test: pd.DataFrame | None = None,
    time_column: str | None = None,
    seed: int = 0,
    sample_rows: int = SAMPLE_ROWS,
    mi_rows: int = MI_ROWS,
) -> Profile:
    """Profile feature frame ``X`` (rows aligned with ``target.y`` when a target is given).

    ``infos`` are the column roles (inferred when not given, as ``run`` does);
    ``time_column`` is the prediction-time reference for the future-timestamp check;
    ``test`` adds adversarial validation against a test table.
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[name] = round(now - t0, 4)
        t0 = now

    X, dtypes = compact(X.reset_index(drop=True))
    n = len(X)
    if infos is None:
        infos = roles_of(X, dtypes, exclude={time_column: "time"} if time_column else None)
    roles = {c.name: c.role for c in infos}
    if time_column:
        roles[time_column] = "datetime"
    lap("roles")
    findings: list[Finding] = []
    columns = []
    for info in infos:
        st = column_stats(X[info.name], info)
        columns.append(st)
        findings += quality.column_findings(st)
    lap("columns")
    for st in columns:
        if st["role"] in ("constant", "datetime") or (
            st["role"] == "numeric" and not _may_be_long_digits(st)
        ):
            continue
        kind, share = pii.pii_kind(X[st["name"]], st["name"], seed)
        st["pii"] = kind
        if kind:
            findings.append(pii.pii_finding(st["name"], kind, share))
    lap("pii")
    feat_hash = _row_hash(X)
    y_enc = target.y if target is not None else None
    if y_enc is not None:
        row_hash = feat_hash * np.uint64(31) + pd.util.hash_array(np.asarray(y_enc))
    else:
        row_hash = feat_hash
    dup_info, dup_findings = quality.duplicate_findings(row_hash, feat_hash, y_enc)
    findings += dup_findings
    lap("duplicates")
    target_info = None
    sample: dict[str, Any] = {"seed": seed}
    if target is not None:
        target_info, tf = quality.target_summary(target)
        findings += tf
        by_name = {c["name"]: c for c in columns}
        for st in columns:
            if 0 < st["n_missing"] < n:
                ev = leakage.missingness_association(X[st["name"]], target)
                if ev is None:
                    continue
                st["missing_target_association"] = ev
                if ev["p_value"] < leakage.MISSING_P and ev["effect"] >= leakage.MISSING_EFFECT:
                    findings.append(leakage.missingness_finding(st["name"], ev))
        lap("missingness")
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(n, sample_rows, replace=False)) if n > sample_rows else None
        Xs = X.iloc[idx].reset_index(drop=True) if idx is not None else X
        ts = _subset_target(target, idx)
        sample.update({"n_rows": len(Xs), "sampled": idx is not None})
        usable = [c.name for c in infos if c.role != "constant"]
        scores = leakage.single_column_scores(Xs[usable], roles, ts, seed)
        for c, s in scores.items():
            by_name[c]["single_column_score"] = s
        findings += leakage.single_column_findings(scores, target.task)
        lap("single_column")
        findings += leakage.target_copy_findings(Xs[usable], roles, ts, scores)
        lap("target_copy")
        if time_column:
            findings += leakage.future_timestamp_findings(Xs, roles, time_column)
        mi_idx = np.sort(rng.choice(len(Xs), mi_rows, replace=False)) if len(Xs) > mi_rows else None
        Xm = Xs.iloc[mi_idx].reset_index(drop=True) if mi_idx is not None else Xs
        feat = [c.name for c in infos if c.role not in ("constant", "id", "group", "time")]
        mi = leakage.mutual_information(Xm[feat], roles, _subset_target(ts, mi_idx), seed)
        for c, m in mi.items():
            by_name[c]["mutual_information"] = m
        sample["n_rows_mutual_information"] = len(Xm)
        af = leakage.association_finding(mi)
        if af is not None:
            findings.append(af)
        lap("mutual_information")
    shift = None
    if test is not None:
        from mlresearcher.profile.shift import adversarial_validation

        shift, sf = adversarial_validation(X, test.reset_index(drop=True), roles, seed)
        findings += sf
        overlap = int(
            np.isin(
                _row_hash(test[[c for c in X.columns if c in test.columns]]),
                _row_hash(X[[c for c in X.columns if c in test.columns]]),
            ).sum()
        )
        shift["n_test_rows_in_train"] = overlap
        if overlap:
            findings.append(
                Finding(
                    "test_rows_in_train",
                    "warning",
                    f"{overlap} test row(s) also appear in the training data",
                    evidence={"n_rows": overlap, "n_test_rows": len(test)},
                    action="remove them from the test data, or its score is optimistic",
                )
            )
        lap("shift")
    findings.sort(key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
    return Profile(
        n_rows=n,
        n_columns=X.shape[1],
        columns=columns,
        findings=findings,
        target=target_info,
        shift=shift,
        duplicates=dup_info,
        sample=sample,
        timings=timings,
    )


def in_run_sample(time_limit: float | None) -> dict[str, int]:
    """Sample sizes for the profile inside a run: 200 rows per second of budget (between
    2,000 and ``SAMPLE_ROWS``), so the profile stays a few percent of a short budget."""
    rows = SAMPLE_ROWS if time_limit is None else int(min(SAMPLE_ROWS, max(2000, 200 * time_limit)))
    return {"sample_rows": rows, "mi_rows": min(MI_ROWS, rows)}


def _may_be_long_digits(st: dict[str, Any]) -> bool:
    """A numeric column that could hold phone or card numbers (integers of 9+ digits)."""
    mx = st.get("max")
    return mx is not None and abs(mx) >= 1e8 and st.get("n_unique", 0) > 1


def _subset_target(target: Target, idx: np.ndarray | None) -> Target:
    if idx is None:
        return target
    return Target(target.name, target.task, target.y[idx], target.classes)
