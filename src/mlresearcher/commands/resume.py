"""``mlresearcher resume RUN_ID [--out DIR] [--time-limit S]``: continue an interrupted run.

A run killed at any moment (Ctrl-C, SIGKILL, a lost machine) keeps every trial that had
finished: its row is in the store and, for the trials that can join the final ensemble,
its fold models are checkpointed in ``<run-dir>/trials/``. Resume re-reads the data file
(and refuses it if it changed), takes the finished trials back without re-running them,
continues the campaign in the same run and run directory, and builds the final model from
old and new trials together. Trials that were running at the kill are run afresh.

Budget: ``--time-limit`` seconds for this command; by default what the original budget had
left (the time from the run's start to its last finished trial is taken as spent), at
least 10 % of it and 5 s. A run budgeted by ``--max-trials`` only continues up to that
count.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    from mlresearcher.cli import _positive_float

    p = sub.add_parser(
        "resume",
        help="continue an interrupted run, keeping every finished trial",
        description="Continue an interrupted run: finished trials are kept, not re-run.",
    )
    p.add_argument("run_id", help="run id (or a unique prefix)")
    p.add_argument("--out", default="runs", metavar="DIR", help="runs folder (default ./runs)")
    p.add_argument(
        "--store", metavar="URL", help="store URL (default sqlite:///DIR/mlresearcher.db)"
    )
    p.add_argument(
        "--time-limit",
        type=_positive_float,
        metavar="SECONDS",
        help="budget of this command (default: what the run's budget had left)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress view or leaderboard")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.set_defaults(handler=cmd_resume)


def cmd_resume(args: argparse.Namespace, argv: list[str]) -> int:
    import json

    from mlresearcher.cli import _T0, _print_leaderboard, _store
    from mlresearcher.data.io import read_table
    from mlresearcher.engine import RunConfig, run, split_target
    from mlresearcher.errors import ConfigError, DataError
    from mlresearcher.progress import LiveProgress, NullProgress

    store = _store(args.out, args.store, create=False)
    stored = store.get_run(args.run_id)
    run_id = stored["run_id"]
    if stored["status"] == "finished":
        raise ConfigError(
            f"run {run_id} already finished; see it with `mlresearcher runs show {run_id}`"
        )
    if stored["status"] == "running":  # its process is alive: two would write one run
        import time

        beat = stored.get("heartbeat_at")
        ago = f", last heartbeat {time.time() - beat:.0f} s ago" if beat else ""
        raise ConfigError(
            f"run {run_id} is still running (process {stored.get('owner') or 'unknown'}{ago});"
            " resume it once that process has stopped"
        )
    done = _finished_directory(stored, Path(args.out) / run_id)
    if done is not None:  # only the store's last write was lost: nothing to run again
        from mlresearcher.store.checkpoints import TrialCheckpoints

        TrialCheckpoints(Path(stored.get("run_dir") or Path(args.out) / run_id)).remove_all()
        store.finish_run(
            run_id,
            best_score=done.get("best_score"),
            best_model=done.get("best_model"),
            n_trials=done.get("n_trials"),
            summary={k: done.get(k) for k in _RECOVERED} | {"recovered_from": "manifest.json"},
        )
        if args.json:
            print(json.dumps({"run_id": run_id, "recovered_from": "manifest.json"} | done))
        else:
            print(
                f"run {run_id} had finished: its directory is whole (every file matches its"
                " manifest), so its record in the store is completed from it",
                file=sys.stderr,
            )
        return 0
    source = stored.get("data_source")
    if not source or not Path(source).exists():
        raise DataError(
            f"the data of run {run_id} ({source or 'passed in memory'}) is not readable;"
            " a run can be resumed only from the file it was started on"
        )
    known = {f.name for f in fields(RunConfig)}
    config = RunConfig(**{k: v for k, v in (stored.get("config") or {}).items() if k in known})
    unreadable: list[int] = []
    prior = finished_trials(store, run_id, Path(args.out) / run_id, unreadable)
    config.time_limit = resume_budget(stored, prior, config.time_limit, args.time_limit)
    df = read_table(source)
    X, y = split_target(df, stored["target"])
    progress = NullProgress() if (args.quiet or args.json) else LiveProgress()
    rr = run(
        X,
        y,
        config,
        out_dir=Path(args.out),
        store=store,
        data_source=source,
        command="mlresearcher " + shlex.join(argv),
        clock_start=_T0,
        progress=progress,
        run_id=run_id,
        resume=prior,
    )
    if args.json:
        out = rr.summary()
        out["resumed_trials"] = len(prior)
        out["unusable_checkpoints"] = unreadable
        print(json.dumps(out, default=str))
    elif not args.quiet:
        _print_leaderboard(rr)
    return 0


#: manifest fields a recovered run's summary keeps
_RECOVERED = ("metric", "best_model", "best_score", "n_trials", "wall_time", "final_model")


def _finished_directory(stored: dict[str, Any], default: Path) -> dict[str, Any] | None:
    """The manifest of a run whose directory was completed (written last, every file
    verified) though the store never heard of its end: a crash between the two writes."""
    from mlresearcher.errors import UserError
    from mlresearcher.store.integrity import read_run_manifest, verify_run

    run_dir = Path(stored.get("run_dir") or default)
    if not (run_dir / "manifest.json").exists():
        return None
    try:
        verify_run(run_dir)
        return {k: v for k, v in read_run_manifest(run_dir).items() if k != "files"}
    except UserError:
        return None  # altered or half-written: resume runs what is missing


def finished_trials(
    store: Any, run_id: str, run_dir: Path, unreadable: list[int] | None = None
) -> list[Any]:
    """The stored trials of ``run_id`` as results, with their checkpointed fold models and
    out-of-fold predictions where they have them. A complete trial whose checkpoint is
    altered or unreadable is warned about on stderr and its number added to ``unreadable``."""
    from mlresearcher.execution.trial import TrialResult
    from mlresearcher.store.checkpoints import CheckpointError, TrialCheckpoints

    checkpoints = TrialCheckpoints(run_dir)
    unreadable = [] if unreadable is None else unreadable
    out = []
    for row in store.trials(run_id):
        t = TrialResult(
            number=row["number"],
            family=row["family"],
            params=row.get("params") or {},
            origin=row.get("origin") or "search",
            status=row["status"],
            fold_scores=[math.nan if v is None else v for v in row.get("fold_scores") or []],
            fit_time=row.get("fit_time") or 0.0,
            predict_time=row.get("predict_time") or 0.0,
            started_at=row.get("started_at") or 0.0,
            finished_at=row.get("finished_at") or 0.0,
            error=row.get("error"),
        )
        if t.status == "complete":
            try:
                saved = checkpoints.load(t.number)
            except CheckpointError as e:
                saved = None
                unreadable.append(t.number)
                print(
                    f"warning: trial {t.number}'s checkpoint is not usable ({e}); the trial"
                    " keeps its scores but cannot join the final model",
                    file=sys.stderr,
                )
            if saved is not None:
                t.oof, t.models = saved["oof"], saved["models"]
        out.append(t)
    return out


def resume_budget(
    stored: dict[str, Any], prior: list[Any], original: float | None, given: float | None
) -> float | None:
    """Seconds for the resumed command: ``given``, else what ``original`` had left."""
    if given is not None:
        return given
    if original is None:
        return None
    last = max((t.finished_at for t in prior), default=stored["created_at"])
    spent = max(0.0, last - stored["created_at"])
    return max(original - spent, 0.1 * original, 5.0)
