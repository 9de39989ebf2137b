"""The ``monitor`` stage: score new data with a run's model and report drift and performance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlresearcher.errors import DataError
from mlresearcher.serve.drift import ALPHA, PERF_TOLERANCE, PSI_THRESHOLD, drift_report, performance


def monitor(
    run: str | Path,
    data: Any,
    *,
    labels: str | None = None,
    runs_dir: str | Path = "runs",
    psi_threshold: float = PSI_THRESHOLD,
    alpha: float = ALPHA,
    perf_tolerance: float = PERF_TOLERANCE,
) -> dict[str, Any]:
    """The drift report of ``data`` (a path or a frame) against run ``run``'s reference."""
    import pandas as pd

    from mlresearcher.data.io import read_table
    from mlresearcher.metrics import get_metric
    from mlresearcher.serve.reference import REFERENCE_FILE
    from mlresearcher.store.integrity import ArtifactError, load_verified, verify_file
    from mlresearcher.store.rundir import resolve_run_dir

    run_dir = resolve_run_dir(run, runs_dir)
    predictor, manifest = load_verified(run_dir)
    if REFERENCE_FILE not in (manifest.get("files") or {}):
        raise ArtifactError(
            f"{str(run_dir)!r} has no drift reference ({REFERENCE_FILE}); it was made before "
            "drift monitoring existed; re-run the campaign to create one"
        )
    reference = pd.read_parquet(verify_file(run_dir, REFERENCE_FILE, manifest))
    df = data if isinstance(data, pd.DataFrame) else read_table(str(data))
    if len(df) == 0:
        raise DataError("the new data has no rows")
    y_true = None
    if labels is not None:
        from mlresearcher.data.task import find_target_column

        col = find_target_column(list(df.columns), labels, "--labels column")
        y_raw = df[col]
        df = df.drop(columns=[col])
        y_true, keep = _encode_labels(y_raw, predictor.task, predictor.classes)
        if not keep.any():
            raise DataError(
                f"no value of the --labels column {labels!r} is a class the model knows "
                f"({', '.join(map(str, predictor.classes or []))}); check the column"
            )
    scores = predictor.predict_scores(df)
    perf = None
    if y_true is not None:
        metric = get_metric(manifest.get("metric"), predictor.task)
        perf = performance(
            metric,
            y_true[keep],
            scores[keep],
            manifest.get("best_score"),
            perf_tolerance,
            seed=int(manifest.get("seed") or 0),
        )
        perf["rows_without_usable_label"] = int((~keep).sum())
    report = drift_report(
        reference,
        df,
        predictor.schema,
        task=predictor.task,
        classes=list(predictor.classes) if predictor.classes is not None else None,
        current_scores=scores,
        psi_threshold=psi_threshold,
        alpha=alpha,
        performance_result=perf,
    )
    return {"run_id": manifest.get("run_id"), "run_dir": str(run_dir), **report}


def _encode_labels(y: Any, task: str, classes: list[Any] | None) -> tuple[np.ndarray, np.ndarray]:
    """Labels as the metric expects them (class indices or floats) and the usable rows."""
    import pandas as pd

    if task == "regression":
        v = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
        return v, np.isfinite(v)
    index: dict[Any, int] = {}
    for i, c in enumerate(classes or []):
        index[str(c)] = i
        index[c] = i  # 1 == 1.0 == True: numeric labels match however they were typed
    codes = np.array(
        [-1 if pd.isna(v) else index.get(v, index.get(str(v), -1)) for v in y.tolist()], dtype=int
    )
    return codes, codes >= 0
