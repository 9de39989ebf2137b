"""mlresearcher: an automated machine-learning researcher."""

from __future__ import annotations

__version__ = "0.1.0"

from mlresearcher.errors import UserError  # noqa: E402


def __getattr__(name: str):  # lazy: `import mlresearcher` stays fast for the CLI
    if name == "AutoModel":
        from mlresearcher.api import AutoModel

        return AutoModel
    raise AttributeError(name)


__all__ = ["AutoModel", "UserError", "__version__"]
