"""mlresearcher: an automated machine-learning researcher."""

from __future__ import annotations

import os

__version__ = "0.1.0"

# OpenMP threads (LightGBM, XGBoost, PyTorch) busy-wait between parallel regions by
# default; when any other process wants a core, that spinning slows training 10-50x.
# Passive waiting costs little when the machine is idle. It must be set before those
# libraries load, hence here; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from mlresearcher.errors import UserError  # noqa: E402


def __getattr__(name: str):  # lazy: `import mlresearcher` stays fast for the CLI
    if name == "AutoModel":
        from mlresearcher.api import AutoModel

        return AutoModel
    raise AttributeError(name)


__all__ = ["AutoModel", "UserError", "__version__"]
