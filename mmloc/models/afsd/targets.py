"""Per-clip target assignment for AFSD's coarse and refined stages (spec §3.2, §4.5).

Units: GT segments and priors are normalised by the clip length ``L`` (``[0, 1]`` along the
clip); distances ``(l, r)`` are in **frames** of the clip.
"""
from __future__ import annotations

from typing import Tuple

import torch


def make_priors(level_lengths, device=None) -> torch.Tensor:
    """(K,) normalised centres ``(j+0.5)/t_i`` of every location, levels concatenated."""
    return torch.cat([(torch.arange(t, device=device, dtype=torch.float32) + 0.5) / t
                      for t in level_lengths])


@torch.no_grad()
def assign_coarse_targets(gt_segments: torch.Tensor, gt_labels: torch.Tensor,
                          priors: torch.Tensor, clip_length: int
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Give each location the shortest GT that contains it (boundaries inclusive).

    Args:
        gt_segments: (G, 2) normalised ``[s, e]``. gt_labels: (G,) int, 1-based (0 = bg).
        priors: (K,) normalised location centres. clip_length: ``L`` in frames.

    Returns:
        cls_t: (K,) long, the GT label or 0. loc_t: (K, 2) float ``((c-s)·L, (e-c)·L)`` of the
        assigned GT (meaningful only where ``cls_t > 0``; zeros when there is no GT).
    """
    k = priors.shape[0]
    if gt_segments.numel() == 0:
        return (torch.zeros(k, dtype=torch.long, device=priors.device),
                torch.zeros(k, 2, dtype=priors.dtype, device=priors.device))
    left = (priors[:, None] - gt_segments[None, :, 0]) * clip_length  # (K, G)
    right = (gt_segments[None, :, 1] - priors[:, None]) * clip_length
    area = left + right
    outside = (left < 0) | (right < 0)
    area = area.masked_fill(outside, 2.0 * clip_length)
    best_area, best = area.min(dim=1)  # ties -> lowest index
    cls_t = gt_labels.long()[best].masked_fill(best_area >= 2.0 * clip_length, 0)
    loc_t = torch.stack([left.gather(1, best[:, None])[:, 0],
                         right.gather(1, best[:, None])[:, 0]], dim=1)
    return cls_t, loc_t


def distance_iou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """IoU of two segments in distance form around the same centre.

    Args:
        pred, target: (..., 2) non-negative ``(l, r)``.

    Returns:
        (...,) ``(min l + min r) / ((l+r) + (l̂+r̂) - inter)`` (union floored at float eps).
    """
    inter = torch.minimum(pred[..., 0], target[..., 0]) + torch.minimum(pred[..., 1], target[..., 1])
    union = pred.sum(-1) + target.sum(-1) - inter
    return inter / union.clamp(min=torch.finfo(pred.dtype).eps)


@torch.no_grad()
def assign_refined_targets(loc_pred: torch.Tensor, cls_t: torch.Tensor, loc_t: torch.Tensor,
                           piou: float) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Refined-stage targets from the coarse predictions.

    Args:
        loc_pred: (K, 2) coarse ``(l, r)`` predictions in frames (used without grad).
        cls_t, loc_t: coarse targets from ``assign_coarse_targets``.
        piou: a coarse positive whose IoU with its GT is ``>= piou`` is a refined positive.

    Returns:
        prop_cls_t: (K,) long. prop_loc_t: (K, 2) ``(loc_t - pred) / (0.5·(l+r)_pred)``.
        iou: (K,) coarse IoU (0 on background).
    """
    iou = distance_iou(loc_pred, loc_t).masked_fill(cls_t <= 0, 0.0)
    prop_cls_t = cls_t.masked_fill(~((cls_t > 0) & (iou >= piou)), 0)
    half_width = 0.5 * loc_pred.sum(-1, keepdim=True)
    prop_loc_t = (loc_t - loc_pred) / half_width
    return prop_cls_t, prop_loc_t, iou


def decode_refined(loc: torch.Tensor, prop_loc: torch.Tensor) -> torch.Tensor:
    """Refined distances ``(l, r) + 0.5·(l+r)·prop_loc`` (shapes (..., 2))."""
    return loc + 0.5 * loc.sum(-1, keepdim=True) * prop_loc
