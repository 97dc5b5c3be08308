"""Sliding-window proposals for SSN (when no TAG proposal list is given), with the TAG
statistics (best IoU, overlap) that the assigner reads. Units: frames."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from mmloc.registry import TASK_UTILS
from mmloc.structures.segment_ops import pairwise_temporal_iou

from .ssn_assigner import make_instances


def sliding_window_proposals(num_frames: int, gts: np.ndarray, gt_labels: np.ndarray,
                             window_frames: Sequence[int], stride_ratio: float = 0.25):
    """Multi-scale sliding-window proposals with their TAG-style statistics.

    Args:
        num_frames: video length in frames. gts: (G, 2) frames. gt_labels: (G,) 1-based.
        window_frames: window lengths in frames; the stride is ``stride_ratio * length``.

    Returns:
        (P, 5) float64 rows ``[label, best_iou, overlap_self, start, end]`` (frames),
        with the label of the best-IoU GT (0 when there is no GT).
    """
    segs = []
    for w in window_frames:
        w = int(w)
        if w <= 0 or w > num_frames:
            continue
        step = max(1, int(round(w * stride_ratio)))
        starts = np.arange(0, num_frames - w + 1, step)
        segs.append(np.stack([starts, starts + w], 1))
    if not segs:
        segs = [np.array([[0, num_frames]])]
    segs = np.unique(np.concatenate(segs).astype(np.float64), axis=0)
    gts = np.asarray(gts, np.float64).reshape(-1, 2)
    if len(gts):
        iou = pairwise_temporal_iou(segs, gts)
        inter = np.clip(np.minimum(segs[:, None, 1], gts[None, :, 1]) -
                        np.maximum(segs[:, None, 0], gts[None, :, 0]), 0, None)
        overlap = inter / (segs[:, 1:2] - segs[:, 0:1])
        labels = np.asarray(gt_labels)[iou.argmax(1)]
        return np.column_stack([labels, iou.max(1), overlap.max(1), segs])
    return np.column_stack([np.zeros(len(segs)), np.zeros(len(segs)), np.zeros(len(segs)),
                            segs])


@TASK_UTILS.register_module()
class SSNSlidingWindowProposals:
    """Proposals of a video without a proposal list: multi-scale sliding windows.

    Config: ``proposal_generator=dict(type='SSNSlidingWindowProposals', window_frames=(...),
    stride_ratio=0.25)`` in ``SSNFeatureDataset`` (its ``window_frames`` / ``window_stride``
    arguments build the same).

    Args:
        window_frames: window lengths in frames. stride_ratio: stride as a share of the length.
    """

    def __init__(self, window_frames: Sequence[int] = (16, 32, 64, 128, 256, 512),
                 stride_ratio: float = 0.25):
        self.window_frames = tuple(window_frames)
        self.stride_ratio = float(stride_ratio)

    def __call__(self, num_frames: int, gt_rows: np.ndarray) -> np.ndarray:
        """(P, 5) TAG rows ``[label, best_iou, overlap_self, start, end]`` of the windows,
        against the video's GTs (G, 3) ``[label, start, end]`` frames kept and clipped by the
        0.x instance rule."""
        gt_rows = np.asarray(gt_rows, np.float64).reshape(-1, 3)
        keep, gt_seg, _ = make_instances(gt_rows[:, 1:3], num_frames)
        return sliding_window_proposals(num_frames, gt_seg, gt_rows[keep, 0],
                                        self.window_frames, self.stride_ratio)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(window_frames={self.window_frames}, '
                f'stride_ratio={self.stride_ratio})')
