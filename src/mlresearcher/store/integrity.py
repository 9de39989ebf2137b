"""What a run directory's files are trusted for: the SHA-256 of each, in ``manifest.json``.

The run writes ``manifest.json`` last, with the SHA-256 of every other file of its
directory (model, leaderboard, out-of-fold predictions, analysis, report, model card,
reference sample...). Every command that reads a run checks the files it relies on
before it uses them, and the pickles before it unpickles them (unpickling runs code named
in the file): ``predict``, ``serve``, ``monitor``, ``export``, ``reproduce``, ``report``
and ``AutoModel.load``. A file changed after the run (a truncated copy, a swapped model,
an edited analysis) is refused with the name of the file; someone able to rewrite both a
file and the manifest is not caught, so run directories must come from a source you
trust (the README's "What is trusted").

A command that adds a file to a finished run (``report`` regenerating the report,
``export`` writing ``model.onnx`` beside the model) verifies the run first, then records
the new file's checksum with :func:`record_files`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlresearcher.errors import UserError
from mlresearcher.store.atomic import is_temporary, write_text

if TYPE_CHECKING:
    from mlresearcher.predictor import Predictor

MANIFEST = "manifest.json"
#: folders of a running run that the finished run no longer holds (trial checkpoints)
TRANSIENT = ("trials",)


class ArtifactError(UserError):
    """A run directory's file is missing, unrecorded or does not match its checksum."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_files(run_dir: Path) -> list[str]:
    """Every file of a run directory but the manifest, temporaries and checkpoints, as
    paths relative to it (``/``-separated), sorted."""
    d = Path(run_dir)
    out = []
    for p in d.rglob("*"):
        rel = p.relative_to(d)
        if not p.is_file() or rel.parts[0] in TRANSIENT or is_temporary(p.name):
            continue
        if rel.as_posix() != MANIFEST:
            out.append(rel.as_posix())
    return sorted(out)


def write_manifest(run_dir: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """Write ``manifest.json``: ``fields`` plus the SHA-256 of every file of the directory."""
    d = Path(run_dir)
    manifest = {**fields, "files": {f: sha256_file(d / f) for f in run_files(d)}}
    write_text(d / MANIFEST, json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def read_run_manifest(run_dir: Path) -> dict[str, Any]:
    """The run's manifest; an :class:`ArtifactError` when it is absent or unreadable."""
    f = Path(run_dir) / MANIFEST
    if not f.exists():
        raise ArtifactError(
            f"{str(run_dir)!r} has no manifest.json, so its files cannot be verified; "
            "it is not a finished run directory (finish it with `mlresearcher resume`)"
        )
    try:
        manifest = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArtifactError(
            f"{str(f)!r} is unreadable ({type(e).__name__}); the run directory is damaged"
        ) from e
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ArtifactError(f"{str(f)!r} is not a run manifest; the run directory is damaged")
    return manifest


def verify_file(run_dir: Path, name: str, manifest: dict[str, Any]) -> Path:
    """The path of ``name`` in ``run_dir`` after checking it against the manifest's SHA-256."""
    path = Path(run_dir) / name
    expected = (manifest.get("files") or {}).get(name)
    if not path.exists():
        raise ArtifactError(f"{str(path)!r} is missing; the run directory is incomplete")
    if not isinstance(expected, str):
        raise ArtifactError(
            f"the manifest of {str(run_dir)!r} records no checksum for {name}; "
            "refusing to use an unverified file"
        )
    actual = sha256_file(path)
    if not hmac.compare_digest(actual, expected):
        raise ArtifactError(
            f"{name} in {str(run_dir)!r} does not match the SHA-256 recorded in manifest.json "
            f"(expected {expected[:12]}..., found {actual[:12]}...); refusing to use a file "
            "changed after the run; restore it from the original run"
        )
    return path


def verify_run(run_dir: str | Path, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check every file the manifest records; returns the manifest."""
    d = Path(run_dir)
    manifest = read_run_manifest(d) if manifest is None else manifest
    for name in manifest["files"]:
        verify_file(d, name, manifest)
    return manifest


def record_files(run_dir: str | Path, names: list[str]) -> dict[str, Any]:
    """Add (or refresh) the checksums of ``names`` in a finished run's manifest, after
    checking every other file it records."""
    d = Path(run_dir)
    manifest = read_run_manifest(d)
    verify_run(
        d, {**manifest, "files": {k: v for k, v in manifest["files"].items() if k not in names}}
    )
    manifest["files"].update({n: sha256_file(d / n) for n in names})
    write_text(d / MANIFEST, json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def load_verified(run_dir: str | Path) -> tuple[Predictor, dict[str, Any]]:
    """The run's predictor and manifest, every recorded file verified before unpickling."""
    from mlresearcher.predictor import Predictor

    d = Path(run_dir)
    manifest = verify_run(d)
    if "model.joblib" not in manifest["files"]:
        verify_file(d, "model.joblib", manifest)  # raises: no checksum recorded
    return Predictor.load(d), manifest


__all__ = [
    "ArtifactError",
    "load_verified",
    "read_run_manifest",
    "record_files",
    "run_files",
    "sha256_file",
    "verify_file",
    "verify_run",
    "write_manifest",
]
