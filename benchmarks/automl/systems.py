"""The systems under comparison, one adapter each, behind one small interface.

An adapter is built with the task and the budget, then ``fit(X, y)`` and ``predict(X)``.
``predict`` returns class probabilities for classification (columns in the order of
``classes``) and values for regression. Every adapter imports its library inside
``__init__``, so the worker process loads only the system it runs: mlresearcher runs in
the project's environment, the peers in ``benchmarks/automl/.venv-peers``.

Settings: each system's defaults, with the benchmark's budget, seed, metric and thread
count (``n_jobs``) passed where the system takes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


class System:
    """Interface: ``fit``, ``predict``, ``classes`` (classification) and ``info()``."""

    classes: list[Any]

    def __init__(self, *, task: Any, budget: float, seed: int, n_jobs: int, workdir: Path):
        self.task, self.budget, self.seed, self.n_jobs, self.workdir = (
            task,
            budget,
            seed,
            n_jobs,
            workdir,
        )

    def fit(self, X: pd.DataFrame, y: pd.Series) -> None:
        raise NotImplementedError

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """What the system chose (best model, trial count): recorded with the result."""
        return {}

    def save(self, path: Path) -> None:
        """Pickle the fitted model to ``path`` (systems that support it)."""
        raise NotImplementedError(f"{type(self).__name__} does not save its model")


class MLResearcher(System):
    """The project's ``AutoModel`` (the same engine as ``mlresearcher run``) at its
    defaults, its default final model included."""

    final_model: str | None = None  # None: AutoModel's default
    portfolio: str | None = None  # None: AutoModel's default
    families: tuple[str, ...] | None = None  # None: AutoModel's default

    def fit(self, X, y):
        import mlresearcher.engine as engine
        from mlresearcher import AutoModel

        final = {} if self.final_model is None else {"final_model": self.final_model}
        if self.portfolio is not None:
            final["portfolio"] = self.portfolio
        if self.families is not None:
            final["families"] = list(self.families)
        # the run's result (every trial, with the fold models the campaign kept) is held
        # for audit(); AutoModel keeps only the final model
        run, captured = engine.run, []

        def capture(*args, **kwargs):
            captured.append(run(*args, **kwargs))
            return captured[-1]

        engine.run = capture
        try:
            self.model = AutoModel(
                time_limit=self.budget,
                **final,
                seed=self.seed,
                n_jobs=self.n_jobs,
                task=self.task.task_type,
                metric=self.task.metric,
            ).fit(X, y)
        finally:
            engine.run = run
        self.run_result = captured[-1] if captured else None
        if self.task.is_classification:
            self.classes = list(self.model.classes_)

    def predict(self, X):
        if self.task.is_classification:
            return np.asarray(self.model.predict_proba(X))
        return np.asarray(self.model.predict(X))

    def info(self):
        board = self.model.leaderboard()
        predictor = self.model.predictor_
        return {
            "best_model": str(board.iloc[0].get("model", "")),
            "n_trials": int(len(board)),
            "final_model": predictor.describe(),
            "refit": predictor.info.get("refit"),
        }

    def save(self, path):
        import pickle

        with open(path, "wb") as f:
            pickle.dump(self.model, f)

    def audit(self, X_test: pd.DataFrame, y_test: pd.Series) -> list[dict[str, Any]]:
        """Every trial of the run with its cross-validated score and, where the campaign
        kept its fold models, the test score of their average (what that trial would have
        scored as the final model, bagged): for ``audit.py``."""
        from scoring import score

        from mlresearcher.models.base import predict_scores

        rr = self.run_result
        if rr is None:
            return []
        Xp = rr.predictor.prepare(X_test)
        n_classes = rr.target.n_classes
        out = []
        for t in rr.campaign.trials:
            row = {
                "name": t.name,
                "family": t.family,
                "origin": t.origin,
                "status": t.status,
                "cv": t.score if t.status == "complete" else None,
                "cv_std": t.score_std if t.status == "complete" else None,
                "fit_time": round(t.fit_time, 3),
                "params": {
                    k: v for k, v in t.params.items() if isinstance(v, (int, float, str, bool))
                },
                "test": None,
            }
            if t.status == "complete" and t.models:
                try:
                    pred = np.mean(
                        [predict_scores(m, Xp, rr.task, n_classes) for m in t.models], axis=0
                    )
                    row["test"] = score(
                        self.task.metric,
                        y_test,
                        pred,
                        classes=list(rr.target.classes) if n_classes else None,
                        positive_class=self.task.positive_class,
                    )
                except Exception as e:  # an audit row never fails the benchmark row
                    row["error"] = f"{type(e).__name__}: {e}"[:200]
            out.append(row)
        return out


class MLResearcherRefit(MLResearcher):
    """``AutoModel(final_model="refit")`` (``mlresearcher run --final-model refit``): each
    member refit once on all training rows."""

    final_model = "refit"


class MLResearcherBagged(MLResearcher):
    """``AutoModel(final_model="bagged")`` (``mlresearcher run --final-model bagged``): each
    member predicts with the average of its cross-validation fold models."""

    final_model = "bagged"


class MLResearcherLearned(MLResearcher):
    """``AutoModel(portfolio="learned")`` (``mlresearcher run --portfolio learned``): the
    portfolio learned on the meta suite's train part instead of every family's own
    configurations round by round (the default)."""

    portfolio = "learned"


class MLResearcherRealMLP(MLResearcher):
    """``AutoModel(families=[...every default family..., "realmlp"])``: the default run with
    the opt-in RealMLP family added (last in the family order)."""

    @property
    def families(self) -> tuple[str, ...]:
        from mlresearcher.models.registry import DEFAULT_FAMILIES

        return (*DEFAULT_FAMILIES, "realmlp")


_AG_METRIC = {"rmse": "root_mean_squared_error", "roc_auc": "roc_auc", "log_loss": "log_loss"}


class AutoGluon(System):
    """AutoGluon ``TabularPredictor`` with a preset; its models are persisted in memory
    after fit (outside the fit time), as AutoGluon advises for online prediction."""

    preset = "medium_quality"

    def fit(self, X, y):
        from autogluon.tabular import TabularPredictor

        label = self.task.target
        self.model = TabularPredictor(
            label=label,
            problem_type=self.task.task_type,
            eval_metric=_AG_METRIC.get(self.task.metric, self.task.metric),
            path=str(self.workdir / "autogluon"),
            verbosity=0,
        )
        self.model.fit(
            pd.concat([X, y.rename(label)], axis=1),
            presets=self.preset,
            time_limit=self.budget,
            num_cpus=self.n_jobs,
            num_gpus=0,
        )
        if self.task.is_classification:
            self.classes = list(self.model.class_labels)

    def after_fit(self) -> None:
        self.model.persist()

    def predict(self, X):
        if self.task.is_classification:
            proba = self.model.predict_proba(X, as_multiclass=True)
            return proba[self.classes].to_numpy()
        return self.model.predict(X).to_numpy()

    def info(self):
        return {"best_model": str(self.model.model_best)}


class AutoGluonBest(AutoGluon):
    preset = "best_quality"


class AutoGluonMedium(AutoGluon):
    preset = "medium_quality"


_FLAML_METRIC = {"rmse": "rmse", "roc_auc": "roc_auc", "log_loss": "log_loss"}


class FLAML(System):
    def fit(self, X, y):
        from flaml import AutoML

        self.model = AutoML()
        self.model.fit(
            X_train=X,
            y_train=y,
            task="regression" if self.task.task_type == "regression" else "classification",
            metric=_FLAML_METRIC.get(self.task.metric, self.task.metric),
            time_budget=self.budget,
            n_jobs=self.n_jobs,
            seed=self.seed,
            verbose=0,
            log_file_name=str(self.workdir / "flaml.log"),
        )
        if self.task.is_classification:
            self.classes = list(self.model.classes_)

    def predict(self, X):
        if self.task.is_classification:
            return np.asarray(self.model.predict_proba(X))
        return np.asarray(self.model.predict(X))

    def info(self):
        return {"best_model": str(self.model.best_estimator)}


def _encode(X: pd.DataFrame, categories: dict[str, pd.Index] | None, max_levels: int | None):
    """Minimal encoding a default gradient booster needs: strings, booleans and categoricals
    become pandas categoricals with the training levels (ordinal codes when a column has more
    than ``max_levels``); datetimes become seconds since 1970. Returns the frame and the
    levels learned (when ``categories`` is None)."""
    learn = categories is None
    categories = {} if learn else categories
    out = {}
    for col in X.columns:
        s = X[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            if s.dt.tz is not None:
                s = s.dt.tz_convert(None)
            out[col] = (s - pd.Timestamp("1970-01-01")).dt.total_seconds()
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out[col] = s.astype("float64")
        else:
            s = s.astype("string")
            if learn:
                categories[col] = pd.Index(sorted(s.dropna().unique()))
            cat = pd.Categorical(s, categories=categories[col])
            if max_levels is not None and len(categories[col]) > max_levels:
                out[col] = pd.Series(cat.codes, index=X.index).replace(-1, np.nan).astype(float)
            else:
                out[col] = pd.Series(cat, index=X.index)
    return pd.DataFrame(out, index=X.index), categories


class LightGBM(System):
    """``LGBMClassifier`` / ``LGBMRegressor`` with default parameters (no budget used)."""

    def fit(self, X, y):
        import lightgbm as lgb

        Xe, self.categories = _encode(X, None, None)
        cls = lgb.LGBMRegressor if self.task.task_type == "regression" else lgb.LGBMClassifier
        self.model = cls(n_jobs=self.n_jobs, random_state=self.seed, verbose=-1).fit(Xe, y)
        if self.task.is_classification:
            self.classes = list(self.model.classes_)

    def predict(self, X):
        Xe, _ = _encode(X, self.categories, None)
        if self.task.is_classification:
            return self.model.predict_proba(Xe)
        return self.model.predict(Xe)


class HistGB(System):
    """scikit-learn ``HistGradientBoosting*`` with default parameters; native categorical
    support up to 255 levels (its limit), ordinal codes above."""

    def fit(self, X, y):
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        Xe, self.categories = _encode(X, None, 255)
        cls = (
            HistGradientBoostingRegressor
            if self.task.task_type == "regression"
            else HistGradientBoostingClassifier
        )
        self.model = cls(random_state=self.seed, categorical_features="from_dtype").fit(Xe, y)
        if self.task.is_classification:
            self.classes = list(self.model.classes_)

    def predict(self, X):
        Xe, _ = _encode(X, self.categories, 255)
        if self.task.is_classification:
            return self.model.predict_proba(Xe)
        return self.model.predict(Xe)


SYSTEMS: dict[str, type[System]] = {
    "mlresearcher": MLResearcher,
    "mlresearcher_refit": MLResearcherRefit,
    "mlresearcher_bagged": MLResearcherBagged,
    "mlresearcher_learned": MLResearcherLearned,
    "mlresearcher_realmlp": MLResearcherRealMLP,
    "autogluon_best": AutoGluonBest,
    "autogluon_medium": AutoGluonMedium,
    "flaml": FLAML,
    "lightgbm": LightGBM,
    "hist_gb": HistGB,
}

# Systems that run in the project's own environment; the others in the peers' environment.
PROJECT_SYSTEMS = {
    "mlresearcher",
    "mlresearcher_refit",
    "mlresearcher_bagged",
    "mlresearcher_learned",
    "mlresearcher_realmlp",
}
