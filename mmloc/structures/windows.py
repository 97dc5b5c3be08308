"""Sliding-window arithmetic over a sequence: pure functions on integers.

One home for the window rule that data code (AFSD training windows) and model code (AFSD
test-time windowing) share.
"""
from __future__ import annotations

from typing import List


def window_offsets(sample_count: int, clip_length: int, stride: int) -> List[int]:
    """Window start frames: ``[0]`` if the video fits, else ``0, S, 2S, … ≤ n-L`` plus ``n-L``.

    The same rule serves training (stride 30) and test (stride 128): a video of exactly
    ``L`` frames gives ``[0]`` either way.
    """
    if sample_count <= clip_length:
        return [0]
    offsets = list(range(0, sample_count - clip_length + 1, stride))
    if offsets[-1] != sample_count - clip_length:
        offsets.append(sample_count - clip_length)
    return offsets
