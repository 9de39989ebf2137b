"""Benchmark tasks: the dev-dataset manifest, task selection and the saved train/test split.

Every system sees the same rows: each task is split once per split seed (80/20, stratified
for classification, rows with a missing target dropped first) and the two halves are saved
as Parquet under ``<out>/splits/seed<k>/<task>/``. Later runs reuse the saved files, so a
resumed or extended benchmark never re-draws a split.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_FRACTION = 0.2


#: the suites ``--suite`` names: the dev suite, and the two parts of the meta-learning suite
#: (``benchmarks/portfolio/meta_split.json``: defaults are derived on train, checked on validate)
SUITES = ("dev", "meta-train", "meta-validate", "meta")
META_SPLIT = ROOT / "benchmarks" / "portfolio" / "meta_split.json"


def _shared(folder: str, env: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    for parent in ROOT.parents:
        candidate = parent / "shared" / folder
        if (candidate / "manifest.json").exists():
            return candidate
    return ROOT.parent / "shared" / folder


def default_datasets() -> Path:
    """``$MLRESEARCHER_DATASETS``, else ``shared/datasets`` beside the checkout or beside any
    folder above it (the same rule the test suite uses)."""
    return _shared("datasets", "MLRESEARCHER_DATASETS")


def default_meta_datasets() -> Path:
    """``$MLRESEARCHER_META_DATASETS``, else ``shared/datasets-meta`` found the same way."""
    return _shared("datasets-meta", "MLRESEARCHER_META_DATASETS")


def meta_split() -> dict[str, list[str]]:
    """The committed train/validate split of the meta suite (``split_meta.py`` writes it)."""
    if not META_SPLIT.exists():
        raise SystemExit(f"{META_SPLIT} is missing; run benchmarks/portfolio/split_meta.py")
    doc = json.loads(META_SPLIT.read_text())
    return {"train": list(doc["train"]), "validate": list(doc["validate"])}


def suite_tasks(suite: str, datasets: Path | None = None) -> list[Task]:
    """The tasks of ``suite`` (one of :data:`SUITES`), in manifest order. ``datasets``
    overrides the folder of the suite's manifest."""
    if suite not in SUITES:
        raise SystemExit(f"unknown suite {suite!r}; choose from: {', '.join(SUITES)}")
    if suite == "dev":
        return load_tasks(datasets or default_datasets())
    tasks = load_tasks(datasets or default_meta_datasets())
    if suite == "meta":
        return tasks
    part = meta_split()[suite.split("-", 1)[1]]
    known = {t.name for t in tasks}
    missing = [n for n in part if n not in known]
    if missing:
        raise SystemExit(f"meta_split.json names tasks the manifest lacks: {', '.join(missing)}")
    return [t for t in tasks if t.name in set(part)]


@dataclass(frozen=True)
class Task:
    """One manifest entry: where the data is and what to predict, scored how."""

    name: str
    path: Path
    target: str
    task_type: str  # binary | multiclass | regression
    metric: str
    n_rows: int
    positive_class: object = None

    @property
    def is_classification(self) -> bool:
        return self.task_type in ("binary", "multiclass")


def load_tasks(datasets: Path) -> list[Task]:
    """Every task of ``datasets/manifest.json``, in manifest order."""
    manifest = Path(datasets) / "manifest.json"
    if not manifest.exists():
        raise SystemExit(f"no manifest.json in {datasets}; pass --datasets DIR")
    return [
        Task(
            name=e["name"],
            path=Path(datasets) / e["file"],
            target=e["target"],
            task_type=e["task_type"],
            metric=e["metric"],
            n_rows=int(e["n_rows"]),
            positive_class=e.get("positive_class"),
        )
        for e in json.loads(manifest.read_text())
    ]


def select_tasks(tasks: list[Task], spec: str | None) -> list[Task]:
    """``None`` or ``"all"``: every task; ``"largest:N"``: the N with the most rows (largest
    first); otherwise comma-separated names (unknown names are an error)."""
    if not spec or spec == "all":
        return list(tasks)
    if spec.startswith("largest:"):
        n = int(spec.split(":", 1)[1])
        return sorted(tasks, key=lambda t: t.n_rows, reverse=True)[:n]
    by_name = {t.name: t for t in tasks}
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown task(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]


def split_paths(out: Path, task: Task, split_seed: int) -> tuple[Path, Path]:
    folder = Path(out) / "splits" / f"seed{split_seed}" / task.name
    return folder / "train.parquet", folder / "test.parquet"


def ensure_split(out: Path, task: Task, split_seed: int) -> tuple[Path, Path]:
    """The task's saved train/test files for ``split_seed``, written on first use."""
    train_path, test_path = split_paths(out, task, split_seed)
    if train_path.exists() and test_path.exists():
        return train_path, test_path
    import pandas as pd
    from sklearn.model_selection import train_test_split

    df = pd.read_parquet(task.path)
    df = df[df[task.target].notna()].reset_index(drop=True)
    stratify = df[task.target] if task.is_classification else None
    train, test = train_test_split(
        df, test_size=TEST_FRACTION, random_state=split_seed, stratify=stratify
    )
    train_path.parent.mkdir(parents=True, exist_ok=True)
    # write-then-rename: an interrupted run never leaves a half-written split behind
    for frame, path in ((train, train_path), (test, test_path)):
        tmp = path.with_suffix(".tmp")
        frame.reset_index(drop=True).to_parquet(tmp, index=False)
        tmp.replace(path)
    return train_path, test_path
