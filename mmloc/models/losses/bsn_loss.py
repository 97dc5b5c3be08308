"""BSN losses and TEM targets (spec §4.1, §4.4)."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from mmloc.structures.segment_ops import pairwise_temporal_iop

from .binary_logistic_regression_loss import binary_logistic_regression_loss


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


def tem_loss(pred: torch.Tensor, target: torch.Tensor, match_threshold: float = 0.5,
             action_weight: float = 2.0) -> dict:
    """TEM loss terms (spec §4.1): BLR on each channel over the flattened batch.

    Args:
        pred: (B, 3, T) probabilities ``[action, start, end]``.
        target: (B, 3, T) targets from :func:`tem_targets`.
        match_threshold: BLR positive threshold.
        action_weight: multiplier of the actionness term (MMAction2's ``loss_weight``).

    Returns:
        ``dict(loss_action, loss_start, loss_end)`` scalar tensors; the optimised loss
        is their sum.
    """
    if pred.shape != target.shape or pred.dim() != 3 or pred.shape[1] != 3:
        raise ValueError(f'tem_loss: pred and target must both be (B, 3, T), got '
                         f'{tuple(pred.shape)} and {tuple(target.shape)}')
    target = target.to(pred.device, pred.dtype)
    losses = [binary_logistic_regression_loss(pred[:, c], target[:, c], match_threshold)
              for c in range(3)]
    return dict(loss_action=losses[0] * action_weight, loss_start=losses[1],
                loss_end=losses[2])


def pem_sample_weights(ref_iou: torch.Tensor, high_threshold: float = 0.6,
                       low_threshold: float = 0.2, u_ratio_m: float = 1.,
                       u_ratio_l: float = 2., generator: Optional[torch.Generator] = None
                       ) -> torch.Tensor:
    """PEM positive/negative sampling weights (spec §4.4), MMAction2's RNG order.

    High (``r > high``) proposals all get weight 1; mid (``low < r <= high``) and low
    (``r <= low``) ones are drawn with probabilities ``min(u_ratio_m * n_high / n_mid, 1)``
    and ``min(u_ratio_l * n_high / n_low, 1)`` using two uniform draws (mid first).

    Args:
        ref_iou: (N,) reference IoU of each proposal with the GT.

    Returns:
        (N,) float weights in {0, 1}.
    """
    high = (ref_iou > high_threshold).float()
    mid = ((ref_iou <= high_threshold) & (ref_iou > low_threshold)).float()
    low = (ref_iou <= low_threshold).float()
    n_high = high.sum()
    # Division by zero gives inf (or nan for 0/0) as in MMAction2; the min() caps inf at 1
    # and nan makes the comparison below False, so nothing is drawn from an empty group.
    r_m = torch.clamp_max(u_ratio_m * n_high / mid.sum(), 1.0)
    draw_m = torch.rand(ref_iou.shape[0], device=ref_iou.device, generator=generator)
    r_l = torch.clamp_max(u_ratio_l * n_high / low.sum(), 1.0)
    draw_l = torch.rand(ref_iou.shape[0], device=ref_iou.device, generator=generator)
    sel_m = (draw_m * mid > 1. - r_m).float()
    sel_l = (draw_l * low > 1. - r_l).float()
    return high + sel_m + sel_l


def pem_loss(pred: torch.Tensor, ref_iou: torch.Tensor, high_threshold: float = 0.6,
             low_threshold: float = 0.2, u_ratio_m: float = 1., u_ratio_l: float = 2.,
             weighted: bool = False, generator: Optional[torch.Generator] = None
             ) -> torch.Tensor:
    """PEM IoU regression loss (spec §4.4).

    ``weighted=False`` (parity): MMAction2 multiplies the *mean* Smooth-L1 by the
    sampling weights and divides by their sum, so the weights cancel and the loss is the
    plain mean Smooth-L1 over all proposals. The uniform draws are still made so the RNG
    stream matches. (Where MMAction2 gives NaN, because no proposal has ``r > high``,
    this returns the plain mean: the NaN is a bug, not a value worth reproducing.)

    ``weighted=True``: the paper's intent, ``sum(w * smoothl1(p, r)) / sum(w)`` with the
    sampled weights ``w`` (plain mean if no proposal is selected).

    Args:
        pred: (N,) or (N, 1) predicted IoU. ref_iou: (N,) reference IoU (``match_iou``).

    Returns:
        Scalar tensor.
    """
    pred = pred.reshape(-1)
    ref_iou = ref_iou.reshape(-1).to(pred.device, pred.dtype)
    if pred.numel() != ref_iou.numel():
        raise ValueError(f'pem_loss: {pred.numel()} predictions but {ref_iou.numel()} '
                         'reference IoUs; expected the same number')
    weights = pem_sample_weights(ref_iou, high_threshold, low_threshold, u_ratio_m, u_ratio_l,
                                 generator)
    if not weighted:
        return F.smooth_l1_loss(pred, ref_iou)
    per_item = F.smooth_l1_loss(pred, ref_iou, reduction='none')
    total = weights.sum()
    if total <= 0:
        return per_item.mean()
    return (per_item * weights).sum() / total


def stack_tem_targets(gt_segments: Sequence, temporal_dim: int, boundary_ratio: float
                      ) -> torch.Tensor:
    """(B, 3, T) float32 targets of a batch of (G_b, 2) GT arrays/tensors."""
    out = [tem_targets(g.detach().cpu().numpy() if isinstance(g, torch.Tensor) else g,
                       temporal_dim, boundary_ratio) for g in gt_segments]
    return torch.from_numpy(np.stack(out).astype(np.float32))
