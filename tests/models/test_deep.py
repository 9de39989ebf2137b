"""The RealMLP family beyond the conformance suite: opt-in, its install hint, no global
side effects, its parameters, and a run through the engine that saves and reloads it."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import load_dataset

from mlresearcher.models.deep import SHAPES, RealMLPFamily, RealMLPModel
from mlresearcher.models.registry import DEFAULT_FAMILIES, FAMILIES, get_families


def test_realmlp_is_registered_but_not_a_default_family():
    assert "realmlp" in FAMILIES and "realmlp" not in DEFAULT_FAMILIES
    assert [f.name for f in get_families()] == DEFAULT_FAMILIES
    assert [f.name for f in get_families(["linear", "realmlp"])] == ["linear", "realmlp"]


def test_missing_package_names_the_extra_that_installs_it():
    fam = RealMLPFamily()
    fam.requires = ("torch", "a_module_that_is_not_installed")
    reason = fam.unavailable_reason()
    assert reason is not None
    assert "a_module_that_is_not_installed" in reason and "'torch' extra" in reason


def test_parameters_map_onto_the_learner():
    m = RealMLPModel(task="binary", shape="64x5", ls_eps=0.0, lr=0.05)
    params = m._learner_params()
    assert (params["n_hidden_layers"], params["hidden_width"]) == SHAPES["64x5"]
    assert params["use_ls"] is False and params["lr"] == 0.05
    assert "ls_eps" not in RealMLPModel(task="regression", ls_eps=0.1)._learner_params()
    with pytest.raises(ValueError, match="unknown shape"):
        RealMLPModel(shape="9x9")._learner_params()


def test_fit_leaves_torch_threads_and_loggers_as_they_were():
    pytest.importorskip("pytabkit")
    import torch

    from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
    from mlresearcher.models.base import FitContext

    df, _ = load_dataset("penguins_species", n=200)
    y = np.searchsorted(np.unique(df["species"].astype(str)), df["species"].astype(str))
    raw = df.drop(columns=["species"])
    infos, _ = infer_roles(raw)
    schema = build_schema(raw, infos)
    X = prepare_features(raw, schema)
    ctx = FitContext(task="multiclass", n_classes=3, schema=schema, n_rows=len(X), n_jobs=2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    lg = logging.getLogger("lightning.pytorch")
    level = lg.level
    try:
        est = RealMLPFamily().build({"n_epochs": 4}, ctx).fit(X, y)
        assert torch.get_num_threads() == 1 and lg.level == level
        network = est.learner_.alg_interface_.model
        weights = sum(t.nbytes for t in (*network.parameters(), *network.buffers()))
        assert weights > 0 and est.memory_bytes() >= weights
    finally:
        torch.set_num_threads(threads)


def test_a_run_with_realmlp_saves_and_reloads(tmp_path):
    pytest.importorskip("pytabkit")
    from mlresearcher import AutoModel

    df, _ = load_dataset("school_math_achievement", n=200)
    X, y = df.drop(columns=["MathAch"]), df["MathAch"]
    m = AutoModel(time_limit=None, max_trials=1, families=("realmlp",), folds=2, repeats=1).fit(
        X, y
    )
    lb = m.leaderboard()
    trials = lb[lb["model"] != "ensemble"]
    assert set(trials["family"]) == {"realmlp"} and (trials["status"] == "complete").all()
    m.save(tmp_path / "m")
    loaded = AutoModel.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X.head(20)), m.predict(X.head(20)))


def test_overlapping_fits_keep_the_library_quiet_until_the_last_ends():
    # fold models fit in threads: the first to finish must not restore the settings
    # while another still trains
    pytest.importorskip("torch")
    from mlresearcher.models.deep import _quiet

    lg = logging.getLogger("pytorch_lightning")
    level = lg.level
    first, second = _quiet(2), _quiet(2)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert lg.level == logging.ERROR
    second.__exit__(None, None, None)
    assert lg.level == level
