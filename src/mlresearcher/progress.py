"""The live terminal view of a campaign (rich), written to stderr.

Shows trials done / pruned / failed, the current best model and score, the trial in
progress, and the time left. ``NullProgress`` is the quiet variant.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text


class NullProgress:
    def begin(self, **kw: Any) -> None: ...
    def trial_started(self, number: int, family: str, campaign: Any) -> None: ...
    def trial_done(self, result: Any, campaign: Any) -> None: ...
    def end(self) -> None: ...


class LiveProgress(NullProgress):
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live: Live | None = None
        self.counts = {"complete": 0, "pruned": 0, "failed": 0, "skipped": 0}
        self.current = ""
        self.recent: list[str] = []
        self.best: tuple[str, float] | None = None

    def begin(
        self,
        *,
        run_id: str,
        task: str,
        metric: Any,
        protocol: Any,
        n_rows: int,
        n_features: int,
        deadline: float | None,
        start: float,
        max_trials: int | None,
    ) -> None:
        self.run_id, self.task, self.metric, self.protocol = run_id, task, metric, protocol
        self.deadline, self.start, self.max_trials = deadline, start, max_trials
        self.console.print(
            f"[bold]run {run_id}[/]: {task}, {n_rows:,} rows x {n_features} features, "
            f"metric {metric.name} ({'higher' if metric.greater_is_better else 'lower'} is better)\n"
            f"protocol: {protocol.description}"
        )
        self.live = Live(
            self._render(), console=self.console, refresh_per_second=4, transient=False
        )
        self.live.start()

    def _render(self) -> Group:
        done = sum(self.counts.values())
        elapsed = time.monotonic() - self.start
        left = f"{max(0.0, self.deadline - time.monotonic()):.0f}s left" if self.deadline else ""
        budget = f"/{self.max_trials}" if self.max_trials else ""
        head = Text.assemble(
            (f"trials {done}{budget}", "bold"),
            f"  complete {self.counts['complete']}  pruned {self.counts['pruned']}  failed {self.counts['failed']}",
            f"   elapsed {elapsed:.0f}s  {left}",
        )
        best = (
            Text.assemble(
                ("best ", "bold"), f"{self.best[0]}  {self.metric.name} = {self.best[1]:.5g}"
            )
            if self.best
            else Text("best: -")
        )
        now = Text(f"running: {self.current}" if self.current else "", style="dim")
        table = Table(show_header=False, box=None, padding=(0, 1))
        for line in self.recent[-5:]:
            table.add_row(line)
        return Group(head, best, now, table)

    def trial_started(self, number: int, family: str, campaign: Any) -> None:
        self.current = f"{family}#{number}"
        if self.live:
            self.live.update(self._render())

    def trial_done(self, result: Any, campaign: Any) -> None:
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        inc = campaign.incumbent()
        if inc is not None:
            self.best = (inc.name, inc.score)
        score = (
            f"{result.score:.5g}"
            if result.score is not None and result.status == "complete"
            else result.status
        )
        self.recent.append(
            f"{result.name:<18} {score:>12}  {result.fit_time + result.predict_time:6.1f}s"
        )
        self.current = ""
        if self.live:
            self.live.update(self._render())

    def end(self) -> None:
        if self.live:
            self.live.update(self._render())
            self.live.stop()
            self.live = None
            self.console.print()
