"""mlresearcher: an automated machine-learning researcher."""

from __future__ import annotations

import os

__version__ = "0.1.0"

# GNU OpenMP threads (LightGBM, XGBoost, scikit-learn, PyTorch) spin for a long time
# between parallel regions; when another process wants a core, that spinning slows
# training 10-50x. A short spin keeps most of the idle-machine speed (fully passive waiting
# costs 4x there) and removes most of the loss under load. It must be set before those
# libraries load, hence here; a user's own setting wins.
os.environ.setdefault("GOMP_SPINCOUNT", "1000")

from mlresearcher.errors import UserError  # noqa: E402


def __getattr__(name: str):  # lazy: `import mlresearcher` stays fast for the CLI
    if name == "AutoModel":
        from mlresearcher.api import AutoModel

        return AutoModel
    raise AttributeError(name)


__all__ = ["AutoModel", "UserError", "__version__"]
