"""The report of a run: ``report.html``, ``report.md`` and ``model_card.md``.

Rendering reads only files of the run directory: ``analysis.json`` (written by the analysis
stage), ``findings.json``, ``manifest.json`` and, when the profile stage wrote it,
``profile.json`` (its section is left out gracefully when absent). So ``mlresearcher report
RUN`` regenerates the report without the data, and :class:`Report` shows it in a notebook.
A finished run's files are checked against its manifest first: a report is never rendered
from an altered or unreadable analysis or findings file (a lost leakage finding would
otherwise vanish from the report without a word).
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
        from mlresearcher.store.atomic import write_text

        for name, text in (
            (REPORT_HTML, self.html),
            (REPORT_MD, self.markdown),
            (MODEL_CARD, self.model_card),
        ):
            write_text(d / name, text)
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


def _read_json(path: Path, *, required: bool) -> Any:
    """The file's JSON; ``None`` when it is absent and not ``required``. An unreadable file
    is an error, never taken for an empty one."""
    from mlresearcher.store.integrity import ArtifactError

    if not path.exists():
        if required:
            raise ArtifactError(f"{str(path)!r} is missing; the run directory is incomplete")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArtifactError(
            f"{str(path)!r} is unreadable ({type(e).__name__}: {str(e).splitlines()[0]}); "
            "restore it from the original run"
        ) from e


def load(run_dir: str | Path) -> Report:
    """Render the report of a run directory from its files (a finished run's files are
    verified against its manifest first)."""
    from mlresearcher.analysis import ANALYSIS_FILE
    from mlresearcher.store.integrity import MANIFEST, read_run_manifest, verify_file

    d = Path(run_dir)
    if not (d / ANALYSIS_FILE).exists():
        raise RunNotFoundError(
            f"{str(d)!r} has no {ANALYSIS_FILE}; it was made without the analysis "
            "stage: re-run it with `mlresearcher run` (the analysis needs the data)"
        )
    manifest = None
    if (d / MANIFEST).exists():
        manifest = read_run_manifest(d)
        for name in (ANALYSIS_FILE, "findings.json", "profile.json"):
            if name in manifest["files"] or name != "profile.json":
                verify_file(d, name, manifest)
    analysis = _read_json(d / ANALYSIS_FILE, required=True)
    if not isinstance(analysis, dict) or "run" not in analysis:
        raise RunNotFoundError(f"{str(d / ANALYSIS_FILE)!r} is not a run's analysis")
    findings = _read_json(d / "findings.json", required=True)
    if not isinstance(findings, list):
        raise RunNotFoundError(f"{str(d / 'findings.json')!r} is not a list of findings")
    profile = _read_json(d / "profile.json", required=False)
    return render(analysis, findings, profile if isinstance(profile, dict) else None, manifest)


def write_analysis(run_dir: str | Path, analysis: dict[str, Any]) -> Path:
    from mlresearcher.analysis import ANALYSIS_FILE
    from mlresearcher.store.atomic import write_text

    p = Path(run_dir) / ANALYSIS_FILE
    write_text(p, json.dumps(analysis, indent=1, allow_nan=False) + "\n")
    return p


def render_run_dir(run_dir: str | Path) -> Path:
    """Render the report files of a run being written (before its manifest)."""
    return load(run_dir).save(run_dir)


def write_report(run_dir: str | Path) -> Path:
    """Regenerate the report files of a finished run from its verified files, and record
    their new checksums in its manifest; returns the path of ``report.html``."""
    from mlresearcher.store.integrity import read_run_manifest, record_files

    read_run_manifest(Path(run_dir))  # a finished run only
    path = load(run_dir).save(run_dir)
    record_files(run_dir, [REPORT_HTML, REPORT_MD, MODEL_CARD])
    return path


__all__ = [
    "MODEL_CARD",
    "REPORT_HTML",
    "REPORT_MD",
    "Report",
    "load",
    "render",
    "render_run_dir",
    "write_report",
]
