"""A run's model as one ONNX graph: encoders, every fold booster, the ensemble weights.

What converts: predictors whose every fold model is a LightGBM booster on the ``tree``
preprocessing of numeric and categorical columns (train with ``--families lightgbm``).
Anything else (other families, free text, dates) raises :class:`ExportError` naming what
does not convert.

The graph has one input per model input column, shaped ``[N, 1]``:

* numeric columns: ``tensor(double)``, ``NaN`` for missing;
* categorical columns: ``tensor(string)``, ``""`` for missing (a level never seen in
  training is treated as missing, as in :mod:`mlresearcher.predictor`).

Outputs: ``probabilities`` ``[N, k]`` (classes in the order of the model's ``classes``,
stored in the model's metadata) and ``class_index`` ``[N]`` for classifiers;
``prediction`` ``[N, 1]`` for regression. Inside, each fold's ordinal encoder becomes a
``LabelEncoder`` with the codes of the fitted encoder, each fold's booster is converted by
onnxmltools (trees evaluated in single precision, hence agreement to about 1e-6, not to
the last bit), and fold averages and ensemble weights are ``Sum``/``Mul`` nodes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mlresearcher.errors import UserError
from mlresearcher.models.compiled import compile_estimator
from mlresearcher.predictor import Predictor

ML_DOMAIN = "ai.onnx.ml"
OPSET = 13
ML_OPSET = 2


class ExportError(UserError):
    """The model (or part of it) cannot be expressed in the requested format."""


def _check_convertible(predictor: Predictor) -> list[list[Any]]:
    """The compiled fold models of each member; :class:`ExportError` when any does not convert."""
    from mlresearcher.models.lgbm import LightGBMModel

    roles = {c.name: c.role for c in predictor.schema.columns}
    bad_roles = sorted(
        {r for c, r in roles.items() if c in predictor.schema.input_columns}
        - {"numeric", "categorical", "high_cardinality"}
    )
    problems: list[str] = []
    if bad_roles:
        problems.append(f"{', '.join(bad_roles)} columns")
    compiled: list[list[Any]] = []
    for m in predictor.members:
        folds = []
        for est in m.predicting:
            c = compile_estimator(est)
            if (
                not isinstance(est, LightGBMModel)
                or c is None
                or c.width == 0
                or getattr(est, "target_transform", None)
            ):
                folds = None
                break
            folds.append(c)
        if folds is None:
            transformed = any(getattr(e, "target_transform", None) for e in m.predicting)
            problems.append(
                f"{m.name} ({m.family}{' on a transformed target' if transformed else ''})"
            )
        compiled.append(folds or [])
    if problems:
        raise ExportError(
            "ONNX export supports LightGBM models on numeric and categorical columns; "
            f"this model has {', '.join(problems)}; re-run with --families lightgbm "
            "--no-target-transform to export it"
        )
    return compiled


def to_onnx(predictor: Predictor, *, run_id: str | None = None) -> Any:
    """The ONNX ``ModelProto`` of ``predictor`` (see the module docstring for its interface)."""
    try:
        import lightgbm as lgb
        import onnx
        import onnxmltools
        from onnx import TensorProto, compose, helper, numpy_helper
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError as e:
        raise ExportError(
            f"ONNX export needs the 'export' extra ({e.name} is missing); "
            "pip install 'mlresearcher[export]'"
        ) from None
    compiled = _check_convertible(predictor)
    schema = predictor.schema
    roles = {c.name: c.role for c in schema.columns}
    classify = predictor.task != "regression"
    k = predictor.n_classes
    nodes: list[Any] = []
    inits: list[Any] = []
    inputs = []
    for name in schema.input_columns:
        if roles[name] == "numeric":
            inputs.append(helper.make_tensor_value_info(name, TensorProto.DOUBLE, [None, 1]))
            # the trees compare in single precision; rounding inputs the same way as the
            # thresholds keeps a value that equals a split point on the side LightGBM chose
            nodes.append(helper.make_node("Cast", [name], [name + "__f32"], to=TensorProto.FLOAT))
        else:
            inputs.append(helper.make_tensor_value_info(name, TensorProto.STRING, [None, 1]))
    member_outputs = []
    for i, (member, folds) in enumerate(zip(predictor.members, compiled, strict=True)):
        fold_outputs = []
        for j, c in enumerate(folds):
            prefix = f"m{i}f{j}_"
            columns = []
            for kind, col, mapping in c.parts:
                if kind == "num":
                    columns.append(col + "__f32")
                    continue
                levels = list(mapping)
                nodes.append(
                    helper.make_node(
                        "LabelEncoder",
                        [col],
                        [prefix + col + "__code"],
                        domain=ML_DOMAIN,
                        keys_strings=levels or ["\x00"],
                        values_floats=[mapping[v] for v in levels] or [float("nan")],
                        default_float=float("nan"),
                    )
                )
                columns.append(prefix + col + "__code")
            nodes.append(helper.make_node("Concat", columns, [prefix + "X"], axis=1))
            booster = c.estimator.booster_
            n_iter = c.estimator.n_iterations_
            trimmed = lgb.Booster(model_str=booster.model_to_string(num_iteration=n_iter))
            fold_model = onnxmltools.convert_lightgbm(
                trimmed,
                initial_types=[("X", FloatTensorType([None, c.width]))],
                zipmap=False,
                target_opset=OPSET,
            )
            fold_model = compose.add_prefix(fold_model, prefix)  # its input becomes prefix + "X"
            g = fold_model.graph
            nodes += list(g.node)
            inits += list(g.initializer)
            outs = [o.name for o in g.output]
            raw = next(o for o in outs if o.endswith("probabilities" if classify else "variable"))
            out = prefix + "scores"
            nodes.append(helper.make_node("Cast", [raw], [out], to=TensorProto.DOUBLE))
            if classify and list(c.estimator.present_classes_) != list(range(k)):
                # map the classes this fold saw onto all k columns
                P = np.zeros((len(c.estimator.present_classes_), k))
                P[np.arange(len(P)), c.estimator.present_classes_] = 1.0
                inits.append(numpy_helper.from_array(P, prefix + "classmap"))
                nodes.append(
                    helper.make_node("MatMul", [out, prefix + "classmap"], [prefix + "scores_k"])
                )
                out = prefix + "scores_k"
            fold_outputs.append(out)
        w = np.array(member.weight / len(folds), dtype=np.float64)
        inits.append(numpy_helper.from_array(w, f"m{i}_weight"))
        nodes.append(helper.make_node("Sum", fold_outputs, [f"m{i}_sum"]))
        nodes.append(helper.make_node("Mul", [f"m{i}_sum", f"m{i}_weight"], [f"m{i}_weighted"]))
        member_outputs.append(f"m{i}_weighted")
    nodes.append(helper.make_node("Sum", member_outputs, ["total"]))
    if classify:
        inits.append(numpy_helper.from_array(np.ones((k, k)), "ones_kk"))
        nodes.append(helper.make_node("MatMul", ["total", "ones_kk"], ["row_sums"]))
        nodes.append(helper.make_node("Div", ["total", "row_sums"], ["probabilities"]))
        nodes.append(
            helper.make_node("ArgMax", ["probabilities"], ["class_index"], axis=1, keepdims=0)
        )
        outputs = [
            helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, [None, k]),
            helper.make_tensor_value_info("class_index", TensorProto.INT64, [None]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["total"], ["prediction"]))
        outputs = [helper.make_tensor_value_info("prediction", TensorProto.DOUBLE, [None, 1])]
    graph = helper.make_graph(nodes, "mlresearcher_model", inputs, outputs, inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(ML_DOMAIN, ML_OPSET)],
        producer_name="mlresearcher",
    )
    model.ir_version = min(model.ir_version, 8)  # loadable by older runtimes too
    meta = {
        "run_id": run_id or "",
        "task": predictor.task,
        "target": predictor.target,
        "classes": json.dumps(predictor.classes, default=str),
        "inputs": json.dumps({n: roles[n] for n in schema.input_columns}),
        "missing": "NaN for numeric inputs, empty string for categorical inputs",
    }
    onnx.helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    return model


def onnx_inputs(frame: Any, predictor: Predictor) -> dict[str, np.ndarray]:
    """The ONNX graph's input feeds for a frame of input columns (missing handled as documented)."""
    from mlresearcher.data.schema import prepare_features

    prepared = prepare_features(frame, predictor.schema)
    roles = {c.name: c.role for c in predictor.schema.columns}
    feeds = {}
    for name in predictor.schema.input_columns:
        col = prepared[name]
        if roles[name] == "numeric":
            feeds[name] = col.to_numpy(dtype=np.float64).reshape(-1, 1)
        else:
            vals = [
                "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in col
            ]
            feeds[name] = np.array(vals, dtype=object).reshape(-1, 1)
    return feeds


def export_onnx(predictor: Predictor, path: Path, *, run_id: str | None = None) -> Path:
    """Write the ONNX model to ``path`` (atomically)."""
    model = to_onnx(predictor, run_id=run_id)
    from mlresearcher.store.atomic import write_bytes

    try:
        write_bytes(path, model.SerializeToString())
    except OSError as e:
        raise UserError(
            f"cannot write {str(path)!r}: {e.strerror or e}; choose another --out"
        ) from e
    return path


def parity_check(
    path: Path, predictor: Predictor, run_dir: Path, manifest: dict[str, Any], rows: int
) -> dict[str, Any] | None:
    """Score the run's reference rows with onnxruntime and with ``predictor``; the largest
    absolute difference. ``None`` when the run has no reference sample."""
    import onnxruntime as ort
    import pandas as pd

    from mlresearcher.serve.reference import REFERENCE_FILE
    from mlresearcher.store.integrity import verify_file

    if REFERENCE_FILE not in (manifest.get("files") or {}):
        return None
    ref = pd.read_parquet(verify_file(run_dir, REFERENCE_FILE, manifest)).head(rows)
    frame = ref[predictor.schema.input_columns]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, onnx_inputs(frame, predictor))[0]
    expected = predictor.predict_scores(frame)
    diff = float(np.max(np.abs(got.reshape(expected.shape) - expected))) if len(frame) else 0.0
    return {"rows": len(frame), "max_abs_difference": diff}


__all__ = ["ExportError", "export_onnx", "onnx_inputs", "parity_check", "to_onnx"]
