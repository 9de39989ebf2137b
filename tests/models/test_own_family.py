"""A family of the user's own, named module:Class, runs like a built-in one; a wrong name
is a one-line error before any work."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import load_dataset

from mlresearcher import AutoModel
from mlresearcher.errors import ConfigError
from mlresearcher.models.base import FitContext
from mlresearcher.models.linear import LinearFamily
from mlresearcher.models.registry import get_families


class StrongRidgeFamily(LinearFamily):
    """The linear family under another name, with only heavily regularised settings."""

    name = "strong_ridge"

    def default_configs(self, ctx: FitContext) -> list[dict[str, Any]]:
        return [{**c, "C": 0.01} for c in super().default_configs(ctx)[:2]]


class Unnamed(LinearFamily):
    name = ""


def test_a_family_of_ones_own_joins_the_campaign_and_the_final_model():
    df, _ = load_dataset("penguins_species")
    y = df.pop("species")
    m = AutoModel(
        time_limit=None, max_trials=4, families=("linear", "test_own_family:StrongRidgeFamily")
    ).fit(df, y)
    lb = m.leaderboard()
    assert set(lb["family"]) >= {"linear", "strong_ridge"}
    own = lb[lb["family"] == "strong_ridge"]
    assert (own["status"] == "complete").any()
    assert m.predict(df.head(5)).shape == (5,)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("no_such_module:Family", "cannot load the model family 'no_such_module:Family'"),
        ("test_own_family:Missing", "cannot load the model family 'test_own_family:Missing'"),
        ("os:path", "'os:path' is not a model family"),
        ("test_own_family:Unnamed", "is not a model family"),
    ],
)
def test_a_wrong_family_path_is_a_one_line_error(spec, message):
    with pytest.raises(ConfigError) as e:
        get_families(["linear", spec])
    assert message in str(e.value) and "\n" not in str(e.value)


def test_an_own_family_cannot_take_a_built_in_name():
    class Impostor(LinearFamily):
        name = "lightgbm"

    import test_own_family

    test_own_family.Impostor = Impostor
    with pytest.raises(ConfigError, match="built-in name 'lightgbm'"):
        get_families(["test_own_family:Impostor"])
