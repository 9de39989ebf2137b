"""Time-ordered signal research: walk-forward protocol, past-only features, signal metrics.

* :mod:`.walkforward` -- walk-forward folds (expanding or rolling windows, or purged
  k-fold) with a gap and an embargo, in rows/periods or time units;
* :mod:`.features` -- lagged and rolling features built from the past only, per entity;
* :mod:`.metrics` -- information coefficient per period, sign-following / long-short
  backtest with transaction costs, Sharpe ratio, maximum drawdown;
* :mod:`.research` -- a signal study: walk-forward against shuffled k-fold on the same
  data, with the honesty verdict, and its report.
"""
