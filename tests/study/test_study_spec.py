"""The study spec is validated before any compute: one-line errors, exit code 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import DATASETS

from mlresearcher.errors import UserError
from mlresearcher.study.spec import SpecError, load_spec

GOOD = f"""
name: t
seeds: [0, 1]
datasets:
  manifest: {DATASETS / "manifest.json"}
  include: [penguins_species, school_math_achievement]
methods:
  - {{name: lin, family: linear}}
  - {{name: tree, estimator: {{classification: sklearn.tree.DecisionTreeClassifier,
                              regression: sklearn.tree.DecisionTreeRegressor}},
     params: {{max_depth: 3}}}}
  - {{name: auto, preset: fast, params: {{max_trials: 2}}}}
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "study.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_a_good_spec_lists_every_cell(tmp_path):
    spec = load_spec(_write(tmp_path, GOOD))
    assert [d.name for d in spec.datasets] == ["penguins_species", "school_math_achievement"]
    assert len(spec.cells()) == 2 * 2 * 3
    assert spec.datasets[0].metric == "log_loss"


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("family: linear", "family: linnear", "unknown model family 'linnear'"),
        ("preset: fast", "preset: turbo", "unknown preset 'turbo'"),
        ("sklearn.tree.DecisionTreeClassifier", "sklearn.tree.NoSuchTree", "cannot import"),
        ("max_depth: 3", "max_dept: 3", "bad params for DecisionTree"),
        (
            "include: [penguins_species,",
            "include: [penguin,",
            "dataset 'penguin' is not in the manifest",
        ),
        ("seeds: [0, 1]", "seeds: [0, 1]\nbudgett: 5", "unknown key(s) in the study spec: budgett"),
        ("max_trials: 2", "max_trails: 2", "unknown preset param(s) max_trails"),
    ],
)
def test_mistakes_are_one_line_errors(tmp_path, old, new, message):
    with pytest.raises(UserError) as e:
        load_spec(_write(tmp_path, GOOD.replace(old, new)))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_missing_file_and_bad_target(tmp_path):
    files = f"""
    datasets:
      files:
        - {{name: p, file: {DATASETS / "penguins_species.parquet"}, target: speciess}}
    methods: [{{name: lin, family: linear}}]
    """
    with pytest.raises(
        SpecError, match="target column 'speciess' not found; did you mean 'species'"
    ):
        load_spec(_write(tmp_path, files))
    with pytest.raises(SpecError, match="not found"):
        load_spec(_write(tmp_path, files.replace("penguins_species.parquet", "nope.parquet")))


def test_cli_reports_spec_errors_without_a_traceback_or_any_work(tmp_path):
    spec = _write(tmp_path, GOOD.replace("family: linear", "family: linnear"))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlresearcher.cli",
            "study",
            str(spec),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "unknown model family 'linnear'" in r.stderr
    assert not (tmp_path / "o" / "mlresearcher.db").exists()
