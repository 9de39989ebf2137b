"""A PyTorch multilayer perceptron with categorical embeddings.

Each categorical / high-cardinality column gets an embedding of ``min(16, (levels+1)//2)``
dimensions (index 0 is shared by missing and unseen levels); numbers are rank-gauss
transformed with missing indicators and text is TF-IDF + SVD, both standardised (see
:func:`~mlresearcher.models.preprocess.mlp_preprocessor`). Training uses AdamW, early
stopping on an inner validation split of the training rows (the best epoch's weights are
kept) and checks the deadline every few batches.

``torch`` is imported lazily, so this module imports without it; the family then reports
itself unavailable. The fitted estimator stores its weights as numpy arrays, so it
pickles without torch-specific state and predicts in a fresh process.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlresearcher.models._estimator import TabularEstimator, common_params, deadline_passed
from mlresearcher.models.base import FitContext, ModelFamily
from mlresearcher.models.preprocess import mlp_preprocessor, n_output_categories

#: rows per forward pass at predict time
PREDICT_BATCH = 8192
#: up to this many rows the network's forward pass runs in NumPy
FEW_ROWS = 64
#: BatchNorm1d's default epsilon, which the network uses
BN_EPS = 1e-5
#: training batches between two looks at the deadline within an epoch
DEADLINE_CHECK_BATCHES = 16


def _network(arch: dict[str, Any]) -> Any:
    """The ``torch.nn.Module`` for an architecture description (imports torch)."""
    import torch
    from torch import nn

    class TabularMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = nn.ModuleList(
                nn.Embedding(levels, dim) for levels, dim in arch["embeddings"]
            )
            width = arch["n_numeric"] + sum(dim for _, dim in arch["embeddings"])
            layers: list[nn.Module] = []
            for _ in range(arch["n_layers"]):
                layers += [
                    nn.Linear(width, arch["hidden_size"]),
                    nn.BatchNorm1d(arch["hidden_size"]),
                    nn.ReLU(),
                    nn.Dropout(arch["dropout"]),
                ]
                width = arch["hidden_size"]
            layers.append(nn.Linear(width, arch["n_out"]))
            self.body = nn.Sequential(*layers)

        def forward(self, codes: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
            parts = [emb(codes[:, j]) for j, emb in enumerate(self.embeddings)]
            return self.body(torch.cat([numbers, *parts], dim=1))

    return TabularMLP()


def _forward_numpy(weights: dict[str, np.ndarray], arch: dict[str, Any], codes, numbers):
    """The network's forward pass in evaluation mode in NumPy, in float32 like the network:
    embeddings, then per hidden layer a linear map, batch normalisation with the running
    statistics, ReLU (dropout is the identity), then the output layer. For a few rows the
    operations cost microseconds where the modules' machinery costs a fraction of a
    millisecond; the values agree with the network's to float32 rounding."""
    parts = [numbers.astype(np.float32, copy=False)]
    parts += [
        weights[f"embeddings.{j}.weight"][codes[:, j]] for j in range(len(arch["embeddings"]))
    ]
    x = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
    for i in range(arch["n_layers"]):
        lin, bn = f"body.{4 * i}", f"body.{4 * i + 1}"
        x = x @ weights[lin + ".weight"].T + weights[lin + ".bias"]
        inv = (1.0 / np.sqrt(weights[bn + ".running_var"] + np.float32(BN_EPS))).astype(np.float32)
        x = (x - weights[bn + ".running_mean"]) * inv * weights[bn + ".weight"] + weights[
            bn + ".bias"
        ]
        x = np.maximum(x, np.float32(0.0))
    out = f"body.{4 * arch['n_layers']}"
    return x @ weights[out + ".weight"].T + weights[out + ".bias"]


def _numpy_layout(weights: dict[str, np.ndarray], arch: dict[str, Any]) -> bool:
    """Whether the weights are the layout :func:`_forward_numpy` computes."""
    n = arch.get("n_layers", -1)
    return f"body.{4 * n}.weight" in weights and all(
        f"body.{4 * i + 1}.running_var" in weights for i in range(n)
    )


class MLPModel(TabularEstimator):
    """An MLP with embeddings, early stopping and a deadline (``torch`` needed to fit)."""

    # The few-row NumPy forward pass runs on one BLAS thread wherever it is called: split
    # over threads, a float32 matrix product may sum in another order (seen on some CPUs),
    # and a prediction must not depend on the caller's thread limit. Training runs in
    # torch's own thread pool, which this setting does not touch.
    blas_threads = 1

    def __init__(
        self,
        *,
        task: str = "binary",
        n_classes: int = 2,
        feature_roles: dict[str, str] | None = None,
        seed: int = 0,
        n_jobs: int = 1,
        deadline: float | None = None,
        hidden_size: int = 256,
        n_layers: int = 3,
        dropout: float = 0.1,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int = 10,
        max_embedding_dim: int = 16,
        validation_fraction: float = 0.1,
    ):
        self.task = task
        self.n_classes = n_classes
        self.feature_roles = feature_roles
        self.seed = seed
        self.n_jobs = n_jobs
        self.deadline = deadline
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.max_embedding_dim = max_embedding_dim
        self.validation_fraction = validation_fraction

    def _make_preprocessor(self, n_classes_present: int, n_rows: int) -> Any:
        return mlp_preprocessor(self.feature_roles, seed=self.seed, min_frequency=3, n_rows=n_rows)

    # ---- data --------------------------------------------------------------------
    def _inputs(self, Xt: Any) -> tuple[np.ndarray, np.ndarray]:
        """Embedding indices (0 = missing/unseen) and float32 numbers."""
        Xt = np.asarray(Xt, dtype=np.float64)
        n_cat = n_output_categories(self.feature_roles)
        codes = Xt[:, :n_cat]
        codes = np.where(np.isnan(codes), 0, codes + 1).astype(np.int64)
        numbers = np.nan_to_num(Xt[:, n_cat:], nan=0.0).astype(np.float32)
        return codes, numbers

    # ---- training ----------------------------------------------------------------
    def _fit_learner(self, Xt: Any, y: np.ndarray, n_out: int) -> None:
        import torch

        codes, numbers = self._inputs(Xt)
        levels = [int(codes[:, j].max()) + 1 for j in range(codes.shape[1])]
        self.arch_ = {
            "embeddings": [(lv, min(self.max_embedding_dim, (lv + 1) // 2)) for lv in levels],
            "n_numeric": numbers.shape[1],
            "n_layers": self.n_layers,
            "hidden_size": self.hidden_size,
            "dropout": self.dropout,
            "n_out": n_out if self._is_classification else 1,
        }
        if self._is_classification:
            target = y.astype(np.int64)
        else:
            self.y_mean_, self.y_scale_ = float(np.mean(y)), float(np.std(y)) or 1.0
            target = ((y - self.y_mean_) / self.y_scale_).astype(np.float32)
        train_idx, valid_idx = self._split(y)

        threads = torch.get_num_threads()
        # One thread: these small networks are bound by per-operation overhead, so a second
        # thread gains nothing when the machine is idle and loses badly when it is not.
        torch.set_num_threads(1)
        try:
            state, self.n_iterations_ = self._train(codes, numbers, target, train_idx, valid_idx)
        finally:
            torch.set_num_threads(threads)
        self.weights_ = {k: v.detach().cpu().numpy().copy() for k, v in state.items()}
        self.stopped_by_deadline_ = deadline_passed(self.deadline)

    def _train(
        self,
        codes: np.ndarray,
        numbers: np.ndarray,
        target: np.ndarray,
        train_idx: np.ndarray,
        valid_idx: np.ndarray | None,
    ) -> tuple[dict[str, Any], int]:
        import torch

        torch.manual_seed(self.seed)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        net = _network(self.arch_).to(device)
        loss_fn = torch.nn.CrossEntropyLoss() if self._is_classification else torch.nn.MSELoss()
        opt = torch.optim.AdamW(
            net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, factor=0.5, patience=max(1, self.patience // 3)
        )

        def tensors(idx: np.ndarray) -> tuple[Any, Any, Any]:
            return (
                torch.from_numpy(codes[idx]).to(device),
                torch.from_numpy(numbers[idx]).to(device),
                torch.from_numpy(target[idx]).to(device),
            )

        c_tr, x_tr, t_tr = tensors(train_idx)
        valid = tensors(valid_idx) if valid_idx is not None else None
        generator = torch.Generator().manual_seed(self.seed)
        n = len(train_idx)
        batch = max(2, min(self.batch_size, n))
        best_loss, best_state, best_epoch, stale = np.inf, None, 0, 0
        epoch = 0
        for epoch in range(1, self.max_epochs + 1):
            net.train()
            order = torch.randperm(n, generator=generator).to(device)
            out_of_time = False
            for step, start in enumerate(range(0, n, batch)):
                rows = order[start : start + batch]
                if len(rows) < 2:  # batch norm needs two rows
                    continue
                opt.zero_grad(set_to_none=True)
                out = net(c_tr[rows], x_tr[rows])
                loss = loss_fn(out if self._is_classification else out[:, 0], t_tr[rows])
                loss.backward()
                opt.step()
                # on large data an epoch takes seconds: look at the clock within it too
                if step % DEADLINE_CHECK_BATCHES == DEADLINE_CHECK_BATCHES - 1 and deadline_passed(
                    self.deadline
                ):
                    out_of_time = True
                    break
            if out_of_time and best_state is not None:
                break  # an unfinished epoch is not evaluated; keep the best finished one
            if valid is not None:
                net.eval()
                with torch.no_grad():
                    out = net(valid[0], valid[1])
                    v = float(loss_fn(out if self._is_classification else out[:, 0], valid[2]))
                sched.step(v)
                if v < best_loss - 1e-6:
                    best_loss, best_epoch, stale = v, epoch, 0
                    best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
                else:
                    stale += 1
                if stale >= self.patience:
                    break
            if deadline_passed(self.deadline):
                break
        if best_state is None:
            best_state, best_epoch = net.state_dict(), epoch
        return best_state, best_epoch

    # ---- prediction --------------------------------------------------------------
    def _module(self) -> Any:
        net = getattr(self, "_net", None)
        if net is None:
            import torch

            net = _network(self.arch_)
            net.load_state_dict({k: torch.from_numpy(v) for k, v in self.weights_.items()})
            net.eval()
            self._net = net
        return net

    def _predict_learner(self, Xt: Any) -> np.ndarray:
        codes, numbers = self._inputs(Xt)
        # codes beyond the training levels cannot occur (unseen levels are NaN -> 0)
        if len(codes) <= FEW_ROWS and _numpy_layout(self.weights_, self.arch_):
            out = _forward_numpy(self.weights_, self.arch_, codes, numbers)
            if self._is_classification:
                e = np.exp(out - out.max(axis=1, keepdims=True))
                return (e / e.sum(axis=1, keepdims=True)).astype(np.float64)
            return out[:, 0].astype(np.float64) * self.y_scale_ + self.y_mean_
        import torch

        net = self._module()
        outs = []
        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, self.n_jobs))
        try:
            with torch.no_grad():
                for s in range(0, len(codes), PREDICT_BATCH):
                    out = net(
                        torch.from_numpy(codes[s : s + PREDICT_BATCH]),
                        torch.from_numpy(numbers[s : s + PREDICT_BATCH]),
                    )
                    outs.append(torch.softmax(out, dim=1) if self._is_classification else out[:, 0])
        finally:
            torch.set_num_threads(threads)
        pred = torch.cat(outs).double().numpy() if outs else np.zeros((0, self.arch_["n_out"]))
        if self._is_classification:
            return pred
        return pred * self.y_scale_ + self.y_mean_

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_net", None)  # rebuilt from weights_ on first use
        return state


class MLPFamily(ModelFamily):
    name = "mlp"
    requires = ("torch",)
    extra = "torch"
    cost = 40.0  # default fit time relative to linear (benchmarks/family_defaults.py)
    uses_text = True

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        # measured on the dev datasets: classification overfits within a few epochs at
        # 1e-3 and prefers a smaller, slower, dropout-regularised net; regression prefers
        # a wider, deeper, faster one with little dropout
        small = {
            "hidden_size": 128,
            "n_layers": 2,
            "dropout": 0.2,
            "learning_rate": 3e-4,
            "weight_decay": 1e-5,
        }
        deep = {
            "hidden_size": 256,
            "n_layers": 3,
            "dropout": 0.1,
            "learning_rate": 1e-3,
            "weight_decay": 1e-5,
        }
        wide = {
            "hidden_size": 512,
            "n_layers": 2,
            "dropout": 0.3,
            "learning_rate": 3e-4,
            "weight_decay": 1e-4,
        }
        regularised = {**deep, "dropout": 0.3, "weight_decay": 1e-3, "batch_size": 512}
        if ctx.is_classification:
            return [small, regularised, wide]
        return [deep, {**deep, "dropout": 0.0, "learning_rate": 3e-3, "batch_size": 512}, wide]

    def search_space(self, trial: Any, ctx: FitContext) -> dict[str, Any]:
        p = "mlp."
        return {
            "hidden_size": trial.suggest_categorical(p + "hidden_size", [64, 128, 256, 512]),
            "n_layers": trial.suggest_int(p + "n_layers", 1, 4),
            "dropout": trial.suggest_float(p + "dropout", 0.0, 0.5),
            "learning_rate": trial.suggest_float(p + "learning_rate", 1e-4, 1e-2, log=True),
            "weight_decay": trial.suggest_float(p + "weight_decay", 1e-7, 1e-2, log=True),
            "batch_size": trial.suggest_categorical(p + "batch_size", [128, 256, 512]),
        }

    def build(self, params: dict[str, Any], ctx: FitContext) -> MLPModel:
        return MLPModel(**common_params(ctx), **params)
