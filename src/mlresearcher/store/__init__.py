"""Persistence: the run/trial database and the run directory."""

from mlresearcher.store.db import Store, default_store_url

__all__ = ["Store", "default_store_url"]
