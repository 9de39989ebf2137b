"""AutoModel keeps the scikit-learn estimator contract at a tiny budget.

scikit-learn's own checks first, then what those checks do not pin down: bad input is a
one-line user error, predictions do not depend on the batch, pickles carry the version.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.exceptions
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlresearcher import AutoModel, __version__
from mlresearcher.errors import UserError

TINY = dict(time_limit=None, max_trials=1, families=("linear",), folds=2, repeats=1)

# Checks that cannot apply to an AutoML estimator, with the reason. None at present.
EXPECTED_FAILED: dict[str, str] = {}

ESTIMATORS = [
    AutoModel(task="classification", **TINY),
    AutoModel(task="binary", **TINY),  # declares multi_class=False
    AutoModel(task="regression", **TINY),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_contract(estimator, check):
    check(estimator)


def _xy(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize(
    "task,X,y,message",
    [
        ("classification", np.zeros(20), np.arange(20) % 2, "Reshape your data"),
        ("classification", np.zeros((20, 0)), np.arange(20) % 2, r"0 feature\(s\)"),
        ("regression", np.zeros((1, 3)), [1.0], "1 sample"),
        ("classification", _xy()[0], _xy()[0][:, 1], "continuous"),
        ("classification", _xy()[0], np.ones(40), "only one class"),
        ("binary", _xy()[0], np.arange(40) % 3, "Only binary classification"),
    ],
    ids=["1d-X", "no-features", "one-row", "continuous-labels", "one-class", "binary-3-classes"],
)
def test_bad_input_is_a_one_line_user_error(task, X, y, message):
    with pytest.raises(UserError, match=message) as info:
        AutoModel(task=task, **TINY).fit(X, y)
    assert "\n" not in str(info.value)


def test_unfitted_and_mismatched_input_are_user_errors():
    X, y = _xy()
    with pytest.raises(UserError, match="not fitted") as info:
        AutoModel(**TINY).predict(X)
    assert isinstance(info.value, sklearn.exceptions.NotFittedError)
    m = AutoModel(**TINY).fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    with (
        pytest.raises(UserError, match="expecting 3 features"),
        pytest.warns(UserWarning, match="feature names"),
    ):
        m.predict(X[:, :2])
    with pytest.raises(UserError, match="unseen at fit time") as info:
        m.predict(pd.DataFrame(X, columns=["a", "b", "z"]))
    assert "\n" not in str(info.value)


def test_only_classifiers_have_predict_proba():
    X, y = _xy()
    assert not hasattr(AutoModel(task="regression", **TINY), "predict_proba")
    assert hasattr(AutoModel(**TINY), "predict_proba")  # task decided at fit
    assert not hasattr(AutoModel(**TINY).fit(X, X[:, 0]), "predict_proba")


def test_predictions_on_an_object_array_do_not_depend_on_the_batch():
    # A batch whose mixed column holds only numbers (and a gap) must not be re-typed as
    # numeric: the schema learned at fit decides how each column is read.
    X, y = _xy(60)
    Xo = X.astype(object)
    labels = ["a", "b", 1, 2]
    Xo[:, 1] = [labels[i % 4] for i in range(60)]
    Xo[2, 1] = None
    m = AutoModel(task="classification", **TINY).fit(Xo, y)
    numbers_only = [i for i in range(60) if not isinstance(Xo[i, 1], str)]
    np.testing.assert_allclose(m.predict_proba(Xo[numbers_only]), m.predict_proba(Xo)[numbers_only])


def test_target_named_like_a_feature_column_fits():
    X, _ = _xy()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    AutoModel(**TINY).fit(df, (df["a"] > 0).astype(int))  # y is named "a" too


def test_pickle_carries_the_version_and_warns_on_mismatch():
    X, y = _xy()
    m = AutoModel(**TINY).fit(X, y)
    state = m.__getstate__()
    assert state["_mlresearcher_version"] == __version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(m)).predict(X), m.predict(X))
    old = AutoModel.__new__(AutoModel)
    with pytest.warns(UserWarning, match="saved with mlresearcher 0.0.1"):
        old.__setstate__({**state, "_mlresearcher_version": "0.0.1"})
