"""``AutoModel``: the campaign as a scikit-learn estimator.

>>> model = AutoModel(time_limit=60, seed=0).fit(X, y)      # doctest: +SKIP
>>> model.predict(X_new); model.predict_proba(X_new); model.leaderboard()  # doctest: +SKIP

Follows the scikit-learn contract: every constructor argument is stored verbatim,
``fit`` learns and returns ``self``, learned state ends in ``_``, ``clone`` works, and
capabilities are declared as tags. The estimator type (classifier or regressor) follows the
``task`` argument; with ``task=None`` it is decided by the data at ``fit``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from mlresearcher import __version__
from mlresearcher.data.io import column_arrays, to_frame
from mlresearcher.data.schema import FEW_ROWS
from mlresearcher.data.task import MIN_ROWS, normalize_task
from mlresearcher.errors import ConfigError, DataError, NotFittedError, RunNotFoundError
from mlresearcher.store.integrity import ArtifactError

_SAVED = "automodel.joblib"
_SAVED_RECORD = "automodel.json"  # its SHA-256, checked before unpickling


def _declared_task(task: str | None) -> str | None:
    """The ``task`` argument normalised; None when absent or unknown (``fit`` reports that)."""
    try:
        return normalize_task(task)
    except ConfigError:
        return None


def _is_classifier(model: AutoModel) -> bool:
    """Whether ``model`` is (or, unfitted, may become) a classifier: ``task=None`` may be either."""
    task = getattr(model, "task_", None) or _declared_task(model.task)
    return task != "regression"


class AutoModel(BaseEstimator):
    """Budgeted AutoML campaign (portfolio, Bayesian search, ensemble) as an estimator.

    Parameters
    ----------
    time_limit : float or None, default=60
        Wall-clock seconds for the whole ``fit`` (search, ensembling and saving).
    max_trials : int or None
        Stop after this many trials. With ``time_limit=None`` the fit is deterministic.
    task : {"binary", "multiclass", "regression", "classification"} or None
        Override the task inferred from ``y``.
    metric : str or None
        Metric to optimise; defaults to ROC AUC (binary), log loss (multiclass), RMSE.
    seed : int, default=0
    families : list of str or None
        Model families to use (default: every available family but the opt-in ``realmlp``).
    folds, repeats : int or None
        Override the k-fold protocol; ``holdout`` (a fraction) uses one holdout split.
    group, time : str or None
        Column of ``X`` for group k-fold or a time-ordered split.
    n_jobs : int, default=2
        Threads per model.
    out : str or None
        Runs folder; when set, the run directory and the SQLite store are written there.
    store : str or None
        SQLAlchemy URL of the run store (default: ``sqlite:///<out>/mlresearcher.db`` when
        ``out`` is set, else nothing is stored).
    verbose : int, default=0
        1 shows the live progress view on stderr.
    sensitive : list of str or None
        Columns of ``X`` whose groups the fairness analysis of :meth:`report` compares.
    final_model : {"refit", "bagged"}, default="refit"
        ``"refit"``: each ensemble member is refit once on all rows, within the time limit,
        and predictions use that one model per member; ``"bagged"``: they average the
        member's cross-validation fold models (5 to 15 per member, slower to predict).
    target_transform : bool, default=True
        For a non-negative, skewed regression target (a price, a count), let the boosters
        also try fitting its square root or log (scored on the target's own scale);
        ``False`` fits the target itself only (ONNX export and TreeSHAP need that).
    portfolio : {"families", "learned"}, default="families"
        The campaign's first trials: every family's own configurations round by round, or
        the portfolio learned on the meta-learning suite (``mlresearcher.search.portfolio``;
        not yet the default: on the suite's validate part it wins on binary tasks and loses
        on multiclass ones, see ``benchmarks/RESULTS.md``).
    """

    def __init__(
        self,
        time_limit: float | None = 60.0,
        max_trials: int | None = None,
        task: str | None = None,
        metric: str | None = None,
        seed: int = 0,
        families: list[str] | tuple[str, ...] | None = None,
        folds: int | None = None,
        repeats: int | None = None,
        holdout: float | None = None,
        group: str | None = None,
        time: str | None = None,
        n_jobs: int = 2,
        out: str | None = None,
        store: str | None = None,
        verbose: int = 0,
        sensitive: list[str] | tuple[str, ...] | None = None,
        final_model: str = "refit",
        target_transform: bool = True,
        portfolio: str = "families",
    ) -> None:
        self.time_limit = time_limit
        self.max_trials = max_trials
        self.task = task
        self.metric = metric
        self.seed = seed
        self.families = families
        self.folds = folds
        self.repeats = repeats
        self.holdout = holdout
        self.group = group
        self.time = time
        self.n_jobs = n_jobs
        self.out = out
        self.store = store
        self.verbose = verbose
        self.sensitive = sensitive
        self.final_model = final_model
        self.target_transform = target_transform
        self.portfolio = portfolio

    # scikit-learn tags -------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        # ``categorical`` stays False: scikit-learn sets it only on estimators built for
        # integer-coded categories (CategoricalNB, OneHotEncoder) and its checks feed those
        # rounded codes. AutoModel treats numbers as numbers and finds categorical columns
        # itself (strings, booleans, pandas categoricals).
        tags.target_tags.required = True
        task = _declared_task(self.task)
        if task in ("binary", "multiclass", "classification"):
            tags.estimator_type = "classifier"
            from sklearn.utils import ClassifierTags

            tags.classifier_tags = ClassifierTags(multi_class=task != "binary")
        elif task == "regression":
            tags.estimator_type = "regressor"
            from sklearn.utils import RegressorTags

            tags.regressor_tags = RegressorTags()
        return tags

    # fitting ---------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> AutoModel:
        """Run the campaign on ``X`` (features) and ``y`` (target); return ``self``."""
        from mlresearcher.engine import RunConfig, run

        if y is None:
            raise DataError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        Xf = self._frame(X, reset=True)
        ys = self._target(y, len(Xf))
        config = RunConfig(
            time_limit=self.time_limit,
            max_trials=self.max_trials,
            seed=self.seed,
            task=self.task,
            metric=self.metric,
            families=list(self.families) if self.families is not None else None,
            folds=self.folds,
            repeats=self.repeats,
            holdout=self.holdout,
            group=self.group,
            time=self.time,
            n_jobs=self.n_jobs,
            sensitive=list(self.sensitive) if self.sensitive is not None else None,
            final_model=self.final_model,
            target_transform=self.target_transform,
            portfolio=self.portfolio,
        )
        store = None
        if self.store is not None or self.out is not None:
            from mlresearcher.store.db import Store, default_store_url

            store = Store(self.store or default_store_url(self.out or "runs"))
        progress = None
        if self.verbose:
            from mlresearcher.progress import LiveProgress

            progress = LiveProgress()
        rr = run(
            Xf,
            ys,
            config,
            out_dir=self.out,
            store=store,
            progress=progress,
            data_source="in-memory",
        )
        self.predictor_ = rr.predictor
        self.task_ = rr.task
        self.metric_ = rr.metric.name
        self.leaderboard_ = rr.leaderboard
        self.findings_ = [f.to_dict() for f in rr.findings]
        self.protocol_ = rr.protocol.to_dict()
        self.run_id_ = rr.run_id
        self.run_dir_ = str(rr.run_dir) if rr.run_dir else None
        self.best_score_ = rr.best_score
        self.fit_time_ = rr.wall_time
        # with ``out`` the analysis ran inside the fit; otherwise report() runs it on demand
        self.analysis_ = rr.extra.get("analysis")
        inputs = rr.extra.get("inputs") or {}
        self._analysis_inputs = (
            (rr, inputs["X"], inputs["Xp"]) if self.analysis_ is None and inputs else None
        )
        if rr.task != "regression":
            self.classes_ = np.asarray(rr.target.classes)
        if store is not None:
            store.close()
        return self

    def _frame(self, X: Any, reset: bool) -> pd.DataFrame:
        """``X`` as a DataFrame, checked like scikit-learn's ``validate_data`` checks it.

        Messages keep scikit-learn's wording (tools match on it) but every failure is a
        one-line :class:`DataError`. ``reset=True`` (``fit``) records ``n_features_in_`` and
        ``feature_names_in_``; otherwise ``X`` must match them.
        """
        if not reset and isinstance(X, pd.DataFrame) and self._quick_columns(X) is not None:
            return X
        if X is None:
            raise DataError("X is None; pass the feature table")
        if hasattr(X, "toarray") or hasattr(X, "tocsr"):
            raise DataError("sparse matrices are not supported; pass a dense array or a DataFrame")
        if not (
            isinstance(X, pd.DataFrame) or type(X).__module__.startswith(("polars", "pyarrow"))
        ):
            X = np.asarray(X)
            if X.ndim != 2:
                raise DataError(
                    f"Expected 2D array, got {X.ndim}D array instead. Reshape your data: X.reshape(-1, 1) "
                    "if it has a single feature, X.reshape(1, -1) if it is a single sample"
                )
            if np.iscomplexobj(X):
                raise DataError("Complex data not supported; pass real-valued features")
        df = to_frame(X, infer_dtypes=reset) if not isinstance(X, pd.DataFrame | np.ndarray) else X
        n_min = MIN_ROWS if reset else 1
        if df.shape[0] < n_min:
            why = (
                "cross-validation needs at least that many rows"
                if reset
                else "pass at least one row"
            )
            raise DataError(
                f"Found array with {df.shape[0]} sample(s) (shape={df.shape}) while a minimum of {n_min} is required; {why}"
            )
        if df.shape[1] == 0:
            raise DataError(
                f"Found array with 0 feature(s) (shape={df.shape}) while a minimum of 1 is required; pass at least one feature column"
            )
        names_in = getattr(self, "feature_names_in_", None)
        same_columns = (  # what validate_data checks at predict time, the common case
            not reset
            and isinstance(df, pd.DataFrame)
            and names_in is not None
            and len(df.columns) == len(names_in)
            and all(
                isinstance(c, str) and c == n for c, n in zip(df.columns, names_in, strict=True)
            )
        )
        try:
            if not same_columns:  # its messages for every other case
                validate_data(self, X=df, reset=reset, skip_check_array=True)
        except ValueError as e:  # feature count or names differ from fit
            raise DataError(
                " ".join(str(e).split()).rstrip(".") + "; pass the feature columns used at fit"
            ) from e
        # A NumPy X predicted on gets the column names the model was fitted with (from a
        # DataFrame at fit), so the schema finds its columns.
        names = (
            list(self.feature_names_in_)
            if not reset and hasattr(self, "feature_names_in_")
            else None
        )
        df = to_frame(df, columns=names if isinstance(df, np.ndarray) else None, infer_dtypes=reset)
        if any(pd.api.types.is_complex_dtype(t) for t in df.dtypes):
            raise DataError("Complex data not supported; pass real-valued features")
        return df

    def _quick_columns(self, df: pd.DataFrame) -> dict[str, Any] | None:
        """The column arrays of ``df`` by name, when it is a frame to predict on with
        exactly the columns of fit in order, at most ``FEW_ROWS`` rows and no complex
        numbers: a prediction request, checked without the general path's per-column pandas
        calls (which cost more than predicting one row). ``None`` sends every other frame
        through the general checks and their messages."""
        names_in = self.__dict__.get("feature_names_in_")
        if names_in is None or not 0 < len(df) <= FEW_ROWS:
            return None
        cached = self.__dict__.get("_names_in")
        if cached is None or cached[0] is not names_in:  # first call, or fitted anew
            names = [str(c) for c in names_in]
            cached = self.__dict__["_names_in"] = [names_in, names, None]
        columns = df.columns
        if columns is not cached[2]:  # an index object seen before was checked then
            names = list(columns)
            if names != cached[1] or not all(type(c) is str for c in names):
                return None
            cached[2] = columns  # an index cannot change: this check holds for good
        arrays = column_arrays(df)
        if any(a.dtype.kind == "c" for a in arrays):
            return None
        return dict(zip(cached[1], arrays, strict=True))

    @staticmethod
    def _target(y: Any, n: int) -> pd.Series:
        if isinstance(y, pd.DataFrame):
            if y.shape[1] != 1:
                raise DataError(f"y must be one column, got {y.shape[1]}")
            y = y.iloc[:, 0]
        if type(y).__module__.startswith(("polars", "pyarrow")):
            y = pd.Series(y.to_pandas() if hasattr(y, "to_pandas") else list(y))
        if not isinstance(y, pd.Series):
            arr = np.asarray(y)
            if arr.ndim == 2 and arr.shape[1] == 1:
                from sklearn.exceptions import DataConversionWarning

                warnings.warn(
                    "A column-vector y was passed when a 1d array was expected; it was flattened",
                    DataConversionWarning,
                    stacklevel=3,
                )
                arr = arr.ravel()
            if arr.ndim != 1:
                raise DataError(
                    f"y should be a 1d array, got an array of shape {arr.shape} instead"
                )
            y = pd.Series(arr)
        if len(y) != n:
            raise DataError(
                f"Found input variables with inconsistent numbers of samples: X has {n} rows, y has {len(y)}"
            )
        y = y.reset_index(drop=True)
        if y.name is None:
            y = y.rename("target")
        return y

    # predicting ------------------------------------------------------------------------------------
    def _check(self) -> None:
        if "predictor_" in self.__dict__:  # fitted: what check_is_fitted finds, sooner
            return
        try:
            check_is_fitted(self, "predictor_")
        except Exception as e:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call 'fit' with appropriate arguments before using this estimator"
            ) from e

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (classification) or values (regression) for ``X``."""
        self._check()
        quick = self._quick_columns(X) if isinstance(X, pd.DataFrame) else None
        if quick is not None:  # a prediction request: its columns, already checked
            return self.predictor_.labels(self.predictor_.scores_from_columns(quick, len(X)))
        return self.predictor_.predict(self._frame(X, reset=False))

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Only classifiers have it: ``hasattr(model, "predict_proba")`` is False for
        ``task="regression"`` and for a model that ``fit`` found to be a regression.
        """
        self._check()
        quick = self._quick_columns(X) if isinstance(X, pd.DataFrame) else None
        if quick is not None:  # a prediction request: its columns, already checked
            return self.predictor_.scores_from_columns(quick, len(X))
        return self.predictor_.predict_proba(self._frame(X, reset=False))

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for classifiers, R² for regressors (the scikit-learn convention)."""
        from sklearn.metrics import accuracy_score, r2_score

        pred = self.predict(X)
        return float(r2_score(y, pred) if self.task_ == "regression" else accuracy_score(y, pred))

    def leaderboard(self) -> pd.DataFrame:
        """Every trial and the ensemble, best first, with cross-validated scores."""
        self._check()
        return self.leaderboard_.copy()

    def report(self, time_limit: float | None = 60.0) -> Any:
        """The run's report: executive summary, honest comparison, explanations,
        diagnostics and fairness. A notebook displays the returned object
        (``_repr_html_``); ``.html``, ``.markdown`` and ``.model_card`` hold the texts and
        ``.save(folder)`` writes them.

        With ``out`` set, the analysis ran during ``fit`` and the run directory's report is
        returned. Otherwise the analysis runs at the first call, within ``time_limit``
        seconds (``None``: no limit), on the training data kept in memory since ``fit``.
        """
        from mlresearcher import report as rp

        self._check()
        if self.analysis_ is None:
            inputs = getattr(self, "_analysis_inputs", None)
            if inputs is None:
                raise DataError(
                    "this model no longer holds its training data (it was saved and loaded); "
                    "refit it, or fit with out=DIR so the report is written at fit time"
                )
            import time

            from mlresearcher.analysis import analyse

            rr, X, Xp = inputs
            self.analysis_ = analyse(
                rr,
                X,
                Xp,
                sensitive=list(self.sensitive) if self.sensitive else None,
                seed=self.seed,
                n_jobs=self.n_jobs,
                deadline=time.monotonic() + time_limit if time_limit else None,
            )
            self.findings_ = self.findings_ + self.analysis_["findings"]
            self._analysis_inputs = None  # the data is no longer needed
        if self.run_dir_ and (Path(self.run_dir_) / rp.REPORT_HTML).exists():
            return rp.load(self.run_dir_)
        return rp.render(self.analysis_, self.findings_)

    # persistence -------------------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        # A pickled model records the mlresearcher version that made it, as scikit-learn's own
        # estimators record theirs; unpickling it under another version warns. The training
        # data kept for report() is not saved.
        state = dict(super().__getstate__(), _mlresearcher_version=__version__)
        state.pop("_analysis_inputs", None)
        state.pop("_names_in", None)  # derived from feature_names_in_ on first use
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        saved = state.pop("_mlresearcher_version", "unknown")
        if saved != __version__:
            warnings.warn(
                f"this AutoModel was saved with mlresearcher {saved} and loaded with {__version__}; "
                "predictions may differ: refit it, or install the version that saved it",
                UserWarning,
                stacklevel=2,
            )
        super().__setstate__(state)

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to the folder ``path``: ``automodel.joblib`` and
        ``automodel.json``, which records its SHA-256 for :meth:`load` to check."""
        import joblib

        from mlresearcher.store.atomic import atomic_path, write_text
        from mlresearcher.store.integrity import sha256_file

        self._check()
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        with atomic_path(p / _SAVED) as tmp:
            joblib.dump({"version": __version__, "model": self}, tmp, compress=3)
            digest = sha256_file(tmp)
        record = {"version": __version__, "files": {_SAVED: digest}}
        write_text(p / _SAVED_RECORD, json.dumps(record, indent=2) + "\n")
        return p

    @classmethod
    def load(cls, path: str | Path, *, verify: bool = True) -> AutoModel:
        """Load a model written by :meth:`save`. Its SHA-256 is checked against
        ``automodel.json`` before anything is unpickled (unpickling runs code named in the
        file); ``verify=False`` skips the check, for a file you trust that was saved
        without a record. Unpickling warns when the version differs."""
        import joblib

        from mlresearcher.store.integrity import verify_file

        d = Path(path)
        f = d / _SAVED
        if not f.exists():
            raise RunNotFoundError(f"no saved AutoModel in {str(path)!r} (expected {_SAVED})")
        if verify:
            record_file = d / _SAVED_RECORD
            try:
                record = json.loads(record_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # absent, unreadable or not JSON
                record = {"files": {}}
            if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
                record = {"files": {}}
            if _SAVED not in record["files"]:
                raise ArtifactError(
                    f"{str(record_file)!r} is missing or unreadable, so {_SAVED} cannot be "
                    "verified before it is unpickled; save the model again, or pass "
                    "verify=False if you trust the file"
                )
            verify_file(d, _SAVED, record)
        return joblib.load(f)["model"]
