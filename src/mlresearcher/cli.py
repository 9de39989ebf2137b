"""The command line: ``mlresearcher run | predict | runs``.

A thin shell over :mod:`mlresearcher.engine`. User errors print one line and exit with
code 2; a campaign interrupted with Ctrl-C exits with 130 after recording the run as
interrupted.
"""

from __future__ import annotations

import time

_T0 = time.monotonic()  # the time budget counts from here, imports included

import argparse  # noqa: E402
import errno  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from mlresearcher import __version__  # noqa: E402
from mlresearcher.errors import UserError  # noqa: E402

DEFAULT_TIME_LIMIT = 60.0


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused for a block of imports.

    Loading scikit-learn, SciPy, pandas and SQLAlchemy creates about 150,000 long-lived
    objects, and the collector walks the growing heap again and again while they load
    (some 400 collections that find about 1,000 objects of garbage in all): time paid
    before a run's first trial (``benchmarks/automl/first_trial.py`` measures the import
    both ways). The collector runs again, as usual, once the block ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {s}")
    return v


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {s}")
    return v


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2), like every user error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="mlresearcher",
        description="An automated machine-learning researcher: budgeted, cross-validated model campaigns.",
    )
    p.add_argument("--version", action="version", version=f"mlresearcher {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = sub.add_parser(
        "run",
        help="run a model campaign on a dataset",
        description="Run a budgeted, cross-validated model campaign.",
    )
    r.add_argument("data", help="data file: CSV/TSV, Parquet, JSON Lines or Feather")
    r.add_argument("--target", "-t", required=True, help="the column to predict")
    r.add_argument(
        "--time-limit",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help=f"wall-clock budget for the whole run (default {DEFAULT_TIME_LIMIT:.0f} unless --max-trials is given)",
    )
    r.add_argument(
        "--max-trials",
        type=_positive_int,
        default=None,
        metavar="N",
        help="stop after N trials; without --time-limit the run is fully deterministic",
    )
    r.add_argument(
        "--task",
        choices=["binary", "multiclass", "regression", "classification"],
        help="override the inferred task",
    )
    r.add_argument(
        "--metric",
        help="metric to optimise (default: roc_auc binary, log_loss multiclass, rmse regression)",
    )
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument(
        "--families",
        help="comma-separated model families to use (default: every available family but the opt-in realmlp); a family of your own as module:Class (a ModelFamily subclass)",
    )
    r.add_argument(
        "--group",
        metavar="COL",
        help="group k-fold on this column (rows of a group never straddle train and validation)",
    )
    r.add_argument(
        "--time",
        metavar="COL",
        help="time-ordered split on this column (validate only on later rows)",
    )
    r.add_argument(
        "--window",
        choices=["expanding", "rolling", "purged"],
        help="with --time: walk-forward training window (expanding, rolling) or purged k-fold",
    )
    r.add_argument(
        "--train-size",
        metavar="SPAN",
        help="with --window rolling: training length (periods or 5D)",
    )
    r.add_argument(
        "--gap",
        metavar="SPAN",
        help="with --time: periods (or a duration like 5D) purged between training and each test block",
    )
    r.add_argument(
        "--embargo",
        metavar="SPAN",
        help="with --window purged: periods (or a duration) after each test block left out of training",
    )
    r.add_argument(
        "--entity", metavar="COL", help="with --time: panel of many series, one per value of COL"
    )
    r.add_argument(
        "--lag",
        action="append",
        metavar="COL:K[,K]",
        help="with --time: add past values of COL, K rows back per entity (repeatable)",
    )
    r.add_argument(
        "--rolling",
        action="append",
        metavar="COL:W[,W]",
        help="with --time: add mean and std of COL over the W rows before each row (repeatable)",
    )
    r.add_argument("--folds", type=_positive_int, metavar="K", help="number of folds (default 5)")
    r.add_argument(
        "--repeats",
        type=_positive_int,
        metavar="R",
        help="repeat k-fold R times (default: 3 below 2,500 rows, else 1)",
    )
    r.add_argument(
        "--holdout",
        type=float,
        metavar="FRACTION",
        help="use a single holdout of this fraction instead of k-fold",
    )
    r.add_argument(
        "--sensitive",
        action="append",
        metavar="COL",
        help="report per-group fairness metrics for this column (repeatable)",
    )
    r.add_argument(
        "--final-model",
        choices=("refit", "bagged"),
        default="refit",
        help="refit: each ensemble member refit once on all rows (fast predictions; default);"
        " bagged: the average of its cross-validation fold models",
    )
    r.add_argument(
        "--portfolio",
        choices=("learned", "families"),
        default="families",
        help="first trials: every family's own configurations round by round (default), or"
        " the portfolio learned on the meta-learning suite",
    )
    r.add_argument(
        "--no-target-transform",
        dest="target_transform",
        action="store_false",
        help="fit a skewed non-negative regression target only as it is (by default the"
        " boosters also try its square root and log; ONNX export and TreeSHAP need this)",
    )
    r.add_argument("--n-jobs", type=_positive_int, default=2, help="threads per model (default 2)")
    r.add_argument("--out", default="runs", metavar="DIR", help="runs folder (default ./runs)")
    r.add_argument(
        "--store",
        metavar="URL",
        help="SQLAlchemy URL of the run store (default sqlite:///DIR/mlresearcher.db)",
    )
    r.add_argument("--quiet", "-q", action="store_true", help="no progress view or leaderboard")
    r.add_argument(
        "--json", action="store_true", help="print one JSON object with the result at the end"
    )
    from mlresearcher.commands import _execution

    _execution.add_options(r)  # --cluster, --trial-timeout, --trial-memory

    pr = sub.add_parser("predict", help="score new data with a finished run's model")
    pr.add_argument("run", help="run directory (runs/<run-id>) or a run id under --runs")
    pr.add_argument("data", help="data file to score")
    pr.add_argument(
        "--out", metavar="FILE", help="output file (.parquet, .csv, .jsonl); default: CSV on stdout"
    )
    pr.add_argument(
        "--runs",
        default="runs",
        metavar="DIR",
        help="runs folder to resolve a run id (default ./runs)",
    )
    pr.add_argument(
        "--no-input", action="store_true", help="write only the predictions, not the input columns"
    )

    rs = sub.add_parser("runs", help="list or inspect runs")
    rsub = rs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    rl = rsub.add_parser("list", help="list runs, newest first")
    rshow = rsub.add_parser("show", help="show one run with every trial")
    rshow.add_argument("run_id", help="run id (or a unique prefix)")
    for q in (rl, rshow):
        q.add_argument("--out", default="runs", metavar="DIR", help="runs folder (default ./runs)")
        q.add_argument(
            "--store", metavar="URL", help="store URL (default sqlite:///DIR/mlresearcher.db)"
        )
        q.add_argument("--json", action="store_true", help="print JSON")
    _register_commands(sub)
    return p


def _register_commands(sub: Any) -> None:
    """Add the subcommands that live in :mod:`mlresearcher.commands`, one module each.

    A command module defines ``register(sub)``, which adds its parser and sets
    ``handler=fn(args, argv) -> int`` as a default. Modules import their heavy dependencies
    inside the handler, so ``mlresearcher --help`` stays fast.
    """
    import importlib
    import pkgutil

    from mlresearcher import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"mlresearcher.commands.{info.name}").register(sub)


#: file-system failures that are the machine's state, not a bug: a full disk or quota, a
#: read-only or forbidden folder
_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    columns = os.environ.get("COLUMNS", "80").strip()
    if not columns.isdigit() or int(columns) == 0:
        # some CI systems set COLUMNS=0, which would make every table zero columns wide:
        # the terminal's own width (or 80) is used instead
        os.environ.pop("COLUMNS", None)
    with paused_gc():  # the command modules bring in numpy and pandas
        parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args, argv)
        if args.command == "predict":
            return cmd_predict(args)
        if args.command == "runs":
            return cmd_runs(args)
        return int(args.handler(args, argv))
    except UserError as e:
        print(f"mlresearcher: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if e.errno not in _STORAGE_ERRNOS:
            raise
        where = f" {str(e.filename)!r}" if e.filename else ""
        print(
            f"mlresearcher: error: cannot write{where}: {e.strerror}; free space or check the"
            " folder's permissions (every file is written whole or not at all)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("mlresearcher: interrupted", file=sys.stderr)
        return 130
    return 0


def _store(out: str, url: str | None, create: bool = True):
    from mlresearcher.store.db import Store, default_store_url

    if url is None and not create and not (Path(out) / "mlresearcher.db").exists():
        from mlresearcher.errors import RunNotFoundError

        raise RunNotFoundError(
            f"no runs found in {out!r}; run `mlresearcher run` first or pass --out DIR"
        )
    return Store(url or default_store_url(out))


def cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    with paused_gc():
        from mlresearcher.commands import _execution
        from mlresearcher.data.io import read_table
        from mlresearcher.engine import RunConfig, run, split_target
        from mlresearcher.progress import LiveProgress, NullProgress

    time_limit = args.time_limit
    if time_limit is None and args.max_trials is None:
        time_limit = DEFAULT_TIME_LIMIT
    families = [f.strip() for f in args.families.split(",") if f.strip()] if args.families else None
    config = RunConfig(
        time_limit=time_limit,
        max_trials=args.max_trials,
        seed=args.seed,
        task=args.task,
        metric=args.metric,
        families=families,
        folds=args.folds,
        repeats=args.repeats,
        holdout=args.holdout,
        group=args.group,
        time=args.time,
        window=args.window,
        train_size=args.train_size,
        gap=args.gap,
        embargo=args.embargo,
        entity=args.entity,
        lags=args.lag,
        rolling=args.rolling,
        n_jobs=args.n_jobs,
        sensitive=args.sensitive,
        final_model=args.final_model,
        target_transform=args.target_transform,
        portfolio=args.portfolio,
        **_execution.config_fields(args),
    )
    config.validate()
    df = read_table(args.data)
    X, y = split_target(df, args.target)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(
            f"cannot create the runs folder {str(out)!r}: {e.strerror or e}; choose another --out"
        ) from e
    store = _store(str(out), args.store)
    progress = NullProgress() if (args.quiet or args.json) else LiveProgress()
    command = "mlresearcher " + shlex.join(argv)
    rr = run(
        X,
        y,
        config,
        out_dir=out,
        store=store,
        data_source=str(Path(args.data).resolve()),
        command=command,
        clock_start=_T0,
        progress=progress,
    )
    if args.json:
        print(json.dumps(rr.summary(), default=str))
    elif not args.quiet:
        _print_leaderboard(rr)
    return 0


def _print_leaderboard(rr: Any, top: int = 15) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    lb = rr.leaderboard
    t = Table(
        title=f"leaderboard: {rr.metric.name} ({'higher' if rr.metric.greater_is_better else 'lower'} is better), {rr.protocol.description}"
    )
    for col in ("rank", "model", "score", "± std", "≈ best", "folds", "fit s", "weight"):
        t.add_column(col, justify="right" if col not in ("model",) else "left")
    for _, row in lb[lb["status"] == "complete"].head(top).iterrows():
        std = (
            f"{row['score_std']:.4g}"
            if row["score_std"] == row["score_std"] and row["score_std"] is not None
            else "-"
        )
        t.add_row(
            str(int(row["rank"])),
            row["model"],
            f"{row['score']:.5g}",
            std,
            "yes" if _is_true(row.get("tied_with_best")) else "",
            str(row["n_folds"]),
            f"{row['fit_time']:.1f}",
            f"{row['weight']:.2f}" if row["weight"] else "",
        )
    console.print(t)
    n = len(rr.campaign.trials)
    statuses = lb["status"].value_counts().to_dict()
    console.print(
        f"{n} trials ({', '.join(f'{v} {k}' for k, v in statuses.items() if k != 'complete')}"
        f"{', ' if len(statuses) > 1 else ''}{statuses.get('complete', 0) - 1} complete); "
        f"stopped: {rr.campaign.stopped_because}; wall time {rr.wall_time:.1f}s"
    )
    console.print(f"final model: {rr.predictor.describe()}")
    console.print(
        "≈ best: not distinguishable from the best (corrected resampled t-test, p >= 0.05)"
    )
    console.print(f"run directory: [bold]{rr.run_dir}[/]")
    if rr.run_dir is not None and (rr.run_dir / "report.html").exists():
        console.print(f"report: [bold]{rr.run_dir / 'report.html'}[/]")


def _is_true(v: Any) -> bool:
    """True for a true boolean cell; False for false, missing (NA) and absent."""
    try:
        return bool(v) if v is not None and v == v else False
    except TypeError:  # pandas.NA
        return False


def cmd_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from mlresearcher.data.io import read_table
    from mlresearcher.store.integrity import load_verified
    from mlresearcher.store.rundir import resolve_run_dir

    _output_format(args.out)
    run_dir = resolve_run_dir(args.run, args.runs)
    predictor, _ = load_verified(run_dir)  # the checksums before anything is unpickled
    df = read_table(args.data)
    scores = predictor.predict_scores(df)
    out = pd.DataFrame(index=range(len(df))) if args.no_input else df.reset_index(drop=True).copy()
    if predictor.task == "regression":
        out["prediction"] = scores
    else:
        import numpy as np

        out["prediction"] = np.asarray(predictor.classes, dtype=object)[np.argmax(scores, axis=1)]
        for j, c in enumerate(predictor.classes or []):
            out[f"proba_{c}"] = scores[:, j]
    _write_table(out, args.out)
    return 0


OUTPUT_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def _output_format(path: str | None) -> str | None:
    """The format for an output path, checked before any work is done."""
    if path is None:
        return None
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise UserError(
            f"unknown output format {suffix or '(no extension)'!r} for --out; use .parquet, .csv, .tsv or .jsonl"
        )
    return OUTPUT_FORMATS[suffix]


def _write_table(df: Any, path: str | None) -> None:
    fmt = _output_format(path)
    if path is None:
        df.to_csv(sys.stdout, index=False)
        return
    from mlresearcher.store.atomic import atomic_path

    p = Path(path)
    try:
        with atomic_path(p) as tmp:  # an existing file is never left half-written
            if fmt == "parquet":
                df.columns = [str(c) for c in df.columns]
                df.to_parquet(tmp, index=False)
            elif fmt in ("csv", "tsv"):
                df.to_csv(tmp, index=False, sep="\t" if fmt == "tsv" else ",")
            else:
                df.to_json(tmp, orient="records", lines=True)
    except OSError as e:
        raise UserError(f"cannot write {str(p)!r}: {e.strerror or e}; choose another --out") from e
    print(f"wrote {len(df):,} predictions to {p}", file=sys.stderr)


#: ``runs list`` columns dropped, first to last, while the table is wider than the terminal
#: (the run id, status, target and best score always stay)
_DROPPED_FIRST = ("model", "metric", "created", "trials")
#: columns shortened, first to last, before one is dropped: the run id down to its shortest
#: unique prefix, the others to :data:`_SHORTEST` characters (ending in an ellipsis)
_SHORTENED_FIRST = ("model", "run id", "target")
_SHORTEST = 10
#: the space between two columns of the table (one padding, collapsed, and the divider)
_GAP = 2


def _print_runs(rows: list[dict[str, Any]], url: str) -> None:
    """The ``runs list`` table, fitted to the terminal (rich's width: the terminal's, or
    ``COLUMNS``): no cell is ever wrapped; long model names, run ids and targets are
    shortened first, then the columns of least use are dropped (see :func:`_fit_runs`)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    cells: dict[str, list[str]] = {
        "run id": [r["run_id"] for r in rows],
        "status": [str(r["status"]) for r in rows],
        "created": [time.strftime("%m-%d %H:%M", time.localtime(r["created_at"])) for r in rows],
        "target": [str(r["target"]) for r in rows],
        "metric": [str(r["metric"]) for r in rows],
        "best": [
            f"{r['best_score']:.5g}" if r.get("best_score") is not None else "-" for r in rows
        ],
        "model": [str(r.get("best_model") or "-") for r in rows],
        "trials": [str(r.get("n_trials") or "-") for r in rows],
    }
    console = Console()
    console.print(Text(f"runs in {url}"), overflow="fold")
    widths = _fit_runs(cells, console.width)
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for name in widths:
        t.add_column(name, no_wrap=True, overflow="ellipsis")
    for i in range(len(rows)):
        row = []
        for name, width in widths.items():
            text = Text(cells[name][i])
            # a run id is cut to a prefix, without an ellipsis: `runs show` takes the prefix
            text.truncate(width, overflow="crop" if name == "run id" else "ellipsis")
            row.append(text)
        t.add_row(*row)
    console.print(t)


def _fit_runs(cells: dict[str, list[str]], width: int) -> dict[str, int]:
    """The columns to show and their widths: every column at its natural width when they
    fit in ``width``; else :data:`_SHORTENED_FIRST` shortened in turn, then
    :data:`_DROPPED_FIRST` dropped in turn until they do. Below the width of the columns
    that always stay, those at their shortest (rich then cuts them with ellipses)."""
    from rich.cells import cell_len

    natural = {n: max([cell_len(n), *map(cell_len, column)]) for n, column in cells.items()}
    least = {n: min(natural[n], _SHORTEST) for n in _SHORTENED_FIRST}
    least["run id"] = max(len("run id"), _unique_prefix_length(cells["run id"]))
    for dropped in range(len(_DROPPED_FIRST) + 1):
        widths = {n: w for n, w in natural.items() if n not in _DROPPED_FIRST[:dropped]}
        excess = sum(widths.values()) + _GAP * (len(widths) - 1) - width
        for name in _SHORTENED_FIRST:
            if name in widths and excess > 0:
                cut = min(excess, widths[name] - least[name])
                widths[name] -= cut
                excess -= cut
        if excess <= 0:
            break
    return widths


def _unique_prefix_length(ids: list[str], shortest: int = 7) -> int:
    """The length at which every id's prefix differs from all the others' (at least
    ``shortest``, as git's short hashes), so each prefix names one run."""
    from os.path import commonprefix

    ordered = sorted(ids)  # an id shares its longest prefix with a neighbour in this order
    pairs = zip(ordered, ordered[1:], strict=False)
    return max([shortest, *(len(commonprefix(pair)) + 1 for pair in pairs)])


def cmd_runs(args: argparse.Namespace) -> int:
    store = _store(args.out, args.store, create=False)
    if args.runs_command == "list":
        rows = store.list_runs()
        if args.json:
            print(json.dumps(rows, default=str))
            return 0
        _print_runs(rows, store.url)
        return 0
    run = store.get_run(args.run_id)
    trials = store.trials(run["run_id"])
    if args.json:
        print(json.dumps({**run, "trials": trials}, default=str))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]run {run['run_id']}[/] ({run['status']}): target {run['target']!r}, {run['task']}, metric {run['metric']}"
    )
    console.print(
        f"run directory: {run.get('run_dir')}; data hash {str(run.get('data_hash'))[:16]}..."
    )
    if run["status"] == "running" and run.get("heartbeat_at") is not None:
        beat = time.time() - run["heartbeat_at"]
        console.print(f"running in process {run.get('owner')}; last heartbeat {beat:.0f} s ago")
    if run.get("best_score") is not None:
        console.print(f"best: {run.get('best_model')} = {run['best_score']:.5g}")
    t = Table(title=f"{len(trials)} trials")
    for col in (
        "#",
        "family",
        "origin",
        "status",
        "score",
        "± std",
        "folds",
        "fit s",
        "params / error",
    ):
        t.add_column(col)
    for tr in trials:
        score = f"{tr['score']:.5g}" if tr.get("score") is not None else "-"
        std = f"{tr['score_std']:.3g}" if tr.get("score_std") is not None else "-"
        detail = (
            (tr.get("error") or "").splitlines()[0]
            if tr["status"] != "complete" and tr.get("error")
            else json.dumps(tr.get("params"))
        )
        t.add_row(
            str(tr["number"]),
            tr["family"],
            str(tr.get("origin")),
            tr["status"],
            score,
            std,
            str(tr.get("n_folds_done")),
            f"{tr.get('fit_time') or 0:.2f}",
            detail[:80],
        )
    console.print(t)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
