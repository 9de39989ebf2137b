"""Loading a run's model for serving: the checksum is verified before anything is unpickled.

``model.joblib`` is a pickle, and unpickling runs code named in the file. What is trusted
is therefore the run directory's ``manifest.json``, written by the run that produced the
model: its SHA-256 for ``model.joblib`` must match the file byte for byte, or the model is
refused before ``joblib.load`` sees it. A file changed after the run (a truncated copy, a
swapped model, a tampered pickle) is caught; someone able to rewrite both the model and
the manifest is not, so run directories must come from a source you trust (see the
README's "What is trusted" section).
"""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Any

from mlresearcher.errors import UserError
from mlresearcher.predictor import ARTIFACT, Predictor


class ArtifactError(UserError):
    """A run directory's model is missing, unrecorded or does not match its checksum."""


def read_run_manifest(run_dir: Path) -> dict[str, Any]:
    """The run's manifest; an :class:`ArtifactError` when it is absent or unreadable."""
    f = Path(run_dir) / "manifest.json"
    if not f.exists():
        raise ArtifactError(
            f"{str(run_dir)!r} has no manifest.json, so its model cannot be verified; "
            "pass a finished run directory (runs/<run-id>)"
        )
    try:
        manifest = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ArtifactError(
            f"cannot read {str(f)!r} ({type(e).__name__}); the run directory is damaged"
        ) from e
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{str(f)!r} is not a run manifest; the run directory is damaged")
    return manifest


def verify_file(run_dir: Path, name: str, manifest: dict[str, Any]) -> Path:
    """The path of ``name`` in ``run_dir`` after checking it against the manifest's SHA-256."""
    from mlresearcher.store.rundir import sha256_file

    path = Path(run_dir) / name
    expected = (manifest.get("files") or {}).get(name)
    if not path.exists():
        raise ArtifactError(f"{str(path)!r} is missing; the run directory is incomplete")
    if not isinstance(expected, str):
        raise ArtifactError(
            f"the manifest of {str(run_dir)!r} records no checksum for {name}; "
            "refusing to load an unverified file"
        )
    actual = sha256_file(path)
    if not hmac.compare_digest(actual, expected):
        raise ArtifactError(
            f"{name} in {str(run_dir)!r} does not match the SHA-256 recorded in manifest.json "
            f"(expected {expected[:12]}..., found {actual[:12]}...); refusing to load a file "
            "changed after the run; restore it from the original run"
        )
    return path


def load_verified(run_dir: str | Path) -> tuple[Predictor, dict[str, Any]]:
    """The run's predictor and manifest, the model's checksum verified before unpickling."""
    d = Path(run_dir)
    manifest = read_run_manifest(d)
    verify_file(d, ARTIFACT, manifest)
    return Predictor.load(d), manifest


__all__ = ["ArtifactError", "load_verified", "read_run_manifest", "verify_file"]
