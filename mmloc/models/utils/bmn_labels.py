"""BMN training targets (spec §3.4-§3.5), vectorised over GT boxes and map cells.

All times are normalised to [0, 1] along the feature axis (T snippets).
"""
from __future__ import annotations

import numpy as np

from mmloc.structures.segment_ops import pairwise_temporal_iop, pairwise_temporal_iou


def bmn_match_map(temporal_dim: int) -> np.ndarray:
    """Proposal of every BM cell: (T*T, 2) float64, row ``d*T + s`` = ``[s/T, (s+d+1)/T]``.

    ``tmax`` exceeds 1 for the cells that ``bm_mask`` removes (``s + d >= T``).
    Computed as ``gap*s + gap*(d+1)`` with ``gap = 1/T``, as MMAction2 does.
    """
    gap = 1.0 / temporal_dim
    d, s = np.meshgrid(np.arange(temporal_dim), np.arange(temporal_dim), indexing='ij')
    tmin = gap * s
    tmax = tmin + gap * (d + 1)
    return np.stack([tmin.ravel(), tmax.ravel()], axis=1)


def bmn_boundary_anchors(temporal_dim: int) -> np.ndarray:
    """Boundary anchors (T, 2) float64: anchor ``i`` = ``[(i - 0.5)/T, (i + 1.5)/T]``."""
    gap = 1.0 / temporal_dim
    i = np.arange(temporal_dim, dtype=np.float64)
    return np.stack([gap * (i - 0.5), gap * (i + 1.5)], axis=1)


def bmn_labels(gt_segments: np.ndarray, temporal_dim: int) -> tuple:
    """BMN targets of one video.

    Args:
        gt_segments: (G, 2) normalised GT segments ``[start, end]``.
        temporal_dim: T.

    Returns:
        ``gt_iou_map`` (T(d), T(s)) float32: max IoU of cell ``[s/T, (s+d+1)/T]``
        with any GT (no bm_mask applied); ``label_start`` and ``label_end`` (T,)
        float32: max IoP of boundary anchor ``i`` in the regions
        ``[g - 1.5/T, g + 1.5/T]`` around the GT starts / ends. A video without
        GT gets all-zero targets.
    """
    T = temporal_dim
    gt = np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2)
    if gt.shape[0] == 0:
        zeros = np.zeros(T, dtype=np.float32)
        return np.zeros((T, T), dtype=np.float32), zeros, zeros.copy()
    iou = pairwise_temporal_iou(bmn_match_map(T), gt)                  # (T*T, G)
    gt_iou_map = iou.max(axis=1).reshape(T, T).astype(np.float32)
    half = 3 * (1.0 / T) / 2                # MMAction2: gt_len_pad / 2
    start_regions = np.stack([gt[:, 0] - half, gt[:, 0] + half], axis=1)
    end_regions = np.stack([gt[:, 1] - half, gt[:, 1] + half], axis=1)
    anchors = bmn_boundary_anchors(T)
    label_start = pairwise_temporal_iop(anchors, start_regions).max(axis=1)
    label_end = pairwise_temporal_iop(anchors, end_regions).max(axis=1)
    return gt_iou_map, label_start.astype(np.float32), label_end.astype(np.float32)
