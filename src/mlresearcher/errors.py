"""The user-error family.

Every mistake a user can make (a missing file, a bad target, an unknown option) raises a
subclass of :class:`UserError`. The CLI prints its message on one line and exits with
code 2; the Python API lets it propagate. ``UserError`` derives from ``ValueError`` so that
scikit-learn tooling which expects ``ValueError`` for invalid input recognises it.
Anything that is not a ``UserError`` is a bug in mlresearcher and keeps its traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


class UserError(ValueError):
    """A problem with the user's input, with a message that says how to fix it."""


class DataError(UserError):
    """The data cannot be read or does not support the requested task."""


class ConfigError(UserError):
    """An option or parameter is invalid."""


class RunNotFoundError(UserError):
    """A run id or run directory does not exist."""


_NOT_FITTED_DOC = """A model was used before it was fitted.

    Also a :class:`sklearn.exceptions.NotFittedError` (so a ``ValueError`` and an
    ``AttributeError``), which is what scikit-learn tooling expects from an unfitted estimator.
    """

if TYPE_CHECKING:
    from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

    class NotFittedError(UserError, _SklearnNotFittedError):
        __doc__ = _NOT_FITTED_DOC


def __getattr__(name: str) -> Any:
    # NotFittedError derives from scikit-learn's class, so it is built on first use: importing
    # mlresearcher (the CLI's start-up) must not import scikit-learn.
    if name == "NotFittedError":
        from sklearn.exceptions import NotFittedError as sklearn_not_fitted

        cls = type(
            "NotFittedError",
            (UserError, sklearn_not_fitted),
            {"__doc__": _NOT_FITTED_DOC, "__module__": __name__},
        )
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ConfigError", "DataError", "NotFittedError", "RunNotFoundError", "UserError"]
