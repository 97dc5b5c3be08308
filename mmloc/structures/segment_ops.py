"""Pairwise temporal intersection / IoU / IoP of segment arrays (pure numpy, float64).

The one home of segment overlap arithmetic: evaluators, label generation, NMS and
:class:`~mmloc.structures.Segments` all call these functions.
"""
from __future__ import annotations

import numpy as np


def _as_segments(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 2:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f'{name}: expected segments of shape (N, 2), got {arr.shape}')
    return arr[:, :2]


def pairwise_intersection(a, b) -> np.ndarray:
    """Intersection length of every pair.

    Args:
        a: (N, 2) segments ``[start, end]`` in any one unit.
        b: (M, 2) segments in the same unit.

    Returns:
        (N, M) float64 intersection lengths (>= 0).
    """
    a = _as_segments(a, 'a')
    b = _as_segments(b, 'b')
    lo = np.maximum(a[:, None, 0], b[None, :, 0])
    hi = np.minimum(a[:, None, 1], b[None, :, 1])
    return np.clip(hi - lo, 0.0, None)


def pairwise_temporal_iou(a, b) -> np.ndarray:
    """IoU of every pair, ``inter / (len_a + len_b - inter)``, float64.

    Args:
        a: (N, 2) segments. b: (M, 2) segments, same unit.

    Returns:
        (N, M) float64. A pair whose union is 0 gets IoU 0.
    """
    a = _as_segments(a, 'a')
    b = _as_segments(b, 'b')
    inter = pairwise_intersection(a, b)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return iou


def pairwise_temporal_iop(a, b) -> np.ndarray:
    """Share of each ``a`` covered by each ``b``: ``inter / len_a`` (the spec's IoP / ioa).

    Args:
        a: (N, 2) segments (anchors or proposals). b: (M, 2) segments.

    Returns:
        (N, M) float64; 0 where ``len_a`` is 0.
    """
    a = _as_segments(a, 'a')
    b = _as_segments(b, 'b')
    inter = pairwise_intersection(a, b)
    len_a = (a[:, 1] - a[:, 0])[:, None]
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(len_a > 0, inter / np.where(len_a > 0, len_a, 1.0), 0.0)
