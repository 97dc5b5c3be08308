"""Training targets of the boundary family: BMN (spec §3.4-§3.5) and BSN TEM (spec §4.1).

Vectorised over GT segments and anchors/map cells. All times are normalised to [0, 1]
along the feature axis (T snippets).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

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


# ----------------------------------------------------------------------------- BSN TEM
def tem_anchors(temporal_dim: int) -> np.ndarray:
    """(T, 2) float64 snippet anchors ``[i / T, (i + 1) / T]`` (normalised)."""
    gap = 1. / temporal_dim
    idx = np.arange(temporal_dim)
    return np.stack([gap * idx, gap * (idx + 1)], axis=1)


def tem_targets(gt_segments: np.ndarray, temporal_dim: int, boundary_ratio: float) -> np.ndarray:
    """TEM targets of one video (spec §4.1 "Labels").

    ``action[i]`` is the best IoP of anchor i with a GT segment; ``start``/``end`` the
    best IoP with the GT start/end regions, each ``max(1/T, boundary_ratio * len)``
    wide and centred on the boundary.

    Args:
        gt_segments: (G, 2) normalised GT ``[start, end]``.
        temporal_dim: T.
        boundary_ratio: region width as a share of the GT length (0.1).

    Returns:
        (3, T) float64 rows ``[action, start, end]``; zeros when G = 0.
    """
    gt = np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2)
    anchors = tem_anchors(temporal_dim)
    if len(gt) == 0:
        return np.zeros((3, temporal_dim))
    pad = np.maximum(1. / temporal_dim, boundary_ratio * (gt[:, 1] - gt[:, 0]))
    starts = np.stack([gt[:, 0] - pad / 2, gt[:, 0] + pad / 2], axis=1)
    ends = np.stack([gt[:, 1] - pad / 2, gt[:, 1] + pad / 2], axis=1)
    return np.stack([pairwise_temporal_iop(anchors, regions).max(axis=1)
                     for regions in (gt, starts, ends)])


def stack_tem_targets(gt_segments: Sequence, temporal_dim: int, boundary_ratio: float
                      ) -> torch.Tensor:
    """(B, 3, T) float32 targets of a batch of (G_b, 2) GT arrays/tensors."""
    out = [tem_targets(g.detach().cpu().numpy() if isinstance(g, torch.Tensor) else g,
                       temporal_dim, boundary_ratio) for g in gt_segments]
    return torch.from_numpy(np.stack(out).astype(np.float32))
