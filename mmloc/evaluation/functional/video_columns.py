"""``VideoColumns``: per-video arrays held as a few flat columns."""
from __future__ import annotations

from typing import Iterator, Mapping, Sequence

import numpy as np


class VideoColumns(Mapping):
    """A read-only ``{video_id: (col_0[a:b], col_1[a:b], ...)}`` stored as flat columns.

    The mapping that :func:`~.detection_map.compute_detection_map` takes (e.g. GT
    ``(segments (G, 2) s, labels (G,))`` per video), kept as ``len(columns)`` arrays over
    all videos plus one size per video. Lookups return views. Why: a dict of one tuple per
    video is one garbage-collected container per video (10k for 5000 videos of GT and
    results), which a loader returns alive and the collector then walks; this is O(1)
    containers, and the metric reads the columns without concatenating them again.

    Args:
        videos: (V,) unique ids, in order.
        sizes: (V,) int, rows of each video (the rows of video ``i`` follow those of
            video ``i - 1``).
        columns: arrays with ``sum(sizes)`` rows each.
    """

    __slots__ = ('videos', 'sizes', 'columns', '_starts', '_index')

    def __init__(self, videos: Sequence, sizes, columns: Sequence[np.ndarray]) -> None:
        self.videos = list(videos)
        self.sizes = np.asarray(sizes, dtype=np.int64).reshape(-1)
        self.columns = tuple(columns)
        if self.sizes.shape[0] != len(self.videos):
            raise ValueError(f'{len(self.videos)} videos but {self.sizes.shape[0]} sizes')
        if self.sizes.size and self.sizes.min() < 0:
            raise ValueError('sizes must be >= 0')
        self._starts = np.concatenate([[0], np.cumsum(self.sizes)])
        rows = int(self._starts[-1])
        for k, col in enumerate(self.columns):
            if not isinstance(col, np.ndarray) or col.ndim == 0 or col.shape[0] != rows:
                raise ValueError(f'column {k}: expected an array of {rows} rows, got '
                                 f'{getattr(col, "shape", type(col).__name__)}')
        self._index = dict(zip(self.videos, range(len(self.videos))))
        if len(self._index) != len(self.videos):
            raise ValueError('video ids must be unique')

    def __getitem__(self, video) -> tuple:
        i = self._index[video]
        a, b = int(self._starts[i]), int(self._starts[i + 1])
        return tuple(col[a:b] for col in self.columns)

    def __iter__(self) -> Iterator:
        return iter(self.videos)

    def __len__(self) -> int:
        return len(self.videos)

    def __contains__(self, video) -> bool:
        return video in self._index

    def __repr__(self) -> str:
        return (f'VideoColumns({len(self.videos)} videos, {int(self._starts[-1])} rows, '
                f'{len(self.columns)} columns)')

