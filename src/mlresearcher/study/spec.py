"""The study spec: a YAML file naming methods, datasets, seeds and the per-cell budget.

.. code-block:: yaml

    name: dev-suite            # the study's key in the store (resume uses it)
    seeds: [0, 1, 2]
    budget: 10                 # seconds per preset / searched-family cell
    test_size: 0.25            # outer holdout per seed (stratified for classification)
    max_rows: 4000             # optional: subsample larger datasets (per seed)
    alpha: 0.05
    datasets:
      manifest: dev            # the dev datasets (or a path to a manifest.json)
      include: [penguins_species, credit_scoring]    # optional
      files:                   # and/or explicit files
        - {name: penguins, file: ../examples/penguins.csv, target: species}
    methods:
      - {name: automl, preset: fast}
      - {name: lgbm, family: lightgbm, params: {n_estimators: 200}}
      - {name: logreg, estimator: {classification: sklearn.linear_model.LogisticRegression,
                                   regression: sklearn.linear_model.Ridge}}

Relative paths are relative to the spec file; ``${VAR}`` is expanded. Everything is
checked by :func:`load_spec` before any compute: unknown keys, methods and families,
imports, missing files, targets absent from the data.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlresearcher.errors import ConfigError, DataError

TOP_KEYS = {
    "name",
    "kind",
    "seeds",
    "budget",
    "test_size",
    "max_rows",
    "alpha",
    "n_jobs",
    "datasets",
    "methods",
}
METHOD_KEYS = {"name", "preset", "family", "estimator", "params", "search"}
DATASET_KEYS = {"name", "file", "target", "metric", "task"}


class SpecError(ConfigError):
    """The study spec is invalid."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    file: str  # absolute path
    target: str
    metric: str | None = None
    task: str | None = None


@dataclass
class StudySpec:
    name: str
    seeds: list[int]
    budget: float
    test_size: float
    datasets: list[DatasetSpec]
    methods: list[dict[str, Any]]
    max_rows: int | None = None
    alpha: float = 0.05
    n_jobs: int = 2
    path: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[tuple[dict[str, Any], DatasetSpec, int]]:
        """Every (method, dataset, seed), datasets outermost so results fill in evenly."""
        return [(m, d, s) for d in self.datasets for s in self.seeds for m in self.methods]


def spec_hash(obj: Any) -> str:
    """A short stable hash of a JSON-able object (identifies a method/dataset definition)."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dataset_hash(d: DatasetSpec) -> str:
    return spec_hash(asdict(d))


def find_dev_manifest(start: Path) -> Path:
    """``$MLRESEARCHER_DATASETS/manifest.json``, else ``shared/datasets/manifest.json``
    beside ``start``, the working directory or any folder above them."""
    env = os.environ.get("MLRESEARCHER_DATASETS")
    if env:
        return Path(env) / "manifest.json"
    for base in (start.resolve(), Path.cwd().resolve()):
        for parent in (base, *base.parents):
            cand = parent / "shared" / "datasets" / "manifest.json"
            if cand.exists():
                return cand
    raise SpecError(
        "manifest: dev needs the dev datasets; set MLRESEARCHER_DATASETS to the folder holding manifest.json"
    )


def _path(value: str, base: Path) -> Path:
    p = Path(os.path.expandvars(str(value))).expanduser()
    return p if p.is_absolute() else (base / p)


def _datasets(section: Any, base: Path) -> list[DatasetSpec]:
    if not isinstance(section, dict):
        raise SpecError("datasets: must be a mapping with manifest: and/or files:")
    unknown = set(section) - {"manifest", "include", "exclude", "files"}
    if unknown:
        raise SpecError(f"unknown key(s) in datasets: {', '.join(sorted(unknown))}")
    out: list[DatasetSpec] = []
    if "manifest" in section:
        m = section["manifest"]
        path = find_dev_manifest(base) if m == "dev" else _path(m, base)
        if not path.exists():
            raise SpecError(f"dataset manifest {str(path)!r} not found; fix datasets.manifest")
        try:
            entries = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise SpecError(f"cannot read the manifest {str(path)!r}: {e}") from None
        names = [e.get("name") for e in entries]
        include = section.get("include")
        exclude = set(section.get("exclude") or [])
        for n in list(include or []) + list(exclude):
            if n not in names:
                raise SpecError(
                    f"dataset {n!r} is not in the manifest; choose from: {', '.join(names)}"
                )
        for e in entries:
            if (include and e["name"] not in include) or e["name"] in exclude:
                continue
            out.append(
                DatasetSpec(
                    e["name"],
                    str((path.parent / e["file"]).resolve()),
                    e["target"],
                    e.get("metric"),
                    e.get("task_type"),
                )
            )
    for i, f in enumerate(section.get("files") or []):
        if not isinstance(f, dict) or "file" not in f or "target" not in f:
            raise SpecError(f"datasets.files[{i}] needs file: and target:")
        bad = set(f) - DATASET_KEYS
        if bad:
            raise SpecError(f"unknown key(s) in datasets.files[{i}]: {', '.join(sorted(bad))}")
        p = _path(f["file"], base)
        out.append(
            DatasetSpec(
                str(f.get("name") or p.stem),
                str(p.resolve()),
                str(f["target"]),
                f.get("metric"),
                f.get("task"),
            )
        )
    if not out:
        raise SpecError("the study has no datasets; add datasets.manifest or datasets.files")
    names = [d.name for d in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SpecError(f"dataset name(s) used twice: {', '.join(dup)}; give each a unique name")
    return out


def check_dataset(d: DatasetSpec) -> str:
    """Read the column names of ``d`` (no rows), check the target; return the task."""
    from mlresearcher.data.task import find_target_column

    p = Path(d.file)
    if not p.exists():
        raise SpecError(f"dataset {d.name!r}: file {d.file!r} not found")
    if p.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        columns = list(pq.read_schema(p).names)
    else:
        from mlresearcher.data.io import read_table

        columns = [str(c) for c in read_table(p).columns]
    try:
        find_target_column(columns, d.target, f"dataset {d.name!r}: target column")
    except DataError as e:
        raise SpecError(str(e)) from None
    if d.task:
        return "regression" if d.task == "regression" else "classification"
    return "unknown"


def load_spec(path: str | Path) -> StudySpec:
    """Parse and validate a study spec; raise :class:`SpecError` on the first problem."""
    import yaml

    p = Path(path)
    if not p.exists():
        raise SpecError(f"study spec {str(p)!r} not found")
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        first = str(e).replace("\n", " ")
        raise SpecError(f"study spec {str(p)!r} is not valid YAML: {first}") from None
    return parse_spec(raw, p.parent, str(p))


def parse_spec(raw: Any, base: Path, path: str | None = None) -> StudySpec:
    from mlresearcher.study.methods import validate_method

    if not isinstance(raw, dict):
        raise SpecError("a study spec is a YAML mapping with name:, datasets: and methods:")
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise SpecError(
            f"unknown key(s) in the study spec: {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(TOP_KEYS))}"
        )
    name = str(raw.get("name") or (Path(path).stem if path else "study"))
    seeds = raw.get("seeds", [0, 1, 2])
    if isinstance(seeds, int):
        seeds = list(range(seeds))
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise SpecError("seeds: must be a list of integers (or a count)")
    budget = _number(raw.get("budget", 30), "budget", positive=True)
    test_size = _number(raw.get("test_size", 0.25), "test_size")
    if not 0 < test_size < 1:
        raise SpecError(f"test_size must be a fraction between 0 and 1, got {test_size}")
    alpha = _number(raw.get("alpha", 0.05), "alpha")
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must be between 0 and 1, got {alpha}")
    max_rows = raw.get("max_rows")
    if max_rows is not None and (not isinstance(max_rows, int) or max_rows < 20):
        raise SpecError(f"max_rows must be an integer of at least 20, got {max_rows!r}")
    n_jobs = raw.get("n_jobs", 2)
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise SpecError(f"n_jobs must be a positive integer, got {n_jobs!r}")
    datasets = _datasets(raw.get("datasets"), base)
    methods = raw.get("methods")
    if not isinstance(methods, list) or not methods:
        raise SpecError("methods: must be a non-empty list")
    seen = set()
    for i, m in enumerate(methods):
        if not isinstance(m, dict) or "name" not in m:
            raise SpecError(f"methods[{i}] needs a name:")
        bad = set(m) - METHOD_KEYS
        if bad:
            raise SpecError(f"unknown key(s) in method {m['name']!r}: {', '.join(sorted(bad))}")
        if m["name"] in seen:
            raise SpecError(f"method name {m['name']!r} used twice; give each a unique name")
        seen.add(m["name"])
    tasks = {check_dataset(d) for d in datasets}
    if "unknown" in tasks:
        tasks = (tasks - {"unknown"}) | {"classification", "regression"}
    for m in methods:
        validate_method(m, tasks)
    return StudySpec(
        name, seeds, budget, test_size, datasets, methods, max_rows, alpha, n_jobs, path, raw
    )


def _number(v: Any, what: str, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise SpecError(f"{what} must be a number, got {v!r}")
    if positive and not v > 0:
        raise SpecError(f"{what} must be positive, got {v}")
    return float(v)
