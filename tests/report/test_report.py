"""Every run writes the report; `mlresearcher report` regenerates it; a real browser opens it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_dataset

from mlresearcher import AutoModel
from mlresearcher.report import write_report

CLI = [sys.executable, "-m", "mlresearcher.cli"]
CHROMIUM = Path("/usr/bin/chromium")
SECTIONS = ("summary", "data", "comparison", "explanations", "diagnostics", "fairness", "method")


def _record(run_dir: Path, name: str, text: str | None) -> None:
    """Write ``name`` as a run would have, its checksum in the manifest (``None``: absent)."""
    from mlresearcher.store.integrity import sha256_file

    m = json.loads((run_dir / "manifest.json").read_text())
    if text is None:
        m["files"].pop(name, None)
    else:
        (run_dir / name).write_text(text)
        m["files"][name] = sha256_file(run_dir / name)
    (run_dir / "manifest.json").write_text(json.dumps(m))


def cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    df, _ = load_dataset("recidivism_two_year", 700)
    data = tmp / "recid.parquet"
    df.to_parquet(data)
    r = cli(
        "run",
        data,
        "--target",
        "two_year_recid",
        "--max-trials",
        "3",
        "--families",
        "lightgbm,linear",
        "--folds",
        "5",
        "--n-jobs",
        "1",
        "--sensitive",
        "race",
        "--sensitive",
        "sex",
        "--out",
        tmp / "runs",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def _links(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]*)['"]""", html)


def test_run_writes_a_self_contained_report(binary_run):
    html = (binary_run / "report.html").read_text()
    assert all(link.startswith(("data:image/png;base64,", "#")) for link in _links(html))
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert html.count("data:image/png;base64,") >= 8  # comparison, curves, SHAP, PD, ...
    positions = [html.index(f"<section id='{s}'>") for s in SECTIONS]
    assert positions == sorted(positions)  # executive summary first
    summary = html[positions[0] : positions[1]]
    assert "naive baseline" in summary and "Main drivers" in summary
    a = json.loads((binary_run / "analysis.json").read_text())
    for key in (
        "comparison",
        "null_check",
        "learning_curve",
        "importance",
        "shap",
        "partial_dependence",
        "calibration",
        "confusion",
        "error_slices",
        "fairness",
    ):
        assert a.get(key), key
    assert a["null_check"]["alarm"] is False
    assert a["shap"]["available"] and a["shap"]["family"] == "lightgbm"
    race = next(c for c in a["fairness"]["columns"] if c["column"] == "race")
    dp = race["per_class"][0]["demographic_parity_difference"]
    assert f"{dp:.4g}" in html
    md = (binary_run / "report.md").read_text()
    assert md.index("## Executive summary") < md.index("## Honest comparison")
    card = (binary_run / "model_card.md").read_text()
    for head in ("## Intended use", "## Data", "## Metrics", "## Fairness", "## Limitations"):
        assert head in card
    lb = (binary_run / "leaderboard.csv").read_text().splitlines()[0]
    assert "tied_with_best" in lb and "p_vs_best" in lb and "ci_low" in lb


def test_report_command_regenerates_and_renders_the_profile(binary_run, tmp_path):
    run_dir = tmp_path / binary_run.name
    shutil.copytree(binary_run, run_dir)
    md_before = (run_dir / "report.md").read_text()
    for f in ("report.html", "report.md", "model_card.md"):
        (run_dir / f).unlink()
    r = cli("report", run_dir)
    assert r.returncode == 0, r.stderr
    assert (run_dir / "report.md").read_text() == md_before
    # every run profiles its data first, and the report renders that profile
    own = json.loads((run_dir / "profile.json").read_text())
    html = (run_dir / "report.html").read_text()
    assert f"{own['n_rows']:,} rows, {own['n_columns']} columns." in html
    assert "No data profile" not in html
    # without profile.json (a run made before profiling existed) the section says so
    (run_dir / "profile.json").unlink()
    _record(run_dir, "profile.json", None)
    write_report(run_dir)
    assert "No data profile" in (run_dir / "report.html").read_text()
    profile = {
        "n_rows": 700,
        "n_columns": 16,
        "columns": [{"name": "race", "role": "categorical", "missing_fraction": 0.0}],
        "findings": [
            {"code": "pii_like", "severity": "warning", "message": "column 'name' holds names"}
        ],
        "target": "two_year_recid",
        "shift": {"auc": 0.73, "column_auc": {"race": 0.71}},
    }
    _record(run_dir, "profile.json", json.dumps(profile))
    write_report(run_dir)  # the command's own work, in process (the CLI is tested above)
    html = (run_dir / "report.html").read_text()
    assert "column &#x27;name&#x27; holds names" in html and "No data profile" not in html
    assert "adversarial validation AUC 0.73; columns driving it: race (0.71)" in html
    bad = cli("report", tmp_path / "nope")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    # the regenerated report is recorded in the manifest: serve and reproduce accept the run
    from mlresearcher.store.integrity import verify_run

    verify_run(run_dir)


def test_a_report_is_never_rendered_from_altered_or_unreadable_findings(binary_run, tmp_path):
    run_dir = tmp_path / binary_run.name
    shutil.copytree(binary_run, run_dir)
    findings = json.loads((run_dir / "findings.json").read_text())
    # a critical finding removed by hand: the report refuses, it does not drop it silently
    (run_dir / "findings.json").write_text(json.dumps(findings[1:]))
    r = cli("report", run_dir)
    assert r.returncode == 2 and "findings.json" in r.stderr and "SHA-256" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    # an unreadable findings file is an error too, not an empty list
    _record(run_dir, "findings.json", "[{not json")
    r = cli("report", run_dir)
    assert r.returncode == 2 and "findings.json" in r.stderr and "unreadable" in r.stderr
    # an altered analysis: serve and reproduce refuse the run
    a = json.loads((run_dir / "analysis.json").read_text())
    a["run"]["best_score"] = 0.999
    (run_dir / "analysis.json").write_text(json.dumps(a))
    for args in (("serve", run_dir, "--port", "0"), ("reproduce", run_dir)):
        r = cli(*args)
        assert r.returncode == 2 and "SHA-256" in r.stderr, (args, r.stderr)


def test_automodel_report_in_a_notebook(tmp_path):
    df, _ = load_dataset("school_math_achievement", 500)
    X, y = df.drop(columns=["MathAch"]), df["MathAch"]
    m = AutoModel(
        time_limit=None,
        max_trials=2,
        families=("lightgbm", "linear"),
        folds=5,
        n_jobs=1,
        sensitive=["Sex"],
    ).fit(X, y)
    rep = m.report()
    html = rep._repr_html_()
    assert "<section id='diagnostics'>" in html and "Residuals" in html
    assert m.analysis_["fairness"]["columns"][0]["column"] == "Sex"
    assert "## Executive summary" in rep.markdown and "## Limitations" in rep.model_card
    assert (rep.save(tmp_path / "r")).exists()
    assert m.report().html == html  # computed once, then reused


def test_report_opens_in_headless_chromium(binary_run, tmp_path):
    # Debian's Chromium, never a downloaded browser; .ci/run installs it. Missing = failure.
    assert CHROMIUM.exists(), "Chromium is missing: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    page_url = (binary_run / "report.html").resolve().as_uri()
    errors, requests = [], []
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = ctx.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_url, wait_until="load")
        n_images = page.evaluate(
            "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
        )
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        ctx.close()
    assert errors == []
    network = [u for u in requests if u != page_url and not u.startswith("data:")]
    assert network == []
    assert n_images >= 8  # every embedded plot decoded and drawn
    assert shot.stat().st_size > 50_000
