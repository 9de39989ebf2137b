"""The recent-rows window keeps exactly the last rows served, in order."""

from __future__ import annotations

import numpy as np

from mlresearcher.serve.recent import RecentRows


def test_window_keeps_the_last_rows_in_order():
    w = RecentRows(max_rows=7)
    served = []
    for size in [3, 1, 5, 1, 1, 10, 2]:
        start = len(served)
        vals = list(range(start, start + size))
        served += vals
        w.add({"a": vals}, np.array(vals, dtype=float), size)
        frame, scores = w.snapshot()
        expected = served[-7:]
        assert len(w) == len(expected)
        assert frame["a"].tolist() == expected and scores.tolist() == expected
