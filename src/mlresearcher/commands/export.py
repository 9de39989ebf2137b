"""``mlresearcher export RUN --format onnx``: the run's model for other runtimes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

#: rows of the run's reference sample scored by both runtimes after an export
CHECK_ROWS = 1000


def register(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="export a run's model (ONNX)",
        description=(
            "Export a run's model as ONNX (LightGBM models on numeric and categorical "
            "columns). The model's checksum is verified first; after writing, the ONNX model "
            "is scored with onnxruntime on the run's reference rows and compared with the "
            "original."
        ),
    )
    p.add_argument("run", help="run directory (runs/<run-id>) or a run id under --runs")
    p.add_argument("--format", choices=["onnx"], default="onnx", help="export format (onnx)")
    p.add_argument("--out", metavar="FILE", help="output file (default RUN_DIR/model.onnx)")
    p.add_argument(
        "--runs",
        default="runs",
        metavar="DIR",
        help="runs folder to resolve a run id (default ./runs)",
    )
    p.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace, argv: list[str]) -> int:
    from mlresearcher.export.onnx import export_onnx, parity_check
    from mlresearcher.store.integrity import load_verified
    from mlresearcher.store.rundir import resolve_run_dir

    run_dir = resolve_run_dir(args.run, args.runs)
    predictor, manifest = load_verified(run_dir)
    out = Path(args.out) if args.out else run_dir / "model.onnx"
    path = export_onnx(predictor, out, run_id=manifest.get("run_id"))
    if path.resolve().parent == run_dir.resolve():  # a file of the run now: record it
        from mlresearcher.store.integrity import record_files

        record_files(run_dir, [path.name])
    summary: dict[str, Any] = {"format": "onnx", "path": str(path), "bytes": path.stat().st_size}
    check = parity_check(path, predictor, run_dir, manifest, rows=CHECK_ROWS)
    if check is not None:
        summary["parity"] = check
    print(json.dumps(summary))
    msg = f"wrote {path}"
    if check is not None:
        msg += f"; onnxruntime agrees within {check['max_abs_difference']:.2g} on {check['rows']} reference rows"
    print(msg, file=sys.stderr)
    return 0
