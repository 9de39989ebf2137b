"""Run a study: every pending cell, each stored the moment it finishes.

Executors are functions ``executor(cells) -> iterable of CellResult`` yielding results as
cells finish (in any order). The default, :func:`local_executor`, runs them one after the
other in this process; any executor that can ship :func:`mlresearcher.study.cell.run_cell`
(a plain picklable function of a picklable cell) can stand in for it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass

from mlresearcher.study.cell import Cell, CellResult, run_cell
from mlresearcher.study.spec import StudySpec, spec_hash
from mlresearcher.study.store import StudyStore

Executor = Callable[[list[Cell]], Iterable[CellResult]]


def local_executor(cells: list[Cell]) -> Iterator[CellResult]:
    for cell in cells:
        yield run_cell(cell)


def make_cells(spec: StudySpec) -> list[Cell]:
    return [
        Cell(
            spec.name,
            dict(m),
            asdict(d),
            seed,
            spec.test_size,
            spec.budget,
            spec.max_rows,
            spec.n_jobs,
            spec_hash({"method": m, "budget": spec.budget, "test_size": spec.test_size}),
            spec_hash({"dataset": asdict(d), "max_rows": spec.max_rows}),
        )
        for m, d, seed in spec.cells()
    ]


@dataclass
class StudyProgress:
    total: int
    done_before: int
    ran: int = 0
    failed: int = 0
    wall_time: float = 0.0


def pending_cells(spec: StudySpec, store: StudyStore, retry_failed: bool = False) -> list[Cell]:
    """Cells without a stored result for their current definition."""
    stored = {(r["method"], r["dataset"], r["seed"]): r for r in store.cells(spec.name)}
    out = []
    for cell in make_cells(spec):
        r = stored.get(cell.key)
        fresh = (
            r is not None
            and r["method_hash"] == cell.method_hash
            and r["dataset_hash"] == cell.dataset_hash
        )
        if fresh and (r["status"] == "complete" or not retry_failed):
            continue
        out.append(cell)
    return out


def run_study(
    spec: StudySpec,
    store: StudyStore,
    *,
    executor: Executor | None = None,
    retry_failed: bool = False,
    log: Callable[[str], None] | None = None,
) -> StudyProgress:
    """Run every pending cell of ``spec``; return counts and the wall time in seconds."""
    t0 = time.monotonic()
    store.begin_study(spec.name, spec.raw)
    cells = pending_cells(spec, store, retry_failed)
    total = len(make_cells(spec))
    prog = StudyProgress(total, total - len(cells))
    if log:
        log(
            f"study {spec.name!r}: {total} cells, {prog.done_before} already stored, {len(cells)} to run"
        )
    for res in (executor or local_executor)(cells):
        store.record_cell(res)
        prog.ran += 1
        prog.failed += res.status != "complete"
        if log:
            score = f"{res.metric} {res.score:.5g}" if res.score is not None else res.status
            log(
                f"[{prog.done_before + prog.ran}/{total}] {res.method} on {res.dataset} seed {res.seed}: "
                f"{score} ({res.fit_time:.1f}s)"
                + (f" -- {(res.error or '').splitlines()[0]}" if res.status != "complete" else "")
            )
    prog.wall_time = time.monotonic() - t0
    return prog


def stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
