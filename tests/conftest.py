from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest


def _find_datasets() -> Path:
    """The dev datasets: ``$MLRESEARCHER_DATASETS``, else ``shared/datasets`` beside the
    checkout or beside any folder above it, else ``/work/shared/datasets``."""
    if os.environ.get("MLRESEARCHER_DATASETS"):
        return Path(os.environ["MLRESEARCHER_DATASETS"])
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "datasets"
        if (candidate / "manifest.json").exists():
            return candidate
    return Path("/work/shared/datasets")


DATASETS = _find_datasets()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def pytest_sessionstart(session: pytest.Session) -> None:
    # The suite runs on real data; without it the run must fail, not skip silently.
    if not (DATASETS / "manifest.json").exists():
        raise pytest.UsageError(
            f"dev datasets not found at {DATASETS}; set MLRESEARCHER_DATASETS to the folder "
            "holding manifest.json"
        )


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


#: the local PostgreSQL server the store tests use (`.ci/run` makes sure it is up)
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url():
    """A fresh schema on the local PostgreSQL server, dropped afterwards."""
    import secrets

    import sqlalchemy as sa

    from mlresearcher.store.db import engine_url

    schema = f"t_{secrets.token_hex(5)}"
    engine = sa.create_engine(engine_url(PG_SERVER))
    try:
        with engine.begin() as c:
            c.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as e:
        pytest.fail(f"PostgreSQL is not reachable at {PG_SERVER} (start it; .ci/run does): {e}")
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
