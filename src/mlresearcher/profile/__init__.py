"""Data findings: quality, leakage suspects, associations, personal data, train/test shift.

``profile_table(df, target=...)`` profiles a raw table the way ``mlresearcher profile``
does; :func:`profile_features` profiles the feature frame inside a run (the first stage of
every ``run``). Both return a :class:`Profile`: per-column statistics and a list of
:class:`~mlresearcher.findings.Finding`, most severe first.
"""

from __future__ import annotations

import pandas as pd

from mlresearcher.profile.core import (
    MI_ROWS,
    SAMPLE_ROWS,
    Profile,
    in_run_sample,
    profile_features,
)


def profile_table(
    df: pd.DataFrame,
    target: str | None = None,
    *,
    test: pd.DataFrame | None = None,
    time_column: str | None = None,
    task: str | None = None,
    seed: int = 0,
    sample_rows: int = SAMPLE_ROWS,
) -> Profile:
    """Profile a table; with ``target``, also the target and the leakage checks.

    Rows with a missing target are left out of the target-based checks (as a run drops
    them) and reported as a finding. The test table, when given, is compared with the
    training features (its target column, if present, is ignored).
    """
    from mlresearcher.data.task import encode_target, find_target_column

    if time_column is not None:
        find_target_column([str(c) for c in df.columns], time_column, "--time column")
    if target is None:
        return profile_features(
            df, None, test=test, time_column=time_column, seed=seed, sample_rows=sample_rows
        )
    name = find_target_column([str(c) for c in df.columns], target)
    X, y = df.drop(columns=[name]), df[name]
    enc, keep = encode_target(y.reset_index(drop=True), str(y.name), task)
    X = X.reset_index(drop=True)
    if not keep.all():
        X = X.loc[keep].reset_index(drop=True)
    if test is not None and str(y.name) in test.columns:
        test = test.drop(columns=[str(y.name)])
    prof = profile_features(
        X, enc, test=test, time_column=time_column, seed=seed, sample_rows=sample_rows
    )
    extra = [f for f in enc.findings if f.code != "task_inferred"]
    if extra:
        prof.findings = sorted(
            extra + prof.findings, key=lambda f: {"critical": 0, "warning": 1}.get(f.severity, 2)
        )
    return prof


__all__ = [
    "MI_ROWS",
    "SAMPLE_ROWS",
    "Profile",
    "in_run_sample",
    "profile_features",
    "profile_table",
]
