"""Sliding windows over a grid: the one rule for where windows start (pure function)."""
from __future__ import annotations

from typing import List


def window_offsets(sample_count: int, clip_length: int, stride: int) -> List[int]:
    """Window start positions: ``[0]`` if the sequence fits, else ``0, S, 2S, … ≤ n-L`` plus
    ``n-L`` (the last window flush with the end).

    Units are those of the grid (AFSD: resampled frames; ``FeatureDataset``: feature
    positions). AFSD uses it for training (stride 30) and test (stride 128): a video of
    exactly ``L`` positions gives ``[0]`` either way.
    """
    if sample_count <= clip_length:
        return [0]
    offsets = list(range(0, sample_count - clip_length + 1, stride))
    if offsets[-1] != sample_count - clip_length:
        offsets.append(sample_count - clip_length)
    return offsets
