"""Options of ``run`` (and ``resume``) that choose where trials run: ``--cluster``,
``--trial-timeout``, ``--trial-memory``."""

from __future__ import annotations

import argparse
from typing import Any


def add_options(p: argparse.ArgumentParser) -> None:
    from mlresearcher.cli import _positive_float
    from mlresearcher.execution import CLUSTER_HELP

    p.add_argument("--cluster", metavar="SPEC", help=CLUSTER_HELP)
    p.add_argument(
        "--trial-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="fail a trial still running after this many seconds (runs trials in isolated"
        " processes: processes:1 unless --cluster processes:N)",
    )
    p.add_argument(
        "--trial-memory",
        type=_positive_float,
        metavar="MB",
        help="fail a trial whose process holds more than this much private memory (isolated"
        " processes, as --trial-timeout)",
    )


def config_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The ``RunConfig`` fields these options set."""
    return {
        "cluster": getattr(args, "cluster", None),
        "trial_timeout": getattr(args, "trial_timeout", None),
        "trial_memory": getattr(args, "trial_memory", None),
    }
