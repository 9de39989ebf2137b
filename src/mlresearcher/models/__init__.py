"""Model families. One module per family; ``FAMILIES`` lists them all, cheap first."""

from __future__ import annotations

from mlresearcher.models.base import FitContext, ModelFamily, predict_scores
from mlresearcher.models.registry import FAMILIES, get_families

__all__ = ["FAMILIES", "FitContext", "ModelFamily", "get_families", "predict_scores"]
