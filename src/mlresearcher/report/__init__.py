"""The report of a run: ``report.html``, ``report.md`` and ``model_card.md``.

Rendering reads only files of the run directory: ``analysis.json`` (written by the analysis
stage), ``findings.json``, ``manifest.json`` and, when the profile stage wrote it,
``profile.json`` (its section is left out gracefully when absent). So ``mlresearcher report
RUN`` regenerates the report without the data, and :class:`Report` shows it in a notebook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlresearcher.errors import RunNotFoundError

REPORT_HTML = "report.html"
REPORT_MD = "report.md"
MODEL_CARD = "model_card.md"


@dataclass
class Report:
    """A rendered report. In a notebook it displays itself (``_repr_html_``)."""

    html: str
    markdown: str
    model_card: str

    def _repr_html_(self) -> str:
        return self.html

    def save(self, folder: str | Path) -> Path:
        """Write the three files into ``folder`` (created if needed); returns the HTML path."""
        d = Path(folder)
        d.mkdir(parents=True, exist_ok=True)
        for name, text in (
            (REPORT_HTML, self.html),
            (REPORT_MD, self.markdown),
            (MODEL_CARD, self.model_card),
        ):
            tmp = d / (name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(d / name)
        return d / REPORT_HTML


def render(
    analysis: dict[str, Any],
    findings: list[dict[str, Any]] | None = None,
    profile: dict[str, Any] | None = None,
    manifest: dict[str, Any] | None = None,
) -> Report:
    """Render the report from the analysis dict and its companions."""
    from mlresearcher.report.html import render_html
    from mlresearcher.report.markdown import render_markdown, render_model_card

    findings = list(findings or [])
    return Report(
        render_html(analysis, findings, profile, manifest),
        render_markdown(analysis, findings, profile),
        render_model_card(analysis, findings, manifest),
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def load(run_dir: str | Path) -> Report:
    """Render the report of a run directory from its files."""
    from mlresearcher.analysis import ANALYSIS_FILE

    d = Path(run_dir)
    analysis = _read_json(d / ANALYSIS_FILE)
    if not isinstance(analysis, dict) or "run" not in analysis:
        raise RunNotFoundError(
            f"{str(d)!r} has no readable {ANALYSIS_FILE}; it was made without the analysis "
            "stage: re-run it with `mlresearcher run` (the analysis needs the data)"
        )
    profile = _read_json(d / "profile.json")
    return render(
        analysis,
        _read_json(d / "findings.json") or [],
        profile if isinstance(profile, dict) else None,
        _read_json(d / "manifest.json"),
    )


def write_analysis(run_dir: str | Path, analysis: dict[str, Any]) -> Path:
    from mlresearcher.analysis import ANALYSIS_FILE

    p = Path(run_dir) / ANALYSIS_FILE
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(analysis, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(p)
    return p


def write_report(run_dir: str | Path) -> Path:
    """(Re)render the report files of ``run_dir``; returns the path of ``report.html``."""
    return load(run_dir).save(run_dir)


__all__ = ["MODEL_CARD", "REPORT_HTML", "REPORT_MD", "Report", "load", "render", "write_report"]
