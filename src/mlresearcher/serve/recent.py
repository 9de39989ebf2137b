"""A bounded sample of the most recent served rows and their predictions (for ``/drift``)."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np
import pandas as pd


class RecentRows:
    """The last ``max_rows`` rows served: input columns as received, and their scores.

    Requests are kept as the column lists they arrived in (no copy per row). Rows past
    ``max_rows`` are dropped oldest first: whole requests are released, and within the
    oldest one a row offset is advanced, so adding a row never copies the rows held.
    """

    def __init__(self, max_rows: int):
        self.max_rows = max_rows
        self._chunks: deque[tuple[dict[str, list[Any]], np.ndarray, int]] = deque()
        self._n = 0  # rows in the chunks, including the skipped head of the oldest
        self._skip = 0  # rows of the oldest chunk already dropped
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._n - self._skip

    def add(self, columns: dict[str, list[Any]], scores: np.ndarray, n: int) -> None:
        if self.max_rows <= 0:
            return
        if n > self.max_rows:
            cut = n - self.max_rows
            columns = {c: v[cut:] for c, v in columns.items()}
            scores, n = scores[cut:], self.max_rows
        with self._lock:
            self._chunks.append((columns, scores, n))
            self._n += n
            while self._n - self._skip > self.max_rows:
                oldest = self._chunks[0][2]
                excess = self._n - self._skip - self.max_rows
                if oldest - self._skip <= excess:
                    self._chunks.popleft()
                    self._n -= oldest
                    self._skip = 0
                else:
                    self._skip += excess

    def snapshot(self) -> tuple[pd.DataFrame, np.ndarray | None]:
        """The held rows as a frame (input columns) and their scores, oldest first."""
        with self._lock:
            chunks = list(self._chunks)
            skip = self._skip
        if not chunks:
            return pd.DataFrame(), None
        head_cols, head_scores, head_n = chunks[0]
        chunks[0] = ({c: v[skip:] for c, v in head_cols.items()}, head_scores[skip:], head_n - skip)
        names = list(chunks[0][0])
        frame = pd.DataFrame(
            {c: pd.Series([v for ch in chunks for v in ch[0][c]], dtype=object) for c in names}
        )
        return frame, np.concatenate([ch[1] for ch in chunks])


__all__ = ["RecentRows"]
