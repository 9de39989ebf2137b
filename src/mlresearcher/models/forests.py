"""Random forests and extremely randomised trees (scikit-learn, native missing values).

Under a deadline, trees are grown in chunks with ``warm_start`` and the deadline is
checked between chunks (the trees are the same whatever the chunking, so results stay
deterministic when the deadline does not bind). A forest's size is bounded:
``max_leaf_nodes`` is derived from :data:`LEAF_BUDGET` leaves per forest (5,000 per tree
at the default 300 trees), which keeps a fitted regression or binary forest under about
220 MB however many rows it sees; the campaign keeps fold models within a memory budget
measured with :meth:`ForestModel.memory_bytes`. Category levels are kept as they are, rare
ones included: the trees split on them as well as on common ones
(``benchmarks/automl/forest_leaves.py`` measures both choices).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from mlresearcher.models._estimator import (
    TabularEstimator,
    common_params,
    deadline_passed,
    grow_until_deadline,
)
from mlresearcher.models.base import FitContext, ModelFamily
from mlresearcher.models.preprocess import tree_preprocessor

#: trees grown before the first deadline check (later chunks are sized to the time left)
FIRST_CHUNK = 10
#: leaves per forest, summed over its trees (nodes = 2 leaves - 1)
LEAF_BUDGET = 1_500_000
#: bytes of one node of a scikit-learn tree, besides its value (8 bytes per output and class)
NODE_BYTES = 64


class ForestModel(TabularEstimator):
    """A random forest (``kind="random_forest"``) or extra-trees (``"extra_trees"``)."""

    def __init__(
        self,
        *,
        task: str = "binary",
        n_classes: int = 2,
        feature_roles: dict[str, str] | None = None,
        seed: int = 0,
        n_jobs: int = 1,
        deadline: float | None = None,
        kind: str = "random_forest",
        n_estimators: int = 300,
        max_features: float | str = "sqrt",
        min_samples_leaf: int = 1,
        criterion: str | None = None,
        bootstrap: bool | None = None,
    ):
        self.task = task
        self.n_classes = n_classes
        self.feature_roles = feature_roles
        self.seed = seed
        self.n_jobs = n_jobs
        self.deadline = deadline
        self.kind = kind
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.criterion = criterion
        self.bootstrap = bootstrap

    def _make_preprocessor(self, n_classes_present: int, n_rows: int) -> Any:
        return tree_preprocessor(self.feature_roles, seed=self.seed)

    def _fit_learner(self, Xt: Any, y: np.ndarray, n_out: int) -> None:
        from sklearn.ensemble import (
            ExtraTreesClassifier,
            ExtraTreesRegressor,
            RandomForestClassifier,
            RandomForestRegressor,
        )

        classes = {
            ("random_forest", True): RandomForestClassifier,
            ("random_forest", False): RandomForestRegressor,
            ("extra_trees", True): ExtraTreesClassifier,
            ("extra_trees", False): ExtraTreesRegressor,
        }
        cls = classes[(self.kind, self._is_classification)]
        kwargs: dict[str, Any] = {}
        if self.criterion is not None:
            kwargs["criterion"] = self.criterion
        if self.bootstrap is not None:
            kwargs["bootstrap"] = self.bootstrap
        # bound tree size only where it binds: a tree has at most n / min_samples_leaf leaves
        max_leaves = max(64, LEAF_BUDGET // max(1, self.n_estimators))
        expected = len(y) // max(1, self.min_samples_leaf)
        self.learner_ = cls(
            n_estimators=min(FIRST_CHUNK, self.n_estimators),
            max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf,
            max_leaf_nodes=max_leaves if expected > max_leaves else None,
            n_jobs=self.n_jobs,
            random_state=self.seed,
            warm_start=True,
            **kwargs,
        )
        # float32 is what the trees use internally; converting once avoids a copy per chunk
        Xt = np.asarray(Xt, dtype=np.float32)

        def fit_to(n: int) -> bool:
            self.learner_.set_params(n_estimators=n)
            self.learner_.fit(Xt, y)
            return False

        grow_until_deadline(fit_to, self.n_estimators, self.deadline, first=FIRST_CHUNK)
        self.learner_.set_params(n_jobs=1)  # predict parallelises over rows (see below)
        self.n_iterations_ = len(self.learner_.estimators_)
        self.stopped_by_deadline_ = deadline_passed(self.deadline)

    def _walker(self) -> Any:
        """All trees as one node table (built on first use; not pickled). Scikit-learn calls
        its trees one by one, tens of microseconds each: most of a few rows' time, and the
        whole of it where no compiled model stands in (text features)."""
        walker = self.__dict__.get("_tree_walker")
        if walker is None:
            from mlresearcher.models.compiled import forest_walker

            walker = self._tree_walker = forest_walker(self.learner_)
        return walker

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_tree_walker", None)
        return state

    def thinned(self, part: int, of: int) -> ForestModel:
        """This forest with every ``of``-th tree from tree ``part`` on (at least one): the
        ``of`` shares of ``of`` fold models hold as many trees as one of them. The trees
        are shared with this forest, not copied (a pickle holding both stores them once)."""
        out = copy.copy(self)
        out.__dict__.pop("_tree_walker", None)
        learner = getattr(self, "learner_", None)
        if learner is not None:  # None: a fold that saw one class predicts it alone
            trees = learner.estimators_
            share = trees[part::of] or [trees[part % len(trees)]]
            out.learner_ = copy.copy(learner)
            out.learner_.estimators_ = share
            out.learner_.n_estimators = len(share)
            out.n_iterations_ = len(share)
        return out

    def memory_bytes(self) -> int:
        """What the fitted forest holds: its trees' nodes and values (native arrays the
        generic estimate cannot see) and its preprocessing."""
        trees = sum(
            e.tree_.node_count * NODE_BYTES + e.tree_.value.nbytes
            for e in getattr(getattr(self, "learner_", None), "estimators_", [])
        )
        return super().memory_bytes() + int(trees)

    def _predict_learner(self, Xt: Any) -> np.ndarray:
        # scikit-learn's threaded predict sums the trees in whatever order threads finish,
        # which changes the last bits; sum them in order and parallelise over rows instead
        from concurrent.futures import ThreadPoolExecutor

        from mlresearcher.models.compiled import TREE_WALK_ROWS

        Xt = np.asarray(Xt, dtype=np.float32)
        if len(Xt) <= TREE_WALK_ROWS:  # a few rows: one numpy walk over all trees
            return self._walker()(Xt)
        method = self.learner_.predict_proba if self._is_classification else self.learner_.predict
        chunks = np.array_split(np.arange(len(Xt)), max(1, min(self.n_jobs, len(Xt) // 1000)))
        if len(chunks) == 1:
            return method(Xt)
        with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
            return np.concatenate(list(pool.map(lambda rows: method(Xt[rows]), chunks)))


class _ForestFamily(ModelFamily):
    kind = ""
    requires = ("sklearn",)
    uses_text = True

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        p = self.name + "."
        params: dict[str, Any] = {
            "max_features": trial.suggest_float(p + "max_features", 0.1, 1.0),
            "min_samples_leaf": trial.suggest_int(p + "min_samples_leaf", 1, 30, log=True),
            "bootstrap": trial.suggest_categorical(p + "bootstrap", [True, False]),
        }
        if ctx.is_classification:
            params["criterion"] = trial.suggest_categorical(p + "criterion", ["gini", "entropy"])
        return params

    def build(self, params: dict[str, Any], ctx: FitContext) -> ForestModel:
        return ForestModel(**common_params(ctx), kind=self.kind, **params)


class RandomForestFamily(_ForestFamily):
    name = "random_forest"
    kind = "random_forest"
    cost = 15.0  # default fit time relative to linear (benchmarks/family_defaults.py)

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        if ctx.is_classification:
            return [
                {"n_estimators": 300, "max_features": "sqrt", "criterion": "gini"},
                {"n_estimators": 300, "max_features": "sqrt", "criterion": "entropy"},
                {"n_estimators": 300, "max_features": 0.5, "min_samples_leaf": 3},
            ]
        return [
            {"n_estimators": 300, "max_features": 1.0},
            {"n_estimators": 300, "max_features": 0.5, "min_samples_leaf": 2},
        ]


class ExtraTreesFamily(_ForestFamily):
    name = "extra_trees"
    kind = "extra_trees"
    cost = 8.0  # default fit time relative to linear (benchmarks/family_defaults.py)

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        if ctx.is_classification:
            return [
                {"n_estimators": 300, "max_features": "sqrt", "criterion": "gini"},
                {"n_estimators": 300, "max_features": "sqrt", "criterion": "entropy"},
                {"n_estimators": 300, "max_features": 0.5, "min_samples_leaf": 2},
            ]
        return [
            {"n_estimators": 300, "max_features": 1.0},
            {"n_estimators": 300, "max_features": 0.5, "min_samples_leaf": 2},
        ]
