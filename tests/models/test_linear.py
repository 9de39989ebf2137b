"""The linear family's thread use."""

from __future__ import annotations

from threadpoolctl import threadpool_info

from mlresearcher.models.linear import LinearModel
from tests.conftest import load_dataset


def test_linear_fits_with_one_blas_thread_and_restores_the_pools(monkeypatch):
    """L-BFGS on coefficient vectors: BLAS threads only cost time (see LinearModel)."""
    df, _ = load_dataset("credit_scoring", n=600)
    X = df[["Seniority", "Income", "Amount"]].astype(float)
    y = (df["Status"] == df["Status"].iloc[0]).astype(int).to_numpy()
    seen: list[dict[str, int]] = []
    fit_learner = LinearModel._fit_learner

    def spy(self, Xt, y, n_out):
        seen.append({p["user_api"]: p["num_threads"] for p in threadpool_info()})
        return fit_learner(self, Xt, y, n_out)

    monkeypatch.setattr(LinearModel, "_fit_learner", spy)
    before = {p["user_api"]: p["num_threads"] for p in threadpool_info()}
    roles = dict.fromkeys(X.columns, "numeric")
    LinearModel(task="binary", n_classes=2, feature_roles=roles, n_jobs=2).fit(X, y)
    assert seen[0]["blas"] == 1
    assert seen[0].get("openmp", 2) <= 2  # OpenMP capped at n_jobs (another test may have set 1)
    assert {p["user_api"]: p["num_threads"] for p in threadpool_info()} == before
