from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_dataset(name: str, n: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """A dev dataset (``../shared/datasets``) and its manifest entry, optionally subsampled."""
    manifest = {e["name"]: e for e in json.loads((DATASETS / "manifest.json").read_text())}
    entry = manifest[name]
    df = pd.read_parquet(DATASETS / entry["file"])
    if n is not None and len(df) > n:
        df = df.sample(n=n, random_state=seed).reset_index(drop=True)
    return df, entry


@pytest.fixture
def penguins() -> pd.DataFrame:
    return pd.read_csv(EXAMPLES / "penguins.csv")
