"""Shared preprocessing: the prepared feature frame -> what each kind of learner eats.

Every builder returns an *unfitted* scikit-learn ``ColumnTransformer`` whose statistics
(category levels, medians, scales, target encodings, vocabularies, SVD bases) are learned
in ``fit`` only, so an estimator that fits it inside its own ``fit`` cannot leak across
cross-validation folds. The input is the frame of
:func:`mlresearcher.data.schema.prepare_features`: numeric columns are ``float64`` with
NaN for missing; categorical, high-cardinality and text columns hold strings with
``None``/NaN for missing (object or pandas ``str`` dtype).

=================  ============================  ==========================================
builder            for                           treatment
=================  ============================  ==========================================
``tree``           boosters, forests, HGB        categories -> ordinal codes (NaN for
                                                 missing *and* unseen; rare levels grouped),
                                                 numbers passed through with NaN, text ->
                                                 TF-IDF + truncated SVD + length features
``catboost``       CatBoost                      categories as strings (CatBoost encodes
                                                 them itself), numbers passed through, text
                                                 as for ``tree``; pandas output
``linear``         logistic / ridge regression   numbers: median imputation + missing
                                                 indicators + scaling; categories one-hot
                                                 (rare and unseen levels -> "infrequent");
                                                 high cardinality -> cross-fitted target
                                                 encoding; text -> sparse TF-IDF (1-2 grams)
``knn``            nearest neighbours            as ``linear`` but dense: text -> SVD
``mlp``            neural networks               categories -> integer codes for
                                                 embeddings (first output columns), numbers
                                                 imputed + rank-gauss, text -> SVD
=================  ============================  ==========================================

For the builders that emit integer category codes (``tree``, ``mlp``, ``catboost``) the
category columns come *first* in the output, in the order of
:func:`category_columns`, so learners can address them by position.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    StandardScaler,
    TargetEncoder,
)

from mlresearcher.data.schema import string_codes
from mlresearcher.models.text import TEXT_MAX_FEATURES, TEXT_SVD_COMPONENTS, TextFeatures

#: the string CatBoost sees for a missing category
MISSING_LEVEL = "__missing__"

_NUMERIC = ("numeric",)
_CATEGORIES = ("categorical", "high_cardinality")


def category_columns(feature_roles: dict[str, str]) -> list[str]:
    """Categorical then high-cardinality columns: the leading output columns of the
    ``tree``, ``mlp`` and ``catboost`` builders."""
    cat = [c for c, r in feature_roles.items() if r == "categorical"]
    high = [c for c, r in feature_roles.items() if r == "high_cardinality"]
    return cat + high


def _columns(feature_roles: dict[str, str], *roles: str) -> list[str]:
    return [c for c, r in feature_roles.items() if r in roles]


# ---------------------------------------------------------------------------- stateless
def as_categories(X: Any) -> np.ndarray:
    """Category values as an object array of ``str`` with ``np.nan`` for missing.

    Stateless (safe before any split). Accepts object, pandas ``str`` and categorical
    columns (the compact frame of large data) and turns non-string values (numbers in an
    object column) into strings; each distinct value is converted once.
    """
    frame = pd.DataFrame(X)
    out = np.empty(frame.shape, dtype=object)
    for j, name in enumerate(frame.columns):
        codes, levels = string_codes(frame[name])
        if len(levels):
            out[:, j] = levels.take(np.maximum(codes, 0))
        out[codes < 0, j] = np.nan
    return out


def as_level_strings(X: Any) -> np.ndarray:
    """Category values as strings, missing as :data:`MISSING_LEVEL` (for CatBoost)."""
    out = as_categories(X)
    out[pd.isna(out)] = MISSING_LEVEL
    return out


def _text_transformers(feature_roles: dict[str, str], seed: int, **kwargs: Any) -> list[tuple]:
    # one transformer per text column, each given the column *name* (1-D input)
    return [
        (f"text_{i}", TextFeatures(random_state=seed, **kwargs), col)
        for i, col in enumerate(_columns(feature_roles, "text"))
    ]


def _ordinal(min_frequency: int | None, max_categories: int | None) -> Pipeline:
    return Pipeline(
        [
            ("clean", FunctionTransformer(as_categories, feature_names_out="one-to-one")),
            (
                "codes",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                    min_frequency=min_frequency,
                    max_categories=max_categories,
                    dtype=np.float64,
                ),
            ),
        ]
    )


def _column_transformer(
    transformers: list[tuple], sparse_threshold: float = 0.0
) -> ColumnTransformer:
    return ColumnTransformer(
        [t for t in transformers if not isinstance(t[2], list) or t[2]],
        remainder="drop",
        sparse_threshold=sparse_threshold,
        verbose_feature_names_out=False,
    )


# ------------------------------------------------------------------------------ builders
def tree_preprocessor(
    feature_roles: dict[str, str],
    *,
    seed: int = 0,
    min_frequency: int | None = None,
    max_categories: int | None = None,
    text_components: int = TEXT_SVD_COMPONENTS,
) -> ColumnTransformer:
    """Ordinal category codes (first), raw numbers with NaN, dense text features.

    Missing and unseen levels both become NaN, which every tree learner here routes with
    its missing-value logic. ``min_frequency`` groups rarer levels into one code;
    ``max_categories`` bounds the codes per column (HistGradientBoosting needs < 255).
    """
    cats = category_columns(feature_roles)
    return _column_transformer(
        [
            ("categories", _ordinal(min_frequency, max_categories), cats),
            ("numeric", "passthrough", _columns(feature_roles, *_NUMERIC)),
            *_text_transformers(feature_roles, seed, svd_components=text_components),
        ]
    )


def catboost_preprocessor(
    feature_roles: dict[str, str], *, seed: int = 0, text_components: int = TEXT_SVD_COMPONENTS
) -> ColumnTransformer:
    """Category strings (first; missing -> :data:`MISSING_LEVEL`), numbers, text features.

    Outputs a pandas frame so strings and floats keep their types.
    """
    cats = category_columns(feature_roles)
    ct = _column_transformer(
        [
            (
                "categories",
                FunctionTransformer(as_level_strings, feature_names_out="one-to-one"),
                cats,
            ),
            ("numeric", "passthrough", _columns(feature_roles, *_NUMERIC)),
            *_text_transformers(feature_roles, seed, svd_components=text_components),
        ]
    )
    return ct.set_output(transform="pandas")


def _numeric_scaled(scaling: str, seed: int, n_rows: int | None = None) -> Pipeline:
    if scaling == "quantile":
        scaler: Any = QuantileTransformer(
            output_distribution="normal",
            n_quantiles=max(2, min(1000, n_rows or 1000)),
            subsample=100_000,
            random_state=seed,
        )
    elif scaling == "standard":
        scaler = StandardScaler()
    else:
        raise ValueError(f"unknown scaling {scaling!r}; use 'standard' or 'quantile'")
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("scale", scaler),
        ]
    )


def _target_encoder(target_type: str, seed: int) -> TargetEncoder:
    """A seeded, cross-fitting ``TargetEncoder`` (5 shuffled folds, stratified for classes)."""
    import sklearn
    from sklearn.model_selection import KFold, StratifiedKFold

    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    if (major, minor) < (1, 9):  # before 1.9 the shuffling seed was a parameter
        return TargetEncoder(target_type=target_type, random_state=seed)
    splitter = KFold if target_type == "continuous" else StratifiedKFold
    return TargetEncoder(target_type=target_type, cv=splitter(5, shuffle=True, random_state=seed))


def _target_encoded(target_type: str, seed: int) -> Pipeline:
    return Pipeline(
        [
            ("clean", FunctionTransformer(as_categories, feature_names_out="one-to-one")),
            ("encode", _target_encoder(target_type, seed)),
            ("scale", StandardScaler()),
        ]
    )


def _one_hot(min_frequency: int | None, max_categories: int | None, sparse: bool) -> Pipeline:
    return Pipeline(
        [
            ("clean", FunctionTransformer(as_categories, feature_names_out="one-to-one")),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=min_frequency,
                    max_categories=max_categories,
                    sparse_output=sparse,
                ),
            ),
        ]
    )


def linear_preprocessor(
    feature_roles: dict[str, str],
    *,
    target_type: str,
    seed: int = 0,
    scaling: str = "standard",
    min_frequency: int | None = None,
    text_ngram_max: int = 2,
    n_rows: int | None = None,
) -> ColumnTransformer:
    """Scaled numbers + missing indicators, one-hot categories, target-encoded
    high-cardinality columns, sparse TF-IDF text (output sparse when text dominates).

    ``n_rows`` (the training rows) bounds the quantiles of ``scaling="quantile"``.
    ``target_type`` is scikit-learn's ``TargetEncoder`` type: ``"binary"``,
    ``"multiclass"`` or ``"continuous"``; the encoder cross-fits on the training rows.
    """
    return _column_transformer(
        [
            ("numeric", _numeric_scaled(scaling, seed, n_rows), _columns(feature_roles, *_NUMERIC)),
            (
                "categorical",
                _one_hot(min_frequency, None, sparse=True),
                _columns(feature_roles, "categorical"),
            ),
            (
                "high_cardinality",
                _target_encoded(target_type, seed),
                _columns(feature_roles, "high_cardinality"),
            ),
            *_text_transformers(feature_roles, seed, svd_components=None, ngram_max=text_ngram_max),
        ],
        sparse_threshold=0.3,
    )


def knn_preprocessor(
    feature_roles: dict[str, str],
    *,
    target_type: str,
    seed: int = 0,
    min_frequency: int | None = None,
    max_categories: int = 16,
    text_components: int = TEXT_SVD_COMPONENTS,
) -> Pipeline:
    """Dense version of :func:`linear_preprocessor` for distance-based learners: one-hot
    categories (at most ``max_categories`` levels each), text as scaled SVD features."""
    ct = _column_transformer(
        [
            ("numeric", _numeric_scaled("standard", seed), _columns(feature_roles, *_NUMERIC)),
            (
                "categorical",
                _one_hot(min_frequency, max_categories, sparse=False),
                _columns(feature_roles, "categorical"),
            ),
            (
                "high_cardinality",
                _target_encoded(target_type, seed),
                _columns(feature_roles, "high_cardinality"),
            ),
            *_text_transformers(feature_roles, seed, svd_components=text_components),
        ]
    )
    # a final scaler puts text-SVD and one-hot columns on the numeric columns' scale
    return Pipeline([("columns", ct), ("scale", StandardScaler())])


def mlp_preprocessor(
    feature_roles: dict[str, str],
    *,
    seed: int = 0,
    min_frequency: int | None = None,
    max_categories: int | None = None,
    text_components: int = TEXT_SVD_COMPONENTS,
    n_rows: int | None = None,
) -> ColumnTransformer:
    """Category codes first (NaN for missing/unseen), then rank-gauss numbers with missing
    indicators, then standardised text SVD features."""
    text = [
        (name, Pipeline([("text", tf), ("scale", StandardScaler())]), col)
        for name, tf, col in _text_transformers(feature_roles, seed, svd_components=text_components)
    ]
    return _column_transformer(
        [
            (
                "categories",
                _ordinal(min_frequency, max_categories),
                category_columns(feature_roles),
            ),
            (
                "numeric",
                _numeric_scaled("quantile", seed, n_rows),
                _columns(feature_roles, *_NUMERIC),
            ),
            *text,
        ]
    )


def deep_preprocessor(
    feature_roles: dict[str, str],
    *,
    seed: int = 0,
    min_frequency: int | None = 3,
    text_components: int = TEXT_SVD_COMPONENTS,
) -> ColumnTransformer:
    """Category codes first (NaN for missing/unseen, levels rarer than ``min_frequency``
    grouped), then numbers imputed by their median with missing indicators (the networks
    of :mod:`mlresearcher.models.deep` scale and clip numbers themselves), then text SVD
    features."""
    return _column_transformer(
        [
            (
                "categories",
                _ordinal(min_frequency, None),
                category_columns(feature_roles),
            ),
            (
                "numeric",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                _columns(feature_roles, *_NUMERIC),
            ),
            *_text_transformers(feature_roles, seed, svd_components=text_components),
        ]
    )


def target_type(task: str, n_classes_present: int) -> str:
    """scikit-learn's ``TargetEncoder`` target type for a task and the classes in a fold."""
    if task == "regression":
        return "continuous"
    return "binary" if n_classes_present <= 2 else "multiclass"


def n_output_categories(feature_roles: dict[str, str]) -> int:
    """How many leading output columns of ``tree``/``mlp``/``catboost`` are categories."""
    return len(category_columns(feature_roles))


__all__ = [
    "MISSING_LEVEL",
    "TEXT_MAX_FEATURES",
    "TEXT_SVD_COMPONENTS",
    "TextFeatures",
    "as_categories",
    "as_level_strings",
    "catboost_preprocessor",
    "deep_preprocessor",
    "category_columns",
    "knn_preprocessor",
    "linear_preprocessor",
    "mlp_preprocessor",
    "n_output_categories",
    "target_type",
    "tree_preprocessor",
]
