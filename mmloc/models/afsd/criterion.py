"""The AFSD criterion: the training objective over a batch of windows (spec §3.3, §4.5-4.8).

Assigns targets (:mod:`.targets`) and combines the weighted terms of :mod:`.loss_terms`.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F

from .boundary_pooling import boundary_max_pooling
from .loss_terms import (boundary_activation_loss, boundary_contrastive_loss,
                         distance_giou_loss, softmax_focal_loss)
from .targets import (assign_coarse_targets, assign_refined_targets, decode_refined,
                      distance_iou)


def segment_frame_regions(segments: torch.Tensor) -> torch.Tensor:
    """Frame regions of explicit segments (spec §4.1 frame formula; §4.7 contrastive clip).

    Args:
        segments: (K, 2) ``[s, e]`` in frames.

    Returns:
        (K, 4) ``round([s-out, s+in, e-in, e+out])``, ``len = e-s+1``.
    """
    s, e = segments[:, 0], segments[:, 1]
    length = e - s + 1
    inner = (length / 4).clamp(min=1.0)
    outer = (length / 10).clamp(min=1.0)
    return torch.round(torch.stack([s - outer, s + inner, e - inner, e + outer], dim=-1))


def afsd_losses(out: Dict[str, torch.Tensor], gt_segments: Sequence[torch.Tensor],
                gt_labels: Sequence[torch.Tensor], start_labels: torch.Tensor,
                end_labels: torch.Tensor, clip_length: int, lw: float = 10.0, cw: float = 1.0,
                piou: float = 0.5, focal_alpha: float = 0.25, focal_gamma: float = 2.0,
                level0_boundary_weight: float = 0.1) -> Dict[str, torch.Tensor]:
    """Weighted loss terms of one batch (everything but the contrastive term).

    Args:
        out: ``AFSDNet.forward`` outputs.
        gt_segments: per clip (G, 2) normalised by ``L``. gt_labels: per clip (G,) 1-based.
        start_labels, end_labels: (B, L) 0/1.
        lw: weight of the coarse IoU loss and the refined L1 loss.
        cw: weight of both focal losses and the quality BCE.
        piou: coarse IoU a positive needs to be a refined positive.

    Returns:
        ``loss_loc, loss_cls, loss_prop_loc, loss_prop_cls, loss_quality, loss_start,
        loss_end``; the total loss is their sum. Sums over the whole batch are divided once
        by ``N`` (coarse positives) or ``PN`` (refined positives), both floored at 1.
    """
    loc, conf = out['loc'], out['conf']
    prop_loc, prop_conf, center = out['prop_loc'], out['prop_conf'], out['center']
    num_classes = conf.shape[-1]
    targets = [assign_coarse_targets(s.to(loc.device), l.to(loc.device), out['priors'],
                                     clip_length) for s, l in zip(gt_segments, gt_labels)]
    cls_t = torch.stack([t[0] for t in targets]).reshape(-1)
    loc_t = torch.stack([t[1] for t in targets]).reshape(-1, 2)
    loc, prop_loc = loc.reshape(-1, 2), prop_loc.reshape(-1, 2)
    pos = cls_t > 0
    n = pos.sum().clamp(min=1).to(loc.dtype)
    prop_cls_t, prop_loc_t, _ = assign_refined_targets(loc.detach(), cls_t, loc_t, piou)
    ppos = prop_cls_t > 0
    pn = ppos.sum().clamp(min=1).to(loc.dtype)

    loss_loc = distance_giou_loss(loc[pos], loc_t[pos]).sum() / n
    loss_cls = softmax_focal_loss(conf.reshape(-1, num_classes), cls_t, focal_alpha,
                                  focal_gamma).sum() / n
    loss_prop_loc = (prop_loc[ppos] - prop_loc_t[ppos]).abs().sum() / pn
    loss_prop_cls = softmax_focal_loss(prop_conf.reshape(-1, num_classes), prop_cls_t,
                                       focal_alpha, focal_gamma).sum() / pn
    # Quality target: IoU of the refined segment with its GT. AFSD leaves it attached to the
    # graph (its gradient then flows into loc/prop_loc); we detach it, as the spec asks.
    with torch.no_grad():
        q_t = distance_iou(decode_refined(loc[pos], prop_loc[pos]), loc_t[pos]).clamp(0, 1)
    loss_q = F.binary_cross_entropy_with_logits(center.reshape(-1)[pos], q_t,
                                                reduction='sum') / n

    def boundary(key: str, labels: torch.Tensor) -> torch.Tensor:
        down = labels[:, ::4]  # nearest x1/4: frames 0, 4, 8, ...
        return (boundary_activation_loss(out[key], labels) + level0_boundary_weight *
                (boundary_activation_loss(out[f'{key}_loc_prop'], down) +
                 boundary_activation_loss(out[f'{key}_conf_prop'], down)))

    return dict(loss_loc=lw * loss_loc, loss_prop_loc=lw * loss_prop_loc,
                loss_cls=cw * loss_cls, loss_prop_cls=cw * loss_prop_cls,
                loss_quality=cw * loss_q, loss_start=boundary('start', start_labels),
                loss_end=boundary('end', end_labels))


def contrastive_loss(maps: List[torch.Tensor], segments: torch.Tensor,
                     map_scales: Sequence[float] = (1.0, 4.0, 4.0),
                     weights: Sequence[float] = (1.0, 0.1, 0.1)) -> torch.Tensor:
    """Boundary contrastive loss of one augmented clip (spec §4.7).

    Args:
        maps: ``[G (1,W,L), E_loc (1,2W,t0), E_conf (1,2W,t0)]`` from
            ``AFSDNet.forward_boundary_maps``.
        segments: (3, 2) frames: action part 1, action part 2, inserted background.
        map_scales: frames per step of each map; regions are divided, **not** rounded (the
            pooling truncates).
    """
    fseg = segment_frame_regions(segments.to(maps[0].dtype))[None]  # (1, 3, 4)
    pooled = [boundary_max_pooling(m, fseg / scale) for m, scale in zip(maps, map_scales)]
    return boundary_contrastive_loss(pooled, weights)
