"""Checkpoints of finished trials: what a resumed run needs to build its final model.

``<run-dir>/trials/<number>.joblib`` holds a complete trial's fold models and out-of-fold
predictions, and ``<number>.sha256`` its checksum, checked before it is unpickled on
resume. It is written (to a temporary name, then renamed) *before* the trial's row is
committed to the store, so a committed complete trial always had its checkpoint; the
checkpoint of a trial that drops out of the ``keep_top`` best (and so can never join the
ensemble) is deleted. A run that finishes deletes the folder: ``model.joblib`` then holds
every model that matters. A kill between the file and the row leaves an orphan file, which
a resumed run ignores (the trial was not finished as far as the store knows) and replaces.
A checkpoint that is there but unreadable or altered raises :class:`CheckpointError`, so a
resumed run says which trials lost their models instead of treating them as absent.

Design choice: persisting models as trials finish, rather than re-fitting the ensemble's
members at the end, keeps resume exact (the ensemble is built from the very models that
were scored) and costs nothing when nothing is interrupted but one uncompressed write per
top trial.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib

from mlresearcher.errors import UserError
from mlresearcher.store.atomic import atomic_path, write_text


class CheckpointError(UserError):
    """A trial's checkpoint exists but cannot be trusted or read."""


class TrialCheckpoints:
    """Fold models and out-of-fold predictions of a run's best complete trials."""

    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir) / "trials"
        self.saved: set[int] = set()

    def path(self, number: int) -> Path:
        return self.dir / f"{number}.joblib"

    def _digest_path(self, number: int) -> Path:
        return self.dir / f"{number}.sha256"

    def save(self, trial: Any) -> None:
        from mlresearcher.store.integrity import sha256_file

        self.dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path(trial.number)) as tmp:
            joblib.dump({"oof": trial.oof, "models": trial.models}, tmp, compress=0)
            write_text(self._digest_path(trial.number), sha256_file(tmp) + "\n")
        self.saved.add(trial.number)

    def load(self, number: int) -> dict[str, Any] | None:
        """The trial's fold models and out-of-fold predictions; ``None`` when it has no
        checkpoint; :class:`CheckpointError` when the checkpoint is altered or unreadable."""
        import hmac

        from mlresearcher.store.integrity import sha256_file

        p = self.path(number)
        if not p.exists():
            return None
        try:
            expected = self._digest_path(number).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise CheckpointError(f"{p} has no readable checksum ({type(e).__name__})") from e
        if not hmac.compare_digest(sha256_file(p), expected):
            raise CheckpointError(f"{p} does not match its recorded SHA-256")
        try:
            saved = joblib.load(p)
        except Exception as e:  # noqa: BLE001 - any unpickling failure is reported
            raise CheckpointError(f"{p} is unreadable: {type(e).__name__}: {e}") from e
        if not isinstance(saved, dict) or not {"oof", "models"} <= saved.keys():
            raise CheckpointError(f"{p} is not a trial checkpoint")
        return saved

    def discard(self, number: int) -> None:
        self.path(number).unlink(missing_ok=True)
        self._digest_path(number).unlink(missing_ok=True)
        self.saved.discard(number)

    def sync(self, trials: list[Any]) -> None:
        """Save the newest trials holding models; delete those no longer holding any."""
        for t in trials:
            if t.models is not None and t.oof is not None and t.number not in self.saved:
                self.save(t)
            elif t.models is None and t.number in self.saved:
                self.discard(t.number)

    def remove_all(self) -> None:
        if self.dir.is_dir():
            for p in self.dir.iterdir():
                p.unlink(missing_ok=True)
            self.dir.rmdir()
        self.saved.clear()
