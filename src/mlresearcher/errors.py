"""The user-error family.

Every mistake a user can make (a missing file, a bad target, an unknown option) raises a
subclass of :class:`UserError`. The CLI prints its message on one line and exits with
code 2; the Python API lets it propagate. ``UserError`` derives from ``ValueError`` so that
scikit-learn tooling which expects ``ValueError`` for invalid input recognises it.
Anything that is not a ``UserError`` is a bug in mlresearcher and keeps its traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """A problem with the user's input, with a message that says how to fix it."""


class DataError(UserError):
    """The data cannot be read or does not support the requested task."""


class ConfigError(UserError):
    """An option or parameter is invalid."""


class RunNotFoundError(UserError):
    """A run id or run directory does not exist."""


class NotFittedError(UserError):
    """A model was used before it was fitted."""


__all__ = ["ConfigError", "DataError", "NotFittedError", "RunNotFoundError", "UserError"]
