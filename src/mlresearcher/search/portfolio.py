"""The learned portfolio: which configurations the campaign tries first, in which order.

``portfolio.json`` beside this module is data, not code: it is written by
``benchmarks/portfolio/select_portfolio.py`` from an evaluation of many configurations of
every family on the train part of the meta-learning suite (``benchmarks/portfolio/``),
selected greedily for the best normalised score that the campaign reaches when it runs
them in order under a time budget. Each entry names its family and holds one parameter set
per task kind (``classification``, ``regression``).

:func:`portfolio_queue` turns it into the campaign's first trials for one problem:

* the entries whose family can run here, in the learned order; a family's first entry is
  its ``default`` trial (never pruned), its later entries are ``portfolio`` trials;
* for a booster on a skewed non-negative regression target, its first entry again on the
  transformed target, right after it (see :func:`mlresearcher.models.base.target_transforms`);
* then the families the learned portfolio does not name (a family restricted in by the
  user, a new one; every family with ``portfolio="families"``): their own
  ``default_configs``, round by round (a booster's second one its default on the
  transformed target), so every usable family still runs its default.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlresearcher.models.base import FitContext, ModelFamily

PORTFOLIO_FILE = Path(__file__).with_name("portfolio.json")
#: the first trials a run can take: ``families`` (every family's own configurations, round
#: by round; the default) or ``learned`` (this module's table)
PORTFOLIOS = ("families", "learned")


@lru_cache(maxsize=1)
def learned_portfolio() -> tuple[dict[str, Any], ...]:
    """The entries of ``portfolio.json``, in order (each: id, family, parameters per kind)."""
    doc = json.loads(PORTFOLIO_FILE.read_text())
    return tuple(doc["portfolio"])


def _kind(ctx: FitContext) -> str:
    return "classification" if ctx.is_classification else "regression"


def _transformable(fam: ModelFamily, ctx: FitContext) -> bool:
    """Whether ``fam`` tries a transformed target on this problem (its own configurations
    carry one when the target calls for it)."""
    return bool(ctx.target_transforms) and any(
        "target_transform" in c for c in fam.default_configs(ctx)
    )


def portfolio_queue(
    families: list[ModelFamily],
    ctx: FitContext,
    order: tuple[str, ...] = (),
    entries: tuple[dict[str, Any], ...] | None = None,
) -> list[tuple[ModelFamily, dict[str, Any], str]]:
    """The campaign's fixed trials for ``families`` on the problem ``ctx`` describes:
    ``(family, parameters, origin)`` in order (see the module doc). ``order``: the order
    of the families the portfolio does not name; ``entries``: the portfolio (default: the
    learned one)."""
    entries = learned_portfolio() if entries is None else entries
    by_name = {f.name: f for f in families}
    kind = _kind(ctx)
    out: list[tuple[ModelFamily, dict[str, Any], str]] = []
    seen: set[str] = set()
    for e in entries:
        fam = by_name.get(e["family"])
        params = e.get(kind)
        if fam is None or params is None:
            continue
        first = fam.name not in seen
        seen.add(fam.name)
        out.append((fam, dict(params), "default" if first else "portfolio"))
        if first and _transformable(fam, ctx):
            out.append((fam, {**params, "target_transform": ctx.target_transforms[0]}, "portfolio"))
    rank = {name: i for i, name in enumerate(order)}
    rest = sorted(
        (f for f in families if f.name not in seen),
        key=lambda f: (rank.get(f.name, len(rank)), f.cost),
    )
    # round by round (a booster's transformed-target default is its second configuration)
    per_family = [(f, f.default_configs(ctx)) for f in rest]
    depth = max((len(c) for _, c in per_family), default=0)
    for r in range(depth):
        for fam, configs in per_family:
            if r < len(configs):
                out.append((fam, dict(configs[r]), "default" if r == 0 else "portfolio"))
    return out
