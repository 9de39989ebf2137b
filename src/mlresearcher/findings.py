"""Findings: facts about the data or the run that a reader should know.

A finding has a stable ``code`` (machine-readable), a ``severity``, the ``message`` a person
reads, the ``evidence`` behind it and a suggested ``action``. Stages append findings; the
run directory stores them in ``findings.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    column: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(**d)
