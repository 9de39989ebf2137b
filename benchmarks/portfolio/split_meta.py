"""Split the meta-learning suite once into a *train* part and a *validate* part.

Every default the engine takes from data (the portfolio, its order, the rules) is derived on
the train part only; the validate part checks those choices and is never tuned on. The
split is drawn once, stratified by task type (binary, multiclass, regression), with a
fixed seed, and written to ``meta_split.json`` beside this script. Rerunning it with the
same manifest and seed gives the same file; ``--check`` only verifies that it does.

    .venv/bin/python benchmarks/portfolio/split_meta.py            # (re)write meta_split.json
    .venv/bin/python benchmarks/portfolio/split_meta.py --check    # exit 1 if it would change
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "automl"))

from tasks import default_meta_datasets  # noqa: E402

SPLIT_FILE = HERE / "meta_split.json"
SEED = 20261207
TRAIN_SHARE = 2 / 3


def split(manifest: list[dict], seed: int = SEED) -> dict[str, list[str]]:
    """Names of the train and validate tasks: within each task type, a seeded permutation
    of the names (sorted first, so manifest order does not matter), the first
    ``round(TRAIN_SHARE * n)`` to train."""
    rng = np.random.default_rng(seed)
    train: list[str] = []
    validate: list[str] = []
    for task_type in ("binary", "multiclass", "regression"):
        names = sorted(e["name"] for e in manifest if e["task_type"] == task_type)
        order = [names[i] for i in rng.permutation(len(names))]
        k = round(TRAIN_SHARE * len(order))
        train += sorted(order[:k])
        validate += sorted(order[k:])
    return {"train": train, "validate": validate}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default=None, help="folder of the meta suite's manifest.json")
    ap.add_argument("--check", action="store_true", help="verify meta_split.json, write nothing")
    args = ap.parse_args(argv)
    datasets = Path(args.datasets) if args.datasets else default_meta_datasets()
    manifest = json.loads((datasets / "manifest.json").read_text())
    doc = {
        "seed": SEED,
        "train_share": round(TRAIN_SHARE, 4),
        "stratified_by": "task_type",
        "n_tasks": len(manifest),
        **split(manifest),
    }
    text = json.dumps(doc, indent=2) + "\n"
    if args.check:
        same = SPLIT_FILE.exists() and SPLIT_FILE.read_text() == text
        print("meta_split.json is up to date" if same else "meta_split.json differs")
        return 0 if same else 1
    SPLIT_FILE.write_text(text)
    print(f"train {len(doc['train'])} tasks, validate {len(doc['validate'])} tasks -> {SPLIT_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
